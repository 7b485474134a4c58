"""Running out of credits mid-sweep (the simulator's balance answers 400 CreditInsufficient):
nothing was created, so the request and the rest of the sweep stay queued, sending pauses and
says why, and it goes on by itself after the backoff or at once on ``resume_sending()``."""

from __future__ import annotations

import pytest
from conftest import make_image
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller, PollerEvent

IMAGE = make_image(160, 120)


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def cost() -> int:
    """What one ``req()`` costs on the simulator (it charges at submit)."""
    with Simulator(speed=100, video_height=64) as sim, ViduClient.for_simulator(sim) as client:
        before = sim.balance()
        client.submit(req())
        return before - sim.balance()


@pytest.fixture(scope="module")
def one_task() -> int:
    return cost()


def posts(sim) -> int:
    return sim.count("POST", "/img2video")


def test_the_sweep_stays_queued_and_resumes_when_told(log, one_task):
    events: list[PollerEvent] = []
    with (
        Simulator(speed=100, video_height=64, credits=one_task, seed=2) as sim,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, max_running=5, credit_backoff=3600) as poller,
    ):
        poller.subscribe(events.append)
        handles = poller.submit_many([req(i) for i in range(4)], experiment="sweep")
        assert until(lambda: poller.paused_reason is not None)
        assert until(lambda: log.get_by_ref(handles[1])["state"] == "queued")
        reason = poller.paused_reason
        assert "CreditInsufficient" in reason and "resume_sending()" in reason
        rows = [log.get_by_ref(h) for h in handles]
        assert [r["state"] for r in rows[1:]] == ["queued"] * 3  # not failed
        assert rows[1]["error"] == reason and rows[1]["task_id"] is None
        # The refused request is handed back to the queue by the worker right after the pause
        # is announced (its row is already 'queued'): wait for the count, then check it holds.
        assert until(lambda: poller.queued == 3)
        assert posts(sim) == 2  # one created, one refused, none after
        paused = [e for e in events if e.kind == "paused"]
        assert len(paused) == 1 and paused[0].handle == handles[1]
        assert paused[0].new_state == "queued" and paused[0].error == reason
        assert "CreditInsufficient" in (poller.stats.last_error or "")
        assert not poller.wait_all(0.5) and posts(sim) == 2  # paused: nothing is sent
        sim.set_balance(100 * one_task)
        poller.resume_sending()
        assert poller.wait_all(60)
        assert poller.paused_reason is None
    df = log.to_frame(experiment="sweep")
    assert list(df["client_ref"]) == handles and (df["state"] == "success").all()
    assert df["error"].isna().all()  # the reason went with the pause
    assert posts(sim) == 5  # the refused request was sent once more, nothing twice
    assert len({t.fields["payload"] for t in sim.engine.tasks()}) == 4
    assert list(log.events(df["task_id"].iloc[1])["state"])[:4] == [
        "queued", "submitting", "queued", "submitting",
    ]  # fmt: skip


def test_sending_resumes_by_itself_after_the_backoff(log, one_task):
    with (
        Simulator(speed=100, video_height=64, credits=0, seed=3) as sim,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, credit_backoff=0.2) as poller,
    ):
        handles = poller.submit_many([req(i) for i in range(2)])
        assert until(lambda: poller.paused_reason is not None)
        assert until(lambda: posts(sim) >= 2)  # tried again after the backoff, still refused
        assert all(log.get_by_ref(h)["state"] == "queued" for h in handles)
        sim.set_balance(10 * one_task)
        assert poller.wait_all(60)  # no resume_sending(): the backoff ran out
        assert poller.paused_reason is None
    assert all(log.get_by_ref(h)["state"] == "success" for h in handles)
    assert len(sim.engine.tasks()) == 2


def test_status_checks_go_on_while_sending_is_paused(log, one_task):
    with (
        Simulator(speed=100, video_height=64, credits=one_task, seed=4) as sim,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, credit_backoff=3600) as poller,
    ):
        first, second = poller.submit_many([req(1), req(2)])
        assert until(lambda: poller.paused_reason is not None)
        assert until(lambda: log.get_by_ref(first)["state"] == "success")  # followed to the end
        assert log.get_by_ref(second)["state"] == "queued"
        poller.stop()
        assert log.get_by_ref(second)["state"] == "queued"  # for resume to send later


def test_credit_backoff_is_checked():
    with pytest.raises(ValidationError, match="credit_backoff"):
        Poller(None, None, credit_backoff=0)  # type: ignore[arg-type]
