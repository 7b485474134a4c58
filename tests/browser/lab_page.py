"""Drive JupyterLab in Playwright: open a notebook, wait for its kernel, run all cells.

Uses the application object JupyterLab exposes with ``--LabApp.expose_app_in_browser`` for
commands (the same commands the menus run), and the DOM for everything a user would see.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

WAIT_KERNEL_IDLE = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error('kernel not ready after 60 s')), 60000));
  await Promise.race([panel.sessionContext.ready, timeout]);
  const kernel = panel.sessionContext.session.kernel;
  for (let i = 0; i < 600 && kernel.status !== 'idle'; i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  return kernel.status;
}"""

RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await app.commands.execute('notebook:run-all-cells');
  return panel.content.widgets.filter(c => c.model.type === 'code').length;
}"""

CELL_ERRORS = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const errors = [];
  for (const cell of panel.content.widgets.filter(c => c.model.type === 'code')) {
    for (const out of cell.model.outputs.toJSON()) {
      if (out.output_type === 'error') errors.push(out.ename + ': ' + out.evalue);
    }
  }
  return errors;
}"""


#: The index of the notebook's active cell (what Up/Down and "x" in command mode act on).
ACTIVE_CELL = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"
#: Runs ``code`` in the notebook's kernel, as a cell would, and returns what it printed.
KERNEL_PRINT = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  let out = "";
  const future = kernel.requestExecute({code});
  future.onIOPub = (msg) => { if (msg.header.msg_type === "stream") out += msg.content.text; };
  await future.done;
  return out.trim();
}"""


def open_notebook(page: Page, base_url: str, name: str) -> None:
    """Open ``name`` in a clean workspace and wait until its kernel is idle."""
    open_document(page, f"{base_url}/lab/tree/{name}?reset", name)


def open_document(page: Page, url: str, name: str) -> None:
    """Go to ``url``, a page showing notebook ``name`` in any front end that exposes its
    application (JupyterLab, Notebook 7), and wait until the notebook's kernel is idle."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    status = page.evaluate(WAIT_KERNEL_IDLE)
    assert status == "idle", f"kernel of {name} is {status}"


def run_all_cells(page: Page) -> None:
    """Run every cell (as Run > Run All Cells does) and fail on any error output."""
    count = page.evaluate(RUN_ALL)
    assert_no_cell_errors(page)
    assert count > 0


def assert_no_cell_errors(page: Page) -> None:
    """Fail, naming them, if any code cell of the current notebook has an error output."""
    errors = page.evaluate(CELL_ERRORS)
    assert not errors, f"cells raised: {errors}"


def screenshot(page: Page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def video_times(page: Page, scope, *, samples: int = 2, gap_ms: int = 700) -> list[list[float]]:
    """``currentTime`` of every ``<video>`` under ``scope``, sampled ``samples`` times."""
    handle = scope.element_handle()
    out = []
    for i in range(samples):
        if i:
            page.wait_for_timeout(gap_ms)
        out.append(
            page.evaluate("s => [...s.querySelectorAll('video')].map(v => v.currentTime)", handle)
        )
    return out


#: Kernel > Restart Kernel... (the menu's command); it asks first, answered by the test.
RESTART = """() => {
  const app = window.jupyterapp;
  window.viduRestart = app.commands.execute('notebook:restart-kernel');
  return true;
}"""

#: A new code cell at the end of the notebook, run as Shift+Enter runs it; its outputs.
RUN_NEW_CELL = """async (code) => {
  const app = window.jupyterapp;
  const nb = app.shell.currentWidget.content;
  nb.activeCellIndex = nb.widgets.length - 1;
  await app.commands.execute('notebook:insert-cell-below');
  const cell = nb.activeCell;
  cell.model.sharedModel.setSource(code);
  await app.commands.execute('notebook:run-cell');
  for (let i = 0; i < 1200 && cell.model.executionCount === null; i++) {
    await new Promise(r => setTimeout(r, 100));
  }
  return cell.model.outputs.toJSON();
}"""


def restart_kernel(page: Page) -> None:
    """Restart the notebook's kernel as a user does (Kernel > Restart Kernel..., then Restart
    in the dialog) and wait until the new kernel is idle."""
    page.evaluate(RESTART)
    page.locator(".jp-Dialog .jp-mod-accept").click()
    assert page.evaluate("async () => await window.viduRestart") is not False
    status = page.evaluate(WAIT_KERNEL_IDLE)
    assert status == "idle", f"kernel is {status} after the restart"


def run_new_cell(page: Page, code: str) -> str:
    """Add a code cell at the end, run it, and return what it printed; fails on an error."""
    outputs = page.evaluate(RUN_NEW_CELL, code)
    errors = [f"{o['ename']}: {o['evalue']}" for o in outputs if o["output_type"] == "error"]
    assert not errors, errors
    text = [o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout"]
    return "".join("".join(t) if isinstance(t, list) else t for t in text)
