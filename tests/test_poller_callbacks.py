"""The poller fed by signed callbacks, end to end: the loopback simulator POSTs them to a real
``CallbackReceiver``, the poller confirms each final state with one GET, and falls back to
polling when callbacks stop (a receiver stopped mid-run, a dead tunnel). Requests are counted
on the simulator's side (``sim.count``), never timed."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import make_image
from simhelpers import CallbackReceiver as RecordingReceiver
from waiting import until, wait_for

from vidu_nb.client import ViduClient
from vidu_nb.client.receiver import CallbackReceiver
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.simulator.signing import callback_headers
from vidu_nb.tracking.poller import Poller, PollerEvent
from vidu_nb.tracking.tasklog import TaskLog

IMAGE = make_image(160, 120)
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def req(i: int, **kw) -> Img2VideoRequest:
    """One prompt and seed for all (the simulator encodes one video per duration)."""
    kw.setdefault("duration", 1 + i % 2)
    return Img2VideoRequest(image=IMAGE, prompt="callbacks", seed=5, **kw)


@contextmanager
def stack(tmp_path: Path, tasks: int = 8) -> Iterator[tuple[Simulator, ViduClient, TaskLog]]:
    with (
        Simulator(speed=20, concurrency=tasks, video_height=48, fps=4, seed=3) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "log.sqlite") as log,
    ):
        yield sim, client, log


def gets(sim: Simulator, task_id: str) -> int:
    return sim.count("GET", f"/tasks/{task_id}/creations")


def post(url: str, body: dict, key: str) -> int:
    headers = {**callback_headers(key, url), "Content-Type": "application/json"}
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with NO_PROXY.open(request, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def assert_all_done(sim: Simulator, log: TaskLog, ids: list[str]) -> None:
    """Every task succeeded, with the service's own credits and its video on disk."""
    for task_id in ids:
        row = log.get(task_id)
        assert row["state"] == "success", (task_id, row["state"], row["error"])
        assert row["credits"] == sim.task_state(task_id).credits
        assert row["video_path"] and Path(row["video_path"]).stat().st_size > 0


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_callbacks_replace_polling_about_one_get_per_task(tmp_path):
    n = 24
    with stack(tmp_path, n) as (sim, client, log), CallbackReceiver(client) as receiver:
        with Poller(client, log, callbacks=receiver, policy="submit_all") as poller:
            assert poller.callbacks is receiver
            handles = poller.submit_many([req(i) for i in range(n)])
            assert poller.wait_all(120)
        ids = [poller.task_id(h) for h in handles]
        per_task = [gets(sim, i) for i in ids]
        assert max(per_task) <= 2 and sum(per_task) <= 1.25 * n, per_task
        assert_all_done(sim, log, ids)
        df = log.to_frame()
        assert set(df["callback_url"]) == {receiver.url}
        assert df["processing_at"].notna().all()  # recorded from the processing callbacks
        assert poller.pushed.counts.misses == 0 and not poller.pushed.fallen_back

        # Retried and late deliveries change nothing and cost no request.
        before, done = sim.count("GET"), log.get(ids[0])
        body = {"id": ids[0], "state": "success", "credits": 1, "payload": done["payload"]}
        assert post(receiver.url, body, sim.api_key) == 200  # a retry, with a wrong figure
        assert post(receiver.url, {**body, "state": "processing"}, sim.api_key) == 200
        assert sim.count("GET") == before
        after = log.get(ids[0])
        assert (after["state"], after["credits"]) == (done["state"], done["credits"])


def test_a_forged_callback_changes_nothing(tmp_path):
    events: list[PollerEvent] = []
    with stack(tmp_path) as (sim, client, log), CallbackReceiver(client) as receiver:
        with Poller(client, log, callbacks=receiver) as poller:
            poller.subscribe(events.append)
            handle = poller.submit(req(0, duration=8))
            task_id = wait_for(lambda: poller.task_id(handle))
            assert until(lambda: log.get(task_id)["state"] == "processing")
            row, asked = log.get(task_id), gets(sim, task_id)
            lie = {"id": task_id, "state": "success", "credits": 1, "payload": row["payload"],
                   "creations": [{"id": "x", "url": "http://127.0.0.1:9/evil.mp4"}]}  # fmt: skip

            # Signed with another key: refused, and nothing happens.
            assert post(receiver.url, lie, "not-the-key") == 401
            assert gets(sim, task_id) == asked and log.get(task_id) == row

            # Validly signed but false (a replay, a leaked key): one GET, which says otherwise.
            assert post(receiver.url, lie, sim.api_key) == 200
            assert until(lambda: gets(sim, task_id) == asked + 1)
            assert until(lambda: poller.pushed.counts.disputed == 1)
            now = log.get(task_id)
            assert now["state"] == "processing" and now["credits"] == row["credits"]
            assert now["video_url"] is None

            assert poller.wait_all(60)  # the real success still comes, and is confirmed
        assert_all_done(sim, log, [task_id])
        assert log.get(task_id)["credits"] != 1
        assert not any("evil" in str(e.task and e.task.video_url) for e in events)
        assert receiver.stats.unauthorized == 1


def test_a_receiver_stopped_mid_run_leaves_the_tasks_to_polling(tmp_path):
    n = 10
    with stack(tmp_path, n) as (sim, client, log):
        receiver = CallbackReceiver(client).serve()
        with Poller(client, log, callbacks=receiver, policy="submit_all") as poller:
            handles = poller.submit_many([req(i, duration=4 + i % 5) for i in range(n)])
            assert until(lambda: receiver.stats.accepted >= 3)  # callbacks did arrive
            receiver.stop()
            assert poller.pushed.fallen_back
            assert poller.wait_all(120)
        ids = [poller.task_id(h) for h in handles]
        assert_all_done(sim, log, ids)
        assert sum(gets(sim, i) for i in ids) > n  # they were polled
        assert any(d.status == 0 for d in sim.callbacks.deliveries)  # the service was refused


def test_callbacks_that_never_arrive_fall_back_to_polling(tmp_path):
    """A tunnel that is down: the service's POSTs go nowhere; the receiver hears nothing."""
    n = 8
    dead = f"http://127.0.0.1:{closed_port()}/vidu/callback?via=tunnel"
    with stack(tmp_path, n) as (sim, client, log), CallbackReceiver(client) as receiver:
        with Poller(client, log, policy="submit_all") as poller:
            poller.use_callbacks(receiver, public_url=dead, patience=20)
            handles = poller.submit_many([req(i) for i in range(n)])
            assert poller.wait_all(120)
        ids = [poller.task_id(h) for h in handles]
        assert_all_done(sim, log, ids)
        assert set(log.to_frame()["callback_url"]) == {dead}
        assert receiver.stats.accepted == 0
        assert poller.pushed.counts.misses >= 2 and poller.pushed.fallen_back


@pytest.mark.parametrize("search", [False, True], ids=["callback only", "with the search"])
def test_an_uncertain_submission_is_settled_by_its_callback(tmp_path, search):
    """With the poller's own search of the task list off, only the callback can settle it;
    with it on, whichever comes first does, once."""
    with stack(tmp_path) as (sim, client, log), CallbackReceiver(client) as receiver:
        sim.faults.add("drop_after", count=1, method="POST")  # created, but the answer is lost
        with Poller(client, log, callbacks=receiver, find_uncertain=search) as poller:
            handle = poller.submit(req(0))
            assert until(lambda: log.get_by_ref(handle)["state"] != "submitting")
            row = wait_for(lambda: log.get_by_ref(handle)["task_id"] and log.get_by_ref(handle))
            assert poller.wait_all(60)
        if not search:
            assert poller.pushed.counts.reconciled == 1
        assert len(log.to_frame()) == 1
        [task_id] = [t.id for t in sim.engine.tasks()]
        assert row["task_id"] == task_id
        assert_all_done(sim, log, [task_id])
        assert sim.count("POST", "/img2video") == 1  # never sent twice
        assert log.uncertain() == []


def test_a_request_with_its_own_callback_url_keeps_it(tmp_path):
    with (
        stack(tmp_path) as (sim, client, log),
        CallbackReceiver(client) as receiver,
        RecordingReceiver() as theirs,
        Poller(client, log, callbacks=receiver) as poller,
    ):
        own, ours = poller.submit_many([req(0, callback_url=theirs.url), req(1)])
        assert poller.wait_all(60)
        assert log.get_by_ref(own)["callback_url"] == theirs.url
        assert log.get_by_ref(ours)["callback_url"] == receiver.url
        assert {r.body["id"] for r in theirs.received} == {poller.task_id(own)}
        assert gets(sim, poller.task_id(own)) > gets(sim, poller.task_id(ours))  # it polled


def test_use_callbacks_checks_its_arguments(tmp_path, log):
    with Simulator(speed=20) as sim, ViduClient.for_simulator(sim) as client:
        poller = Poller(client, log)
        idle = CallbackReceiver(client)
        with pytest.raises(ValidationError) as err:
            poller.use_callbacks(idle)  # not serving, and no public URL to give the service
        assert err.value.field == "receiver"
        with pytest.raises(ValidationError) as err:
            poller.use_callbacks(idle, public_url="tunnel.example.org")
        assert err.value.field == "public_url"
        with pytest.raises(ValidationError) as err:
            poller.use_callbacks(idle, public_url="https://tunnel.example.org/cb", patience=0)
        assert err.value.field == "patience"
        with pytest.raises(ValidationError):
            poller.use_callbacks("http://127.0.0.1:8080/cb")  # type: ignore[arg-type]
        assert poller.callbacks is None

    # The real service cannot call a loopback address: refused before anything is sent.
    with ViduClient("a-key", "https://api.vidu.com") as real, CallbackReceiver(real) as local:
        poller = Poller(real, log)
        with pytest.raises(ValidationError) as err:
            poller.use_callbacks(local)
        assert err.value.field == "public_url"
        poller.use_callbacks(local, public_url="https://tunnel.example.org/vidu/callback")
        assert poller.callbacks is local and real.requests_sent == 0
