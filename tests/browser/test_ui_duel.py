"""A blind duel in a real Chromium: keys vote, undo withdraws, the task log records it, the page
never shows what the videos were made with, and the end reveals it. The duel's front end runs
in a blank page wired to a real ``Duel`` widget over a task log of simulator videos."""

from __future__ import annotations

import pytest
from simhelpers import running_stack
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.ui.duel import duel

from .duel_page import Bridge

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROMPTS = ["a red fox runs", "calm sea at dawn", "<b>bold</b> birds"]
LOADED = "id => [...document.querySelectorAll(`#${id} video`)].filter(v => v.readyState >= 2)"


@pytest.fixture
def duel_log(tmp_path):
    """Three prompts on one start image: three pairs."""
    with running_stack(tmp_path, speed=60, video_height=96) as (_sim, _client, log, poller):
        from conftest import make_image

        base = Img2VideoRequest(image=make_image(), model="viduq2-turbo", duration=1)
        for prompt in PROMPTS:
            poller.submit(base.replace(prompt=prompt, seed=7))
        assert poller.wait_all(120)
        assert until(lambda: log.df["video_path"].notna().all(), 60)
        yield log


def loaded(page, bridge: Bridge) -> int:
    """Pump until both videos of the pair on screen play from the kernel's bytes."""

    def both() -> bool:
        bridge.pump()
        return len(page.evaluate(LOADED, bridge.id)) == 2

    assert until(both, 20), "the videos never loaded"
    srcs = page.eval_on_selector_all(f"#{bridge.id} video", "vs => vs.map(v => v.src)")
    assert all(s.startswith("blob:") for s in srcs), srcs
    return 2


def press(page, bridge: Bridge, key: str) -> None:
    page.keyboard.press(key)
    sent = [kind for kind in bridge.pump() if kind != "fetch"]  # fetch: the players' videos
    assert len(sent) == 1, f"{key} sent {sent}"


def test_keys_vote_undo_and_the_end_reveals(page, frontend, duel_log, artifacts):
    log = duel_log
    widget = duel(log.df, by="prompt", log=log, seed=2)
    pairs = widget.pairs
    bridge = Bridge(page, widget)
    root = f"#{bridge.id} .vidu-duel-root"
    loaded(page, bridge)
    markup = page.inner_html(f"#{bridge.id}")
    for secret in [*PROMPTS, "bold", "seed", "viduq2", *log.df["task_id"]]:
        assert secret not in markup, secret  # nothing of the pair in the DOM
    assert page.inner_text(f"#{bridge.id} .vidu-duel-progress") == "1 of 3"
    page.hover(f"#{bridge.id} .vidu-duel-left")
    assert "Left arrow" in page.get_attribute(f"#{bridge.id} .vidu-duel-left", "title")
    assert "Down arrow" in page.get_attribute(f"#{bridge.id} .vidu-duel-tie", "title")
    page.locator(f"#{bridge.id} .vidu-duel-root").screenshot(path=str(artifacts / "duel.png"))

    page.click(f"#{bridge.id} .vidu-grid-play")  # one control plays both
    bridge.pump()
    assert page.wait_for_function(
        "id => [...document.querySelectorAll(`#${id} video`)].every(v => !v.paused)",
        arg=bridge.id,
    )

    page.focus(root)
    press(page, bridge, "ArrowLeft")
    assert len(log.votes()) == 1 and log.votes()["winner_row_id"].iloc[0] == pairs[0].left
    assert page.inner_text(f"#{bridge.id} .vidu-duel-progress") == "2 of 3"
    loaded(page, bridge)  # the next pair's videos
    press(page, bridge, "t")
    assert log.votes()["tie"].iloc[-1]
    press(page, bridge, "u")  # undo: the tie is gone from the log, pair 2 again
    assert len(log.votes()) == 1 and page.inner_text(f"#{bridge.id} .vidu-duel-progress") == (
        "2 of 3"
    )
    press(page, bridge, "ArrowDown")
    press(page, bridge, "ArrowRight")
    votes = log.votes()
    assert list(votes["left_row_id"]) == [p.left for p in pairs]
    assert votes["tie"].tolist() == [False, True, False]
    assert votes["winner_row_id"].iloc[2] == pairs[2].right

    summary = page.inner_text(f"#{bridge.id} .vidu-duel-summary")
    assert "Which was which" in summary and "a red fox runs" in summary
    assert "<b>bold</b> birds" in summary  # shown as text, not markup
    assert page.locator(f"#{bridge.id} .vidu-duel-summary b:text-is('bold')").count() == 0
    assert not page.locator(f"#{bridge.id} .vidu-duel-left").is_visible()
    assert len(log.rankings(by=["prompt"])) == 3
    page.locator(root).screenshot(path=str(artifacts / "duel-results.png"))


def test_keys_on_the_seek_slider_seek_and_do_not_vote(page, frontend, duel_log):
    widget = duel(duel_log.df, by="prompt", log=duel_log, seed=2)
    bridge = Bridge(page, widget)
    loaded(page, bridge)
    page.focus(f"#{bridge.id} .vidu-grid-seek")
    page.keyboard.press("ArrowRight")
    assert "vote" not in bridge.pump() and len(duel_log.votes()) == 0
    page.wait_for_function(f"id => ({TIMES})(id).every(t => t > 0.5)", arg=bridge.id)  # sought


TIMES = "id => [...document.querySelectorAll(`#${id} video`)].map(v => v.currentTime)"


def test_with_the_focus_in_the_players_the_duels_keys_win(page, frontend, duel_log):
    """The players' own keys (arrows seek, s solos) share one dispatcher with the duel's: the
    duel's come first wherever the focus is in it, also on a control of the players."""
    widget = duel(duel_log.df, by="prompt", log=duel_log, seed=2)
    pairs = widget.pairs
    bridge = Bridge(page, widget)
    loaded(page, bridge)
    page.click(f"#{bridge.id} .vidu-grid-next")  # a frame step: the focus is on its button
    press(page, bridge, "ArrowLeft")
    assert log_winners(duel_log) == [pairs[0].left]
    loaded(page, bridge)
    page.click(f"#{bridge.id} video >> nth=1")  # the focus is in the players
    press(page, bridge, "s")  # skip, not solo
    assert page.inner_text(f"#{bridge.id} .vidu-duel-progress") == "3 of 3"
    loaded(page, bridge)
    page.click(f"#{bridge.id} .vidu-grid-play")
    bridge.pump()
    press(page, bridge, "ArrowRight")
    assert log_winners(duel_log) == [pairs[0].left, pairs[2].right]


def log_winners(log) -> list[int]:
    return [int(w) for w in log.votes()["winner_row_id"]]


def test_a_duel_shows_nothing_that_names_a_video_and_steps_frames_at_their_rate(
    page, frontend, duel_log
):
    """No label, meta line, rating or per-cell Solo/Mute in a duel, even when its state says
    some (the players' render is told so); the keys' legend lists only the players' keys the
    duel leaves them; a frame step goes at the videos' own rate (12 fps, from the kernel)."""
    widget = duel(duel_log.df, by="prompt", log=duel_log, seed=2)
    bridge = Bridge(page, widget)
    loaded(page, bridge)
    hostile = [{**item, "label": "a red fox runs", "meta": ["seed 7"]} for item in widget.items]
    judged = {item["key"]: {"stars": 5, "pick": True, "note": "best", "text": "5/5 picked"}
              for item in widget.items}  # fmt: skip
    page.evaluate(
        "([id, items, judgments]) => { const m = window[id];"
        " m.set('judgments', judgments); m.set('row_titles', ['a red fox runs']);"
        " m.set('items', items); }",
        [bridge.id, hostile, judged],
    )
    loaded(page, bridge)
    for hidden in (".vidu-player-label", ".vidu-player-meta", ".vidu-judge", ".vidu-player-tools",
                   ".vidu-grid-head", ".vidu-player-ab", ".vidu-grid-wipe"):  # fmt: skip
        assert page.locator(f"#{bridge.id} {hidden}").count() == 0, hidden
    text = page.inner_text(f"#{bridge.id} .vidu-duel-stage")
    assert "fox" not in text and "seed" not in text and "5/5" not in text
    page.hover(f"#{bridge.id} .vidu-grid-keys")
    legend = page.inner_text(f"#{bridge.id} .vidu-grid-legend")
    assert "one frame back / forward" in legend and "play / pause" in legend
    for taken in ("seek", "solo", "stars", "pick", "A/B"):
        assert taken not in legend, legend
    page.focus(f"#{bridge.id} .vidu-duel-root")
    page.keyboard.press(".")
    page.keyboard.press(".")
    page.wait_for_function(
        f"id => ({TIMES})(id).every(t => Math.abs(t - (2 / 12 + 1e-4)) < 1e-5)", arg=bridge.id
    )
    assert [kind for kind in bridge.pump() if kind != "fetch"] == []  # no vote, no skip


LAB_CELLS = [
    "from vidu_nb import Img2VideoRequest, Workspace, duel\n"
    "ws = Workspace.from_env()\n"
    "base = Img2VideoRequest(image='sample.png', model='viduq2-turbo', duration=1, seed=7)\n"
    "for prompt in ['a red fox runs', 'calm sea at dawn', 'birds at dusk']:\n"
    "    ws.poller.submit(base.replace(prompt=prompt), experiment='duel-keys')\n"
    "assert ws.poller.wait_all(120)\n"
    "df = ws.log.df\n"
    "df = df[df['experiment'] == 'duel-keys']",
    "duel(df, by='prompt', log=ws.log, seed=2)",
    "'a cell below the duel: where Down would move in command mode'",
]
ACTIVE_CELL = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def test_in_jupyterlab_the_arrows_vote_and_leave_the_notebook_alone(page, lab, artifacts):
    """In JupyterLab the arrow keys also move between cells; in a duel they vote instead, and
    the votes are in the log file another process reads."""
    nbformat = pytest.importorskip("nbformat")

    from vidu_nb.tracking.tasklog import TaskLog

    from .lab_page import assert_no_cell_errors, open_notebook, run_all_cells, screenshot

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in LAB_CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / "duel_keys.ipynb")
    open_notebook(page, lab.url, "duel_keys.ipynb")
    run_all_cells(page)
    duel_el = page.locator(".jp-OutputArea .vidu-duel-root")
    duel_el.wait_for(timeout=120_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.vidu-duel video')].filter(v => v.readyState >= 2)"
        ".length === 2",
        timeout=60_000,
    )
    progress = duel_el.locator(".vidu-duel-progress")
    assert progress.inner_text() == "1 of 3"
    duel_el.locator(".vidu-duel-head").click()  # the duel takes the keyboard
    cell = page.evaluate(ACTIVE_CELL)
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("e => e.textContent === '2 of 3'", arg=progress.element_handle())
    page.keyboard.press("ArrowDown")  # in command mode: the next cell; here: a tie
    page.wait_for_function("e => e.textContent === '3 of 3'", arg=progress.element_handle())
    assert cell == 1 and page.evaluate(ACTIVE_CELL) == cell  # the notebook did not move
    screenshot(page, artifacts, "duel-in-lab")
    assert_no_cell_errors(page)
    with TaskLog(lab.root / "vidu_tasks.sqlite") as log:  # other notebooks vote in it too
        ours = log.to_frame(experiment="duel-keys")["task_id"]
        votes = log.votes()
    votes = votes[votes["left_task_id"].isin(ours)]
    assert len(votes) == 2 and votes["tie"].tolist() == [False, True]
