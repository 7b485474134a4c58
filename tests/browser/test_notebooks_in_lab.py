"""The notebooks in a real JupyterLab and Chromium: the form generates a video that plays, and
the comparison grid's one control plays every video.

Screenshots go to ``test-artifacts/`` (kept by CI as artifacts; git ignores the folder).
"""

from __future__ import annotations

from pathlib import Path

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

from .lab_page import open_notebook, run_all_cells, screenshot, video_times  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "sample.png"


def test_quickstart_form_submits_and_the_video_plays(page, lab, artifacts):
    open_notebook(page, lab.url, "quickstart.ipynb")
    run_all_cells(page)
    form = page.locator(".vidu-form")
    form.scroll_into_view_if_needed()
    # ipywidgets' FileUpload opens its file input from a click: answer the file chooser.
    with page.expect_file_chooser() as chooser:
        form.locator(".vidu-field-image").click()
    chooser.value.set_files(str(SAMPLE))
    form.get_by_text("sample.png: 640x360").wait_for()  # the kernel read the upload
    form.locator(".vidu-field-prompt textarea").fill("Gentle waves, the sun sets slowly")
    form.get_by_text("33 / 5,000").wait_for()  # the prompt reached the kernel (its counter)
    submit = form.locator("button.vidu-submit")
    expect(submit).to_be_enabled()
    screenshot(page, artifacts, "quickstart-1-form-filled")
    submit.click()
    card = form.locator(".vidu-card.vidu-card-state-success")
    card.wait_for(timeout=90_000)
    card.scroll_into_view_if_needed()
    card.locator("video.vidu-player-video").wait_for()
    card.locator(".vidu-grid-play").click()
    times = video_times(page, card, samples=2)
    assert len(times[0]) == 1 and times[1][0] > times[0][0], f"the video did not play: {times}"
    screenshot(page, artifacts, "quickstart-2-video-playing")


def test_comparison_grid_plays_every_video_from_one_control(page, lab, artifacts):
    open_notebook(page, lab.url, "compare_prompts_and_seeds.ipynb")
    run_all_cells(page)
    grid = page.locator(".vidu-grid").last
    players = grid.locator(".vidu-player")
    players.first.wait_for()
    assert players.count() == 6
    for i in range(players.count()):  # the grid loads videos lazily, as they come into view
        players.nth(i).scroll_into_view_if_needed()
    grid.scroll_into_view_if_needed()
    page.wait_for_function(
        "g => [...g.querySelectorAll('video')].every(v => v.readyState >= 2)",
        arg=grid.element_handle(),
        timeout=60_000,
    )
    grid.locator(".vidu-grid-play").click()
    times = video_times(page, grid, samples=2)
    assert len(times[0]) == 6
    moved = [after > before for before, after in zip(times[0], times[1], strict=True)]
    assert all(moved), f"not every video played: {times}"
    screenshot(page, artifacts, "compare-grid-playing")
