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

from .lab_page import WAIT_KERNEL_IDLE, screenshot  # noqa: E402
from .widget_flows import fill_form, submit_and_play  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ALL_CELLS_RAN = """() => {
  const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}"""

ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  for (const cell of panel.content.widgets.filter(c => c.model.type === 'code')) {
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  return errors;
}"""


def open_in_notebook7(page: Page, base_url: str, name: str) -> None:
    """Open ``name`` in Notebook 7's notebook page and wait until its kernel is idle."""
    page.goto(f"{base_url}/notebooks/{name}")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    status = page.evaluate(WAIT_KERNEL_IDLE)
    assert status == "idle", f"kernel of {name} is {status}"


def run_all_from_menu(page: Page) -> None:
    """Run > Run All Cells in the menu bar; wait until every code cell has run, with no error."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_function(ALL_CELLS_RAN, timeout=120_000)
    errors = page.evaluate(ERRORS)
    assert not errors, f"cells raised: {errors}"


def test_notebook7_quickstart_form_submits_and_the_video_plays(page, notebook7, artifacts):
    open_in_notebook7(page, notebook7.url, "quickstart.ipynb")
    run_all_from_menu(page)
    form = page.locator(".vidu-form")
    fill_form(page, form)
    screenshot(page, artifacts, "notebook7-quickstart-1-form-filled")
    submit_and_play(page, form)
    screenshot(page, artifacts, "notebook7-quickstart-2-video-playing")
