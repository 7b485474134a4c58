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
