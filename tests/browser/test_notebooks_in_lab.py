"""The notebooks in a real JupyterLab and Chromium: the form generates a video that plays, and
the comparison grid's one control plays every video.

Screenshots go to ``test-artifacts/`` (kept by CI as artifacts; git ignores the folder).
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")

from .lab_page import open_notebook, run_all_cells, screenshot  # noqa: E402
from .widget_flows import (  # noqa: E402
    COMPARE_GRID,
    fill_form,
    play_grid,
    submit_and_play,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_quickstart_form_submits_and_the_video_plays(page, lab, artifacts):
    open_notebook(page, lab.url, "quickstart.ipynb")
    run_all_cells(page)
    # The project's Jupyter settings (as `vidu-nb lab` uses them) keep the news pop-up away.
    assert page.get_by_text("official Jupyter news").count() == 0
    form = page.locator(".vidu-form")
    fill_form(page, form)
    screenshot(page, artifacts, "quickstart-1-form-filled")
    submit_and_play(page, form)
    screenshot(page, artifacts, "quickstart-2-video-playing")


def test_comparison_grid_plays_every_video_from_one_control(page, lab, artifacts):
    open_notebook(page, lab.url, "compare_prompts_and_seeds.ipynb")
    run_all_cells(page)
    grid = page.locator(COMPARE_GRID).first
    play_grid(page, grid, players=6)
    screenshot(page, artifacts, "compare-grid-playing")
    # The rest of the loop is drawn too: the duel's standings once the cell below voted, the
    # grid in ranking order (the drifting clouds won the duels), the wipe and the re-run.
    # The example's log.rate (the cell below the grid) shows in the grid drawn before it.
    page.wait_for_function(
        "g => g.querySelectorAll('.vidu-star.vidu-star-on').length === 4 + 3 + 2",
        arg=grid.element_handle(),
    )
    duel = page.locator(".jp-OutputArea .vidu-duel-root")
    duel.locator(".vidu-duel-summary").get_by_text("clouds drift").first.wait_for()
    ranked = page.locator(COMPARE_GRID).nth(1)
    assert "clouds drift" in (ranked.locator(".vidu-grid-rowhead").first.text_content() or "")
    page.locator(".jp-OutputArea .vidu-wipe .vidu-wipe-stage").wait_for()
    assert page.locator(".jp-OutputArea .vidu-card").count() >= 1  # the promoted re-run
