"""A notebook saved with its widget state and reopened in JupyterLab draws its players again,
from the saved state alone: the one saved ``PlayerCode`` model serves every grid.

The notebook is run and saved by nbclient (as ``test_ui_notebook`` measures it) and trusted as
one the user ran and saved (Lab shows widgets only from trusted outputs), then opened in Lab
with a fresh kernel that knows none of those widgets.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")

from saved_notebook import run_measuring, widget_state  # noqa: E402

from .lab_page import assert_no_cell_errors, open_notebook, screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELLS = [
    "from vidu_nb.ui import compare, show\n"
    "rows = [dict(task_id=f't{i}', state='success', seed=i, prompt='a fox in the snow',\n"
    "             credits=10) for i in range(4)]",
    "show(rows[0])",
    "compare(rows, cols=2)",
]
#: The shared model's CSS reached the page: a grid with no kernel behind it says it is a saved
#: copy (and hides its control bar, which could play nothing).
CSS_APPLIED = """g => getComputedStyle(g, '::before').content.includes('saved copy')
  && getComputedStyle(g.querySelector('.vidu-grid-bar')).display === 'none'"""


def test_players_draw_again_from_the_saved_widget_state(page, lab, artifacts):
    nb, _sizes = run_measuring(CELLS, lab.root)
    kinds = [m["state"].get("_anywidget_id") for m in widget_state(nb)["state"].values()]
    assert kinds.count("vidu_nb.ui.player.PlayerCode") == 1, kinds
    path = lab.root / "saved_players.ipynb"
    nbformat.write(nb, path)
    trust = [sys.executable, "-m", "nbformat.sign", str(path)]
    subprocess.run(trust, env=lab.env, check=True, capture_output=True)
    open_notebook(page, lab.url, "saved_players.ipynb")  # not run: a new kernel, no widgets
    grids = page.locator(".jp-OutputArea .vidu-grid")
    grids.nth(1).locator(".vidu-player").nth(3).wait_for()
    assert grids.count() == 2
    assert grids.nth(0).locator(".vidu-player").count() == 1
    assert grids.nth(0).locator(".vidu-player-label").inner_text() == "t0"
    labels = grids.nth(1).locator(".vidu-player-label").all_inner_texts()
    assert labels == ["seed=0", "seed=1", "seed=2", "seed=3"]
    for i in range(2):  # the shared model's CSS reached the page
        page.wait_for_function(CSS_APPLIED, arg=grids.nth(i).element_handle())
    assert_no_cell_errors(page)
    screenshot(page, artifacts, "saved-players-reopened")
