"""The client's account calls, cancel and raw states end to end against the loopback simulator
(which reads the API pages on its own: it shares no code with the client)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from simhelpers import data_uri

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.errors import BadRequest, CreditInsufficient
from vidu_nb.simulator import Simulator


def request(**fields) -> Img2VideoRequest:
    base = {"image": data_uri(64, 48), "duration": 1, "resolution": "540p", "prompt": "a fox"}
    return Img2VideoRequest(**{**base, **fields})


@pytest.fixture
def sim():
    with Simulator(speed=100, seed=5, video_height=48, credits=1000) as server:
        yield server


@pytest.fixture
def client(sim):
    with ViduClient.for_simulator(sim) as c:
        yield c


def test_credits_follow_the_balance_and_the_load(sim, client):
    before = client.credits()
    assert before.total == 1000 == sim.balance()
    assert before.concurrency_limit == sim.concurrency
    assert (before.current_concurrency, before.queue_count) == (0, 0)
    task = client.submit(request())
    during = client.credits()
    assert during.total == 1000 - task.credits
    assert (during.current_concurrency or 0) + (during.queue_count or 0) == 1
    task.wait(timeout=30)
    after = client.credits(detail=True)
    assert after.total == 1000 - task.credits and after.by_type == {"metered": after.total}
    (package,) = after.packages
    assert package.credit_amount == 1000 and package.credit_remain == after.total
    assert package.valid_from is not None and package.valid_to is not None
    assert package.valid_to > package.valid_from
    assert sim.count("GET", "/ent/v2/credits") == 3


def test_credits_under_either_field_name():
    with (
        Simulator(speed=100, credits=250, credits_field="remaining_credits") as sim,
        ViduClient.for_simulator(sim) as client,
    ):
        assert client.credits().total == 250


def test_an_empty_balance_refuses_a_submit_and_says_so(sim, client):
    sim.set_balance(3)
    with pytest.raises(CreditInsufficient) as info:
        client.submit(request())
    assert info.value.trace_id
    assert client.credits().total == 3


def test_list_tasks_pages_through_every_task(sim, client):
    ids = {client.submit(request(seed=s)).id for s in range(5)}
    listed = list(client.list_tasks(page_size=2))
    assert {t.id for t in listed} == ids and len(listed) == 5
    assert sim.count("GET", "/ent/v2/tasks") - sim.count("GET", "/creations") == 3
    assert all(t.payload == "" and t.credits is None for t in listed)
    assert all(t.state == "" for t in listed)  # the documented list has no state
    assert {t.request["prompt"] for t in listed} == {"a fox"}


def test_list_tasks_filters(sim, client):
    first = client.submit(request()).wait(timeout=30)
    client.submit(request(resolution="720p"))
    only = list(client.list_tasks(task_ids=[first]))
    assert [t.id for t in only] == [first.id]
    assert [t.id for t in client.list_tasks(states="success")] == [first.id]
    assert len(list(client.list_tasks(resolutions=["540p", "720p"]))) == 2
    assert len(list(client.list_tasks(model_versions="q3-pro"))) == 2
    assert list(client.list_tasks(model_versions=["q1"])) == []


def test_list_tasks_time_window(sim, client):
    old = client.submit(request())
    new = client.submit(request(seed=2))
    sim.set_created_at(old.id, datetime.now(timezone.utc) - timedelta(days=10))
    assert [t.id for t in client.list_tasks()] == [new.id]  # the default window is 7 days
    since = datetime.now(timezone.utc) - timedelta(days=11)
    assert {t.id for t in client.list_tasks(since=since)} == {old.id, new.id}
    until = (datetime.now(timezone.utc) - timedelta(days=9)).replace(tzinfo=None)  # naive UTC
    assert [t.id for t in client.list_tasks(since=since, until=until)] == [old.id]


def test_listed_tasks_with_states_and_a_refresh():
    with (
        Simulator(speed=100, video_height=48, list_states=True) as sim,
        ViduClient.for_simulator(sim) as client,
    ):
        done = client.submit(request()).wait(timeout=30)
        (listed,) = client.list_tasks()
        assert listed.state == "success" and listed.done and listed.video_url
        assert listed.refresh().payload == done.payload


@pytest.mark.parametrize("answer", ["{}", "null", ""])
def test_cancel_against_every_documented_answer(answer):
    with (
        Simulator(speed=20, video_height=48, cancel_answer=answer) as sim,
        ViduClient.for_simulator(sim) as client,
    ):
        task = client.submit(request(off_peak=True))
        client.cancel(task)  # the simulator checks the body's id against the path
        final = client.get(task)
        assert final.state == "failed" and final.err_code == "UserCancelled"


def test_cancel_refused_for_a_normal_task(sim, client):
    task = client.submit(request())
    with pytest.raises(BadRequest, match="can not cancel") as info:
        client.cancel(task)
    assert info.value.trace_id


def test_raw_states_from_the_service_are_waited_through(sim, client):
    task = client.submit(request())
    sim.force_state(task.id, "scheduled", seconds=0.3)
    assert client.get(task).state == "scheduled"
    seen: list[str] = []
    final = client.wait(task, timeout=30, on_update=lambda t: seen.append(t.state))
    assert final.succeeded and seen[-1] == "success"


def test_a_cancelled_spelling_from_the_service_ends_wait(sim, client):
    task = client.submit(request())
    sim.force_state(task.id, "preparation")
    assert client.get(task).state == "preparation"
    sim.force_state(task.id, "canceled")
    final = client.wait(task, timeout=30)
    assert final.state == "canceled" and final.cancelled and final.done
