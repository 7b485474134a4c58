"""A/B picking in the grid, in a real Chromium: a cell's A/B toggle (a click) and the ``w`` key
(the cell under the pointer) pick two cells, and the grid opens the wipe of the two above its
cells, drawn by the shared wipe code on the videos the grid already loaded: the divider drags,
the difference of two different clips is lit, B keeps within a frame of A while playing, and
Escape or Close shuts it. Rendered like ``test_ui_review`` (``grid_page``), with the grid's
``wipe_code`` reference answered by the shared ``WipeCode`` module; no kernel answers anything.
In JupyterLab, the real widget reference, while the kernel is busy, and ``grid.wiped``.
"""

from __future__ import annotations

import nbformat
import pytest
from waiting import until

from vidu_nb.simulator.video import encode

from .grid_page import WIPE, clip, items, png, render
from .lab_page import KERNEL_PRINT, open_notebook, run_all_cells, screenshot
from .wipe_page import LAGS, PIXELS, TWO_FRAMES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FPS = 24
HOSTILE = '<img src=x onerror="window.pwned=1">A & <b>'
PANEL = ".vidu-grid-wipe"
GRID_READY = "g => [...document.querySelectorAll(`#${g} .vidu-player-video`)]" + (
    ".every(v => v.readyState >= 2)"
)
PAIR_READY = """g => {
  const vs = [...document.querySelectorAll(`#${g} .vidu-grid-wipe video`)];
  return vs.length === 2 && vs.every(v => v.readyState >= 2 && !v.seeking);
}"""
CLIP = "g => document.querySelector(`#${g} .vidu-wipe-a`).style.clipPath"
PRESSED = """g => [...document.querySelectorAll(`#${g} .vidu-player-ab`)]
  .map(b => [b.getAttribute("aria-pressed"), b.textContent])"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two looks of one length and rate: orange and blue, 4 s at 24 fps."""
    folder = tmp_path_factory.mktemp("pick-clips")
    return [clip(folder, 4.0, fps=FPS), clip(folder, 4.0, fps=FPS, color=(20, 40, 220))]


def grid(page, clips, wait=True, **extra) -> str:
    """A 2x2 grid: orange, orange / blue, blue; cell 0's label is hostile markup."""
    urls = [clips[0], clips[0], clips[1], clips[1]]
    labels = [HOSTILE, "seed=1", "seed=2", "seed=3"]
    g = render(page, items(4, urls, labels, fps=[FPS] * 4), 2, wiped=[], **extra)
    if wait:  # a grid below the fold loads its videos only when scrolled to
        page.wait_for_function(GRID_READY, arg=g)
    return g


def cell(page, g, i):
    return page.locator(f"#{g} .vidu-player").nth(i)


def test_two_cells_picked_by_click_and_key_open_their_wipe(page, clips, artifacts):
    g = grid(page, clips, wipe_code=WIPE)
    assert page.evaluate(PRESSED, g) == [["false", "A/B"]] * 4
    legend = page.locator(f"#{g} .vidu-grid-legend kbd", has_text="w")
    assert legend.count() == 1 and not legend.locator("..").evaluate("r => r.hidden")

    cell(page, g, 0).hover()
    cell(page, g, 0).locator(".vidu-player-ab").click()  # A: by its toggle
    assert page.evaluate(PRESSED, g)[0] == ["true", "A"]
    assert page.locator(f"#{g} {PANEL}").count() == 0  # one pick: nothing to compare yet
    cell(page, g, 3).hover()
    page.keyboard.press("w")  # B: the cell under the pointer
    assert page.evaluate(PRESSED, g) == [["true", "A"], ["false", "A/B"]] * 1 + [
        ["false", "A/B"],
        ["true", "B"],
    ]
    panel = page.locator(f"#{g} {PANEL}")
    panel.wait_for()
    assert page.evaluate(f"window.{g}.get('wiped')") == [0, 3]  # told to the kernel
    page.wait_for_function(PAIR_READY, arg=g)
    # The cells' own videos (no kernel asked), their labels as text, above the cells.
    srcs = page.eval_on_selector_all(f"#{g} {PANEL} video", "vs => vs.map(v => v.src)")
    cell_srcs = page.eval_on_selector_all(f"#{g} .vidu-player-video", "vs => vs.map(v => v.src)")
    assert srcs == [cell_srcs[0], cell_srcs[3]]
    names = page.locator(f"#{g} {PANEL} .vidu-wipe-label")
    assert [names.nth(0).text_content(), names.nth(1).text_content()] == [HOSTILE, "seed=3"]
    assert page.locator(f"#{g} {PANEL} .vidu-wipe-names img").count() == 0
    assert not page.evaluate("() => window.pwned")
    box = panel.bounding_box()
    assert box["y"] + box["height"] <= cell(page, g, 0).bounding_box()["y"] + 1

    # The divider drags: A's clip-path follows the pointer.
    assert page.evaluate(CLIP, g) == "inset(0px 50% 0px 0px)"
    stage = page.locator(f"#{g} .vidu-wipe-stage").bounding_box()
    y = stage["y"] + stage["height"] / 2
    page.mouse.move(stage["x"] + stage["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.4, y, steps=4)
    page.mouse.move(stage["x"] + stage["width"] * 0.25, y, steps=4)
    page.mouse.up()
    assert page.evaluate(CLIP, g) == "inset(0px 75% 0px 0px)"
    page.locator(f"#{g}").screenshot(path=str(artifacts / "grid-pick-wipe.png"))

    # Orange against blue: the difference is lit.
    page.click(f"#{g} .vidu-wipe-mode >> text=Difference")
    page.wait_for_function(PAIR_READY, arg=g)
    page.evaluate(TWO_FRAMES)
    lit = page.evaluate(PIXELS, g)
    assert lit["size"][0] > 0 and max(lit["mean"]) > 60, lit

    # One clock: B keeps within a frame of A while the panel plays.
    page.click(f"#{g} .vidu-wipe-mode >> text=Wipe")
    page.click(f"#{g} .vidu-wipe-play")
    page.wait_for_function(
        "g => document.querySelector(`#${g} .vidu-wipe-a`).currentTime > 0.5", arg=g
    )
    lags = page.evaluate(LAGS, [f"#{g} .vidu-grid-wipe video", 2500])
    back = next(i for i, d in enumerate(lags) if abs(d) < 1 / FPS)
    after = lags[back:]
    assert len(after) > 30 and max(map(abs, after)) <= 1 / FPS, (back, after)
    paused = page.eval_on_selector_all(f"#{g} {PANEL} video", "vs => vs.map(v => v.paused)")
    assert paused == [False, False]

    # Escape (focus in the panel) closes it and clears the picks.
    page.locator(f"#{g} .vidu-wipe-divider").focus()
    page.keyboard.press("ArrowRight")  # the divider's own key, not the grid's seek
    assert page.evaluate(CLIP, g) == "inset(0px 73% 0px 0px)"
    page.evaluate(
        "() => (window.panelVideos = [...document.querySelectorAll('.vidu-grid-wipe video')])"
    )
    page.keyboard.press("Escape")
    assert page.locator(f"#{g} {PANEL}").count() == 0
    assert page.evaluate("() => window.panelVideos.map(v => v.paused)") == [True, True]  # silent
    assert page.evaluate(PRESSED, g) == [["false", "A/B"]] * 4
    assert page.evaluate(f"window.{g}.get('wiped')") == []


def test_close_control_a_third_pick_and_no_pairs_without_the_wipe_code(page, clips):
    g = grid(page, clips, wipe_code=WIPE)
    for i in (1, 2):
        cell(page, g, i).hover()
        cell(page, g, i).locator(".vidu-player-ab").click()
    page.locator(f"#{g} {PANEL}").wait_for()
    assert page.evaluate(f"window.{g}.get('wiped')") == [1, 2]
    cell(page, g, 0).hover()
    cell(page, g, 0).locator(".vidu-player-ab").click()  # a third pick replaces the oldest
    page.wait_for_function(f"() => window.{g}.get('wiped').join() === '2,0'")
    assert page.locator(f"#{g} {PANEL}").count() == 1
    labels = page.locator(f"#{g} {PANEL} .vidu-wipe-label").all_text_contents()
    assert labels == ["seed=2", HOSTILE]
    page.click(f"#{g} .vidu-grid-wipe-close")
    assert page.locator(f"#{g} {PANEL}").count() == 0
    assert page.evaluate(f"window.{g}.get('wiped')") == []
    # Escape with nothing open is not the grid's: it goes on to the page.
    page.locator(f"#{g} .vidu-grid-root").focus()
    page.evaluate("() => addEventListener('keydown', (e) => window.keys.push(e.key))")
    page.evaluate("() => (window.keys = [])")
    page.keyboard.press("Escape")
    assert page.evaluate("() => window.keys") == ["Escape"]  # not stopped by the grid

    # A grid without the reference (one cell, a saved state from before): no toggle, no key.
    plain = grid(page, clips, wait=False)
    assert page.locator(f"#{plain} .vidu-player-ab").count() == 0
    cell(page, plain, 0).hover()
    page.locator(f"#{plain} .vidu-grid-root").focus()
    page.keyboard.press("w")
    assert page.locator(f"#{plain} {PANEL}").count() == 0
    legend = page.locator(f"#{plain} .vidu-grid-legend kbd", has_text="w")
    assert legend.locator("..").evaluate("r => r.hidden")

    # A cell without a video (empty, failed) has nothing to compare: no toggle.
    cells = items(3, [clips[0], "", clips[1]], fps=[FPS] * 3)
    cells[1]["state"] = "empty"
    holes = render(page, cells, 3, wiped=[], wipe_code=WIPE)
    page.locator(f"#{holes}").scroll_into_view_if_needed()
    assert page.eval_on_selector_all(
        f"#{holes} .vidu-player", "cs => cs.map(c => !!c.querySelector('.vidu-player-ab'))"
    ) == [True, False, True]


KERNEL = "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
#: Keep the kernel executing a minute-long sleep; ``window.slept`` turns true when it ends.
SLEEP = f"""() => {{
  window.slept = false;
  const future = ({KERNEL})().requestExecute({{code: "import time; time.sleep(60)"}});
  future.done.then(() => (window.slept = true), () => (window.slept = true));
}}"""
LAB_READY = "g => [...g.querySelectorAll('video')].every(v => v.readyState >= 2 && v.src.startsWith('blob:'))"


def test_in_jupyterlab_two_cells_open_their_wipe_while_the_kernel_is_busy(page, lab, artifacts):
    videos = [
        encode(png(color=c), 2.0, 96, 12, lab.root / f"pick-{i}").video
        for i, c in enumerate([(200, 120, 40), (40, 120, 200)])
    ]
    rows = [
        dict(task_id=f"t{i}", state="success", seed=i, video_path=str(v))
        for i, v in enumerate(videos)
    ]
    code = f"from vidu_nb.ui import compare\ng = compare({rows!r})\ng"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(code)],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(nb, lab.root / "pick_wipe.ipynb")
    open_notebook(page, lab.url, "pick_wipe.ipynb")
    run_all_cells(page)
    grid = page.locator(".jp-OutputArea .vidu-grid")
    page.wait_for_function(LAB_READY, arg=grid.element_handle(), timeout=60_000)

    # The kernel busy for a while: picking and drawing the pair needs nothing of it.
    page.evaluate(SLEEP)
    page.wait_for_function(f"() => ({KERNEL})().status === 'busy'")
    cells = grid.locator(".vidu-player")
    cells.nth(0).hover()
    cells.nth(0).locator(".vidu-player-ab").click()
    cells.nth(1).hover()
    page.keyboard.press("w")
    panel = grid.locator(".vidu-grid-wipe")
    panel.wait_for()
    page.wait_for_function(LAB_READY, arg=panel.element_handle())
    assert page.evaluate("() => window.slept") is False  # its sleep is still running
    srcs = grid.locator(".vidu-player-video").evaluate_all("vs => vs.map(v => v.src)")
    assert panel.locator("video").evaluate_all("vs => vs.map(v => v.src)") == srcs
    assert panel.locator(".vidu-wipe-label").all_text_contents() == ["seed=0", "seed=1"]
    screenshot(page, artifacts, "grid-pick-wipe-lab")
    page.evaluate(f"() => ({KERNEL})().interrupt()")  # the sleep ends; the kernel reads on

    seen = []  # the kernel hears which pair is open once it is free again
    assert until(lambda: seen.append(page.evaluate(KERNEL_PRINT, "print(g.wiped)"))
                 or seen[-1] == "[0, 1]", 30), seen  # fmt: skip
    panel.locator(".vidu-wipe-divider").focus()
    active = page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex")
    page.keyboard.press("Escape")  # the panel's, not Lab's (no command mode change)
    assert panel.count() == 0
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex") == active
    assert until(lambda: page.evaluate(KERNEL_PRINT, "print(g.wiped)") == "[]", 20)
