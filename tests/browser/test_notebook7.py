"""The quickstart in Jupyter Notebook 7 and Chromium, run from the menu as a user would: Run >
Run All Cells, then the form generates a video that plays.

Notebook 7 is built from JupyterLab's components but has its own shell (one document per tab,
its own menu bar and URLs), so opening and running a notebook differ; the widgets do not.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
pytest.importorskip("notebook")

from playwright.sync_api import Page  # noqa: E402

from .lab_page import assert_no_cell_errors, open_document, screenshot  # noqa: E402
from .widget_flows import fill_form, submit_and_play  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""


def run_all_from_menu(page: Page) -> None:
    """Run > Run All Cells in the menu bar; wait until every code cell has run, with no error."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(ALL_CELLS_RAN, timeout=120_000)
    assert_no_cell_errors(page)


SHORTCUT_BOUND = """command => window.jupyterapp.commands.keyBindings.some(
  b => b.command === command && b.keys.length > 0)"""


def test_notebook7_quickstart_form_submits_and_the_video_plays(page, notebook7, artifacts):
    open_document(page, f"{notebook7.url}/notebooks/quickstart.ipynb", "quickstart.ipynb")
    # The start-up race allowed in conftest (jupyter/notebook#7862) loses nothing: the
    # document manager's shortcut, whose settings load raced the shortcuts plugin, is bound.
    assert page.evaluate(SHORTCUT_BOUND, "docmanager:save")
    run_all_from_menu(page)
    form = page.locator(".vidu-form")
    fill_form(page, form)
    screenshot(page, artifacts, "notebook7-quickstart-1-form-filled")
    submit_and_play(page, form)
    screenshot(page, artifacts, "notebook7-quickstart-2-video-playing")
