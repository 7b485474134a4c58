"""What a user does with our widgets, the same in every front end (JupyterLab, Notebook 7,
Voila): fill the form and submit, watch the card succeed and its video play; play a grid.

Front ends differ in how a notebook is opened and run, not in the widgets' DOM.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .lab_page import video_times

SAMPLE = Path(__file__).resolve().parents[2] / "notebooks" / "sample.png"
PROMPT = "Gentle waves, the sun sets slowly"
#: The compare notebook's grid: prompts as row titles (its duel, wipe and cards have none).
COMPARE_GRID = ".vidu-grid:has(.vidu-grid-rowhead)"


def fill_form(page: Page, form: Locator) -> Locator:
    """Upload the sample image and type a prompt; returns the (enabled) Submit button."""
    form.scroll_into_view_if_needed()
    # ipywidgets' FileUpload opens its file input from a click: answer the file chooser.
    with page.expect_file_chooser() as chooser:
        form.locator(".vidu-field-image").click()
    chooser.value.set_files(str(SAMPLE))
    form.get_by_text("sample.png: 640x360").wait_for()  # the kernel read the upload
    form.locator(".vidu-field-prompt textarea").fill(PROMPT)
    form.get_by_text(f"{len(PROMPT)} / 5,000").wait_for()  # the prompt reached the kernel
    submit = form.locator("button.vidu-submit")
    expect(submit).to_be_enabled()
    return submit


def submit_and_play(page: Page, form: Locator) -> Locator:
    """Submit the filled form, wait for the card's success, play its video; returns the card."""
    form.locator("button.vidu-submit").click()
    card = form.locator(".vidu-card.vidu-card-state-success")
    card.wait_for(timeout=90_000)
    card.scroll_into_view_if_needed()
    card.locator("video.vidu-player-video").wait_for()
    card.locator(".vidu-grid-play").click()
    times = video_times(page, card, samples=2)
    assert len(times[0]) == 1 and times[1][0] > times[0][0], f"the video did not play: {times}"
    return card


def play_grid(page: Page, grid: Locator, players: int) -> list[list[float]]:
    """Bring every player of ``grid`` into view (videos load lazily), wait until each video has
    a frame, press the shared Play control and check every ``currentTime`` advances."""
    cells = grid.locator(".vidu-player")
    cells.first.wait_for()
    assert cells.count() == players
    for i in range(players):
        cells.nth(i).scroll_into_view_if_needed()
    grid.scroll_into_view_if_needed()
    page.wait_for_function(
        "g => [...g.querySelectorAll('video')].every(v => v.readyState >= 2)",
        arg=grid.element_handle(),
        timeout=60_000,
    )
    grid.locator(".vidu-grid-play").click()
    times = video_times(page, grid, samples=2)
    assert len(times[0]) == players
    moved = [after > before for before, after in zip(times[0], times[1], strict=True)]
    assert all(moved), f"not every video played: {times}"
    return times
