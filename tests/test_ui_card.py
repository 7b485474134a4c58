"""Task cards: escaped HTML, progress through states, failure details, live updates, player."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.card import TaskCard, card_html
from vidu_nb.ui.player import VideoGrid
from vidu_nb.ui.rows import TaskView

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_card_html_escapes_prompt_and_server_message():
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    view = TaskView(
        {
            "task_id": "t<1>",
            "state": "failed",
            "prompt": HOSTILE,
            "err_code": "<b>AuditFailed</b>",
            "error": HOSTILE,
            "submitted_at": t0,
            "finished_at": t0 + timedelta(seconds=75),
        }
    )
    parts = card_html(view, now=t0.timestamp() + 999)
    joined = "".join(parts.values())
    assert "<script>" not in joined and "<img" not in joined and "<b>AuditFailed" not in joined
    assert "&lt;script&gt;" in parts["details"] and "&lt;b&gt;AuditFailed" in parts["error"]
    assert "1 min 15 s" in parts["header"]  # finished tasks stop their clock


def test_progress_moves_through_states():
    states = ("created", "queueing", "processing")
    steps = [TaskView({"task_id": "t1", "state": s}).progress()[0] for s in states]
    assert steps == [1, 2, 3]
    assert TaskView({"state": "success"}).progress() == (4, 4)
    html = card_html(TaskView({"task_id": "t1", "state": "queueing"}), now=0)["steps"]
    todo = "<span class='vidu-card-todo'>{}</span>"
    assert html == (
        f"<b>created</b> \u203a <b>queueing</b> \u203a {todo.format('processing')} \u203a "
        + todo.format("done")
    )
    done = card_html(TaskView({"state": "failed"}), now=0)["steps"]
    assert done.endswith("<b>processing</b> \u203a <b>failed</b>")


@pytest.mark.parametrize(
    "state, name", [("queued", "waiting to be sent"), ("submitting", "being sent"), ("x<y", "no")]
)
def test_local_and_unknown_states_render_without_a_task_id(state, name):
    parts = card_html(TaskView({"task_id": "", "state": state}), now=0)
    assert name in parts["header"] and "<y" not in parts["header"]
    assert "vidu-card-todo'>created" in parts["steps"]  # no step reached yet
    assert parts["error"] == ""
    card = TaskCard(TaskView({"task_id": "", "state": state}))
    assert f"vidu-card-state-{state.replace('<', '_')}" in card._dom_classes


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=60, video_height=96) as s:
        yield s


def test_card_follows_a_task_to_success_with_player(sim, tmp_path, png_bytes):
    client = ViduClient.for_simulator(sim)
    log = TaskLog(tmp_path / "log.sqlite")
    req = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", prompt=HOSTILE, duration=2)
    task = client.submit(req)
    log.record_submission(req, task)
    card = TaskCard(task.id, log=log, client=client)
    assert "vidu-card" in card._dom_classes
    seen = set()

    def on_update(t):
        log.update(t)
        card.update()
        seen.add(card._state_class)

    client.wait(task, timeout=60, on_update=on_update)
    card.update()
    assert "vidu-card-state-success" in card._dom_classes
    assert "vidu-card-state-created" not in card._dom_classes
    assert card._bar.value == card._bar.max and card._bar.bar_style == "success"
    assert "credits" in card._details.value and "seed " in card._details.value
    assert "<script>" not in card._details.value
    (player,) = card._player_box.children
    assert isinstance(player, VideoGrid) and player.items[0]["video_local"]  # loopback URL
    assert player.items[0]["label"] == ""  # the card's header already names the task
    assert len(seen) >= 1


def test_cancel_button_only_for_unfinished_off_peak(sim, tmp_path, png_bytes):
    client = ViduClient.for_simulator(sim)
    log = TaskLog(tmp_path / "log.sqlite")
    req = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2, off_peak=True)
    task = client.submit(req)
    log.record_submission(req, task)
    card = TaskCard(task.id, log=log, client=client)
    assert card._cancel.layout.display is None
    card._cancel.click()
    assert card._cancel.disabled and card._error.value == ""

    def done() -> bool:
        log.update(client.get(task.id))
        card.update()
        return card.view.done

    until(done)
    assert card.view.state == "failed" and card._cancel.layout.display == "none"
