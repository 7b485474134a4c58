"""The whole judging loop in a real JupyterLab, on the simulator: a 2 x 2 sweep's grid judged
by keys and clicks (stars, pick, reject, a note), a blind duel voted with the arrow keys, a
wipe whose divider is dragged; then the kernel is restarted (Kernel > Restart Kernel...) and a
new cell reads back from the task log what the clicks decided. Nothing of it lived only in
the page or in the old kernel's memory."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import FloatRect, Locator, Page

nbformat = pytest.importorskip("nbformat")

from .lab_page import (  # noqa: E402
    KERNEL_PRINT,
    assert_no_cell_errors,
    open_notebook,
    restart_kernel,
    run_all_cells,
    run_new_cell,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXPERIMENT = "loop-in-lab"
CELLS = [
    "from vidu_nb import Img2VideoRequest, Workspace, duel\n"
    "from vidu_nb.request.sweep import sweep\n"
    "from vidu_nb.ui import run_sweep\n"
    "ws = Workspace.from_env()\n"
    "log = ws.log\n"
    "base = Img2VideoRequest(image='sample.png', model='viduq2-turbo', duration=1)\n"
    "plan = sweep(base, prompts=['a red fox runs', 'a grey fox runs'], seeds=[1, 2])\n"
    f"run = run_sweep(plan, workspace=ws, grid=False, experiment={EXPERIMENT!r})\n"
    "run.wait(120)\n"
    "assert ws.poller.wait_all(120)\n"
    "df = log.to_frame(experiment=run.experiment)",
    "grid = run.compare(rows='prompt', cols='seed')\ngrid",
    "blind = duel(df, by='prompt', log=log, seed=2)\nblind",
    "close_up = grid.wipe(0, 1)\nclose_up",
]
#: After the restart: what the log holds, as JSON. The duel's pairs are drawn again from the
#: log with the duel's seed, to name the two the arrow keys voted on.
READ_BACK = f"""
import json
import pandas as pd
from vidu_nb import Workspace
from vidu_nb.tracking.duels import duel_pairs

log = Workspace.from_env().log
df = log.to_frame(experiment={EXPERIMENT!r})
plain = lambda v: None if pd.isna(v) else v.item() if hasattr(v, "item") else v
judged = [[plain(r[k]) for k in ("prompt", "seed", "rating", "pick", "note")] for _, r in df.iterrows()]
votes = log.votes()
ours = votes[votes["left_task_id"].isin(df["task_id"])]
cast = [[plain(v) for v in vote] for vote in
        zip(ours["left_row_id"], ours["right_row_id"], ours["winner_row_id"])]
pairs = [list(map(int, p)) for p in duel_pairs(df, "prompt", seed=2)]
ranks = log.rankings(by=["prompt"])
ranks = ranks[ranks["prompt"].isin(df["prompt"])]
print(json.dumps({{
    "fresh": "grid" not in globals(),
    "judged": judged, "votes": cast, "pairs": pairs,
    "rankings": [[p, int(w), int(l)] for p, w, l in zip(ranks["prompt"], ranks["wins"], ranks["losses"])],
}}))
"""
STARS_ON = "c => c.querySelectorAll('.vidu-star.vidu-star-on').length"
CELL_KINDS = "() => jupyterapp.shell.currentWidget.content.widgets.map(c => c.model.type)"


def test_judge_duel_and_wipe_by_hand_then_restart_and_read_them_back(page, lab, artifacts):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, lab.root / "loop.ipynb")
    open_notebook(page, lab.url, "loop.ipynb")
    run_all_cells(page)
    kinds = page.evaluate(CELL_KINDS)

    # Rate: "4" and "p" over the first cell, a note typed there, the third star of the second
    # clicked, "x" over the last. The grid is the one with prompts as row titles.
    grid = page.locator(".vidu-grid").filter(has=page.locator(".vidu-grid-rowhead")).first
    cells = grid.locator(".vidu-player.vidu-judged")
    cells.nth(3).locator(".vidu-star").first.wait_for(timeout=60_000)
    assert cells.count() == 4
    first, second, last = cells.nth(0), cells.nth(1), cells.nth(3)
    first.scroll_into_view_if_needed()
    first.hover()
    page.keyboard.press("4")
    first.locator(".vidu-star.vidu-star-on").nth(3).wait_for()
    page.keyboard.press("p")
    first.locator(".vidu-judge-pick.vidu-judge-on").wait_for()
    note = first.locator(".vidu-judge-note")
    note.fill("the red fox runs best")
    note.press("Enter")
    second.locator(".vidu-star").nth(2).click()
    second.locator(".vidu-star.vidu-star-on").nth(2).wait_for()
    assert second.evaluate(STARS_ON) == 3 and first.evaluate(STARS_ON) == 4
    last.hover()
    page.keyboard.press("x")
    last.locator(".vidu-judge-reject.vidu-judge-on").wait_for()
    page.wait_for_function(
        "c => c.querySelector('.vidu-player-label').textContent.includes('picked')",
        arg=first.element_handle(),
    )
    # The notebook's own shortcuts saw none of it: "4" makes a heading, "x" cuts a cell.
    assert page.evaluate(CELL_KINDS) == kinds
    screenshot(page, artifacts, "loop-1-judged")

    # Duel: the arrow keys vote (left on the first pair, right on the second).
    root = page.locator(".jp-OutputArea .vidu-duel-root")
    root.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.vidu-duel video')].filter(v => v.readyState >= 2)"
        ".length === 2",
        timeout=60_000,
    )
    progress = root.locator(".vidu-duel-progress")
    assert progress.inner_text() == "1 of 4"
    root.locator(".vidu-duel-head").click()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("e => e.textContent === '2 of 4'", arg=progress.element_handle())
    page.keyboard.press("ArrowRight")
    page.wait_for_function("e => e.textContent === '3 of 4'", arg=progress.element_handle())
    screenshot(page, artifacts, "loop-2-duel")

    # Wipe: the divider dragged from the middle to a quarter of the width.
    wipe = page.locator(".jp-OutputArea .vidu-wipe")
    wipe.scroll_into_view_if_needed()
    page.wait_for_function(
        "w => [...w.querySelectorAll('video')].every(v => v.readyState >= 2)",
        arg=wipe.element_handle(),
        timeout=60_000,
    )
    stage = wipe.locator(".vidu-wipe-stage")
    box = steady_box(page, stage)
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * 0.25, y, steps=4)
    page.mouse.up()
    # The page drew the drop, then the kernel has it (the widget's message may still be on
    # its way when a new execute request overtakes it on a loaded machine).
    page.wait_for_function(
        "d => Math.abs(Number(d.getAttribute('aria-valuenow')) - 25) <= 2",
        arg=wipe.locator(".vidu-wipe-divider").element_handle(),
        timeout=10_000,
    )
    split = kernel_value(page, "close_up.split", lambda v: abs(float(v) - 0.25) <= 0.02)
    assert float(split) == pytest.approx(0.25, abs=0.02)
    assert wipe.locator(".vidu-wipe-a").evaluate("v => v.style.clipPath").startswith("inset(0px 7")
    screenshot(page, artifacts, "loop-3-wipe")
    assert_no_cell_errors(page)

    # Restart the kernel; a new cell reads what the clicks decided from the task log.
    restart_kernel(page)
    back = json.loads(run_new_cell(page, READ_BACK))
    assert back["fresh"], "the kernel was not restarted"
    assert back["judged"] == [
        ["a red fox runs", 1, 4, True, "the red fox runs best"],
        ["a red fox runs", 2, 3, None, None],
        ["a grey fox runs", 1, None, None, None],
        ["a grey fox runs", 2, None, False, None],
    ]
    (a, b), (c, d) = back["pairs"][:2]
    assert back["votes"] == [[a, b, a], [c, d, d]]  # left won the first, right the second
    assert sorted(w + losses for _p, w, losses in back["rankings"]) == [2, 2]
    screenshot(page, artifacts, "loop-4-read-back")


def steady_box(page: Page, locator: Locator) -> FloatRect:
    """``locator``'s box once it stopped moving (outputs above it still load and reflow),
    checked to be what a press at its middle would hit."""
    last = None
    for _ in range(50):
        box = locator.bounding_box()
        assert box is not None
        if box == last:
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            hit = page.evaluate(
                "([x, y, sel]) => !!document.elementFromPoint(x, y)?.closest(sel)",
                [x, y, ".vidu-wipe-stage"],
            )
            if hit:
                return box
            locator.scroll_into_view_if_needed()
        last = box
        page.wait_for_timeout(100)
    raise AssertionError(f"the box of {locator} never settled where a press reaches it")


def kernel_value(page: Page, expression: str, ok: Callable[[str], bool]) -> str:
    """``expression`` printed by the kernel, asked again until ``ok`` (at most 10 s)."""
    for _ in range(50):
        value = str(page.evaluate(KERNEL_PRINT, f"print({expression})"))
        if ok(value):
            return value
        page.wait_for_timeout(200)
    return value
