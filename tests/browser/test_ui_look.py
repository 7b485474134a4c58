"""How the UI looks in a real Chromium: the grid's layout and controls, the upload button.

These render the grid's front-end code (the shared ``PlayerCode`` and a grid's loader, exactly
what a notebook receives) into a blank page with a stand-in for the widget model, so they need no Jupyter
server; they share the session's Chromium (a second Playwright in one thread cannot start).
"""

from __future__ import annotations

import pytest

from vidu_nb.ui.style import CSS

from .grid_page import boxes, clip, items, render

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def clip_url(tmp_path_factory):
    return clip(tmp_path_factory.mktemp("clip"))


@pytest.mark.slow
def test_one_player_is_capped_and_keeps_the_video_aspect_ratio(page, clip_url):
    grid = render(page, items(1, clip_url), 1)
    page.wait_for_function(f"document.querySelector('#{grid} video').readyState >= 1")
    ((_x, _y, width, height),) = boxes(page, grid, ".vidu-player-frame")
    assert 300 < width <= 640, width  # not stretched across the 1400 px page
    assert width / height == pytest.approx(320 / 180, rel=0.03)  # the clip's, not a fixed one
    bar = boxes(page, grid, ".vidu-grid-bar")[0]
    assert bar[2] <= 660, bar  # the control bar spans the grid, not the page
    assert page.inner_text(f"#{grid} .vidu-grid-play").strip() == "Play"  # not "all" of one


@pytest.mark.slow
def test_grid_keeps_rows_by_cols_and_its_controls_read_in_words(page, clip_url):
    grid = render(page, items(6, clip_url), 3)
    cells = boxes(page, grid, ".vidu-player")
    assert len({x for x, *_ in cells}) == 3 and len({y for _x, y, *_ in cells}) == 2
    assert all(w <= 650 for *_xy, w, _h in cells)
    play, mute = page.locator(f"#{grid} .vidu-grid-play"), page.locator(f"#{grid} .vidu-grid-mute")
    assert (play.inner_text().strip(), mute.inner_text().strip()) == ("Play all", "Unmute")
    assert play.locator(".vidu-icon-play").bounding_box()["width"] > 5  # the CSS triangle
    play.click()
    mute.click()
    assert page.evaluate(f"[window.{grid}.get('playing'), window.{grid}.get('muted')]") == [
        True,
        False,
    ]
    assert (play.inner_text().strip(), mute.inner_text().strip()) == ("Pause all", "Mute")
    assert play.locator(".vidu-icon-pause").bounding_box()["width"] > 5
    bar_text = page.inner_text(f"#{grid} .vidu-grid-bar")
    assert bar_text.isascii(), bar_text


@pytest.mark.slow
def test_upload_button_reads_choose_image_not_a_count(page):
    """The form's stylesheet hides ipywidgets' "<description> (<count>)" text on our button."""
    page.set_content(
        f"<style>{CSS}</style><div class='vidu-form'>"
        "<button class='vidu-upload widget-upload' style='font-size:13px'>"
        "<i class='fa fa-upload'></i>Choose image (0)</button></div>"
    )
    button = page.locator("button.vidu-upload")
    shown = page.evaluate(
        "b => getComputedStyle(b, '::after').content + '|' + getComputedStyle(b).fontSize",
        button.element_handle(),
    )
    assert shown == '"Choose image\u2026"|0px'
    assert button.bounding_box()["width"] > 60  # the ::after text gives the button its size
