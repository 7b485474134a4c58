"""Judging in a real Chromium: a star clicked, then "4" and "p" pressed over a cell, reach a
real ``VideoGrid`` (its message handler, as the comm calls it) and a real task log; the cell's
stars, buttons and label are redrawn in place from what the kernel set. Promote on a picked
cell of a sweep's grid shows the estimate, then submits to the simulator."""

from __future__ import annotations

import pytest

from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.request.sweep import sweep
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import run_sweep
from vidu_nb.ui.compare import compare

from .grid_page import png, render

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ON = "c => c.querySelectorAll('.vidu-star.vidu-star-on').length"


@pytest.fixture
def judged_grid(frontend, tmp_path, png_bytes):
    with TaskLog(tmp_path / "tasks.sqlite") as log:
        request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        for i, prompt in enumerate(["a red fox runs", "a grey fox runs"]):
            log.record_submission(request.replace(prompt=prompt, seed=1), Task(id=f"t{i}"))
            log.update(Task(id=f"t{i}", state="success", seed=1))
        yield log, compare(log.df, rows="prompt", log=log)


def test_a_click_and_keys_on_a_cell_judge_its_task(page, judged_grid):
    log, grid = judged_grid

    def to_kernel(_grid_id: str, msg: dict) -> dict:
        grid.comm.from_browser(msg)  # what the comm does with a custom message
        return {"judgments": grid.judgments}

    page.expose_function("toKernel", to_kernel)
    # A notebook's shortcuts listen on the document, in the capture phase in Notebook 7
    # (JupyterLab: bubbling), registered before any output: keys that judge never reach them.
    page.evaluate(
        "() => { window.shortcuts = [];"
        " for (const capture of [true, false]) document.addEventListener('keydown',"
        " e => window.shortcuts.push(e.key), capture); }"
    )
    gid = render(
        page,
        grid.items,
        grid.cols,
        row_titles=grid.row_titles,
        judgments=grid.judgments,
        title_parts=grid.title_parts,
    )
    first = page.locator(f"#{gid} .vidu-player").nth(0)
    page.evaluate(
        "g => { const v = document.querySelector(`#${g} video`); v.dataset.mark = 'same'; }", gid
    )
    first.locator(".vidu-star").nth(2).click()  # the third star
    first.locator(".vidu-star.vidu-star-on").nth(2).wait_for()
    assert log.judgment("t0").rating == 3 and first.evaluate(ON) == 3
    page.hover(f"#{gid} .vidu-player >> nth=1")  # keys act on the cell under the mouse
    page.keyboard.press("4")
    page.keyboard.press("p")
    second = page.locator(f"#{gid} .vidu-player").nth(1)
    second.locator(".vidu-judge-pick.vidu-judge-on").wait_for()
    with TaskLog(log.path) as again:
        assert again.judgment("t1")[2:] == (4, True, None)
        assert again.judgment("t0").rating == 3
    assert second.evaluate(ON) == 4
    assert second.locator(".vidu-player-label").inner_text().endswith("4/5 picked")
    # In place: the first cell's video element is the one drawn at first (no rebuild).
    assert page.evaluate("g => document.querySelector(`#${g} video`).dataset.mark", gid) == "same"
    page.keyboard.press("x")  # reject replaces the pick
    second.locator(".vidu-judge-reject.vidu-judge-on").wait_for()
    assert log.judgment("t1").pick is False
    first.locator(".vidu-player-label").click()  # focused; then the mouse leaves the grid
    page.mouse.move(0, 0)
    page.keyboard.press("5")
    first.locator(".vidu-star.vidu-star-on").nth(4).wait_for()
    assert log.judgment("t0").rating == 5 and log.judgment("t1").rating == 4
    assert page.evaluate("() => window.shortcuts") == []
    page.locator(f"#{gid} .vidu-judge-note").nth(0).press("x")  # typing a note: no judging
    assert log.judgment("t0").pick is None
    heads = page.locator(f"#{gid} .vidu-grid-rowhead .vidu-diff").all_inner_texts()
    assert [h.strip() for h in heads] == ["red", "grey"]


def test_promote_on_a_picked_cell_shows_the_estimate_then_submits(page, frontend, live):
    _sim, _client, log, poller = live
    draft = Img2VideoRequest(
        image=png(), model="viduq2-turbo", duration=2, resolution="540p", prompt="a cat"
    )
    run = run_sweep(sweep(draft, seeds=[1, 2]), poller=poller, grid=False)
    run.wait(30)
    grid = run.compare()
    seen = len(grid.comm.sent)

    def to_kernel(_grid_id: str, msg: dict) -> dict:
        nonlocal seen
        grid.comm.from_browser(msg)
        sent = [content for content, _buffers in grid.comm.sent[seen:]]
        seen = len(grid.comm.sent)
        traits = ("judgments", "choices", "promoted")
        return {**{k: getattr(grid, k) for k in traits}, "messages": sent}

    page.expose_function("toKernel", to_kernel)
    state = {k: getattr(grid, k) for k in ("judgments", "choices", "title_parts")}
    gid = render(page, grid.items, grid.cols, row_titles=grid.row_titles, **state)
    cell = page.locator(f"#{gid} .vidu-player").nth(1)
    assert cell.locator(".vidu-promote-open").is_hidden()  # not picked yet
    cell.locator(".vidu-judge-pick").click()
    cell.locator(".vidu-promote-open").click()  # the first change offered: 720p
    submit = cell.locator(".vidu-promote-submit")
    submit.wait_for()
    assert "would cost about" in cell.locator(".vidu-promote-text").inner_text()
    assert len(log) == 2  # only estimated
    assert submit.inner_text().startswith("Submit (") and "credits)" in submit.inner_text()
    cell.locator(".vidu-promote-change").select_option("1080p")  # estimated again
    page.wait_for_function(
        "c => c.querySelector('.vidu-promote-text').textContent.includes('1080p')",
        arg=cell.element_handle(),
    )
    submit.click()
    cell.locator(".vidu-promote-line").wait_for()
    assert submit.is_hidden() and "re-run (viduq2-turbo 1080p 2 s)" in cell.inner_text()
    (promotion,) = run.promotions
    row = log.get_by_ref(promotion.handle)
    assert row["parent_row_id"] == log.get(run.task_ids[1])["row_id"]
    assert row["resolution"] == "1080p"
