"""The notebooks as Voila apps in Chromium: the comparison grid's one control plays every
video, and the quickstart's form renders, submits and plays its video.

Voila runs the whole notebook in a fresh kernel for each page and shows only the outputs, with
its own widget manager: the same widgets must work there with no notebook around them.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("voila")

from .widget_flows import (  # noqa: E402
    COMPARE_GRID,
    fill_form,
    play_grid,
    submit_and_play,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_voila_comparison_grid_plays_every_video_from_one_control(page, voila, artifacts):
    page.goto(voila.render_url("compare_prompts_and_seeds.ipynb"), timeout=120_000)
    grid = page.locator(COMPARE_GRID).first
    grid.wait_for(timeout=120_000)
    play_grid(page, grid, players=6)
    grid.screenshot(path=str(artifacts / "voila-compare-grid-playing.png"))


def test_voila_quickstart_form_submits_and_the_video_plays(page, voila, artifacts, request):
    page.goto(voila.render_url("quickstart.ipynb"), timeout=120_000)
    form = page.locator(".vidu-form")
    form.wait_for(timeout=120_000)
    submit = fill_form(page, form)
    assert submit.is_visible()
    card = submit_and_play(page, form)
    card.screenshot(path=str(artifacts / "voila-quickstart-video-playing.png"))
    # Notebook 7's JupyterLab extension is not loaded (it failed: #RUNTIME-012, a shared
    # module Voila does not provide), and the cells' outputs, all of them, arrived.
    errors = [m for m in request.node.console_messages if m.startswith("error:")]
    assert not [m for m in errors if "RUNTIME-012" in m or "lab-extension" in m], errors
    page.get_by_text("Using the local simulator at").wait_for()
