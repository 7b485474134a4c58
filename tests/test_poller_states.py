"""Undocumented states end to end: the simulator reports a raw ``scheduled`` then ``canceled``
(``force_state``); the poller keeps following the first, stops at the second, and the log and
the command line show both as the service sent them."""

from __future__ import annotations

import pytest
from conftest import make_image
from waiting import until, wait_for

from vidu_nb.cli import EXIT, main
from vidu_nb.client import ViduClient
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller, PollerEvent

IMAGE = make_image(160, 120)
KEY = "sk-states-test"


@pytest.fixture
def sim():
    # Slow, so a state is forced long before the task could finish by itself.
    with Simulator(api_key=KEY, speed=2, video_height=64, seed=5) as s:
        yield s


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def test_scheduled_is_followed_and_canceled_ends_it_refunded(sim, log):
    events: list[PollerEvent] = []
    fast = PollSchedule.for_speed(200)  # checks every few ms: states are seen quickly
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, schedule=fast) as poller,
    ):
        poller.subscribe(events.append)
        handle = poller.submit(req(1))
        task_id = wait_for(lambda: poller.task_id(handle))
        sim.force_state(task_id, "scheduled")
        assert until(lambda: (log.get(task_id) or {}).get("state") == "scheduled")
        polls = poller.stats.polls
        assert until(lambda: poller.stats.polls >= polls + 3)  # still followed
        assert poller.running == 1 and log.pending() == [task_id]
        sim.force_state(task_id, "canceled")
        assert poller.wait_all(30)
        assert poller.running == 0
        polls = poller.stats.polls
    row = log.get(task_id)
    assert row["state"] == "canceled" and row["finished_at"] is not None
    assert row["credits"] == 0 and row["video_path"] is None  # refunded, nothing to fetch
    assert sim.task_state(task_id).credits == 0
    seen = [e.new_state for e in events if e.task_id == task_id and e.kind == "state"]
    assert "scheduled" in seen and seen[-1] == "canceled"
    assert [e for e in events if e.kind == "error"] == []
    assert "scheduled" in list(log.events(task_id)["state"])
    assert sim.count("GET", "/files/") == 0


def test_status_and_log_show_a_raw_state(sim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
    monkeypatch.setenv("VIDU_API_KEY", KEY)
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    monkeypatch.delenv("VIDU_AUTH_SCHEME", raising=False)
    frame = tmp_path / "f.png"
    frame.write_bytes(IMAGE)
    assert main(["submit", str(frame), "-p", "x", "-d", "1"]) == EXIT["ok"]
    task_id = capsys.readouterr().out.strip()
    sim.force_state(task_id, "preparation")
    assert main(["status", task_id]) == EXIT["ok"]
    out = capsys.readouterr().out
    assert "state:      preparation" in out
    assert main(["log", "--state", "preparation", "--columns", "task_id,state"]) == EXIT["ok"]
    out = capsys.readouterr().out
    assert task_id in out and "preparation" in out
    sim.force_state(task_id, "canceled")
    assert main(["status", task_id, "--json"]) == EXIT["ok"]
    assert '"state": "canceled"' in capsys.readouterr().out
    assert main(["log", "--columns", "task_id,state,credits"]) == EXIT["ok"]
    line = [x for x in capsys.readouterr().out.splitlines() if task_id in x][0]
    assert line.split()[1:] == ["canceled", "0"]
