"""``Poller.submit_many``: a batch of requests is recorded durably in ONE transaction (one sync
to disk instead of one per request), all or nothing, then sent like single submissions.
Real SQLite files, a real simulator on loopback, a real process killed with SIGKILL."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

import pytest
from conftest import make_image
from sql_trace import transactions

from vidu_nb.client import ViduClient
from vidu_nb.errors import ValidationError, ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

IMAGE = make_image(160, 120)
N = 12

KERNEL = r"""
import sys, time
from vidu_nb.client import ViduClient
from vidu_nb.tracking.poller import Poller
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog

path, key, base_url, image, n = sys.argv[1:6]
poller = Poller(ViduClient(key, base_url), TaskLog(path), cache=False, max_running=1).start()
reqs = [Img2VideoRequest(image=image, prompt=f"shot {i}", seed=i, duration=1) for i in range(int(n))]
print(" ".join(poller.submit_many(reqs, experiment="killed", tags=["k"])), flush=True)
time.sleep(600)
"""


def req(i: int = 0, image: bytes = IMAGE) -> Img2VideoRequest:
    return Img2VideoRequest(image=image, prompt=f"shot {i}", seed=i, duration=1)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=12) as s:
        yield s


def test_submit_many_is_one_transaction_then_every_request_succeeds(sim, tmp_path):
    other = make_image(160, 120, color=(10, 200, 90))
    requests = [req(i, IMAGE if i % 3 else other) for i in range(N)]
    with ViduClient.for_simulator(sim) as client, TaskLog(tmp_path / "batch.sqlite") as log:
        poller = Poller(client, log, cache=False, max_running=3)
        statements: list[str] = []
        log._store.connection.set_trace_callback(statements.append)
        handles = poller.submit_many(requests, experiment="batch", tags=["b"], notes="n")
        log._store.connection.set_trace_callback(None)
        (writes,) = transactions(statements)
        assert sum(s.startswith("INSERT INTO tasks") for s in writes) == N
        assert sum(s.startswith("INSERT INTO events") for s in writes) == N
        assert len(set(handles)) == N and poller.queued == N
        rows = log.unsent()
        assert [r["client_ref"] for r in rows] == handles  # in the order given
        assert {r["state"] for r in rows} == {"queued"}
        assert [r["prompt"] for r in rows] == [f"shot {i}" for i in range(N)]
        assert {(r["experiment"], tuple(r["tags"]), r["notes"]) for r in rows} == {
            ("batch", ("b",), "n")
        }
        for kind in ("images", "thumbs"):  # one file per distinct image
            assert len(list((log.cache_dir / kind).iterdir())) == 2
        poller.start()
        try:
            assert poller.wait_all(60)
        finally:
            poller.stop()
        done = [log.get_by_ref(h) for h in handles]
        assert {r["state"] for r in done} == {"success"}
        assert [poller.task_id(h) for h in handles] == [r["task_id"] for r in done]
    created = sorted(sim.engine.tasks(), key=lambda t: t.created_at)
    assert [t.fields["payload"] for t in created] == handles  # sent in order, each once


def test_submit_is_the_same_path_for_one_request(sim, tmp_path):
    with ViduClient.for_simulator(sim) as client, TaskLog(tmp_path / "one.sqlite") as log:
        poller = Poller(client, log, cache=False)
        statements: list[str] = []
        log._store.connection.set_trace_callback(statements.append)
        handle = poller.submit(req(1), experiment="one", tags="solo")
        log._store.connection.set_trace_callback(None)
        assert len(transactions(statements)) == 1
        assert poller.submit_many([]) == [] and poller.queued == 1
        poller.stop()
        row = log.get_by_ref(handle)
        assert row["state"] == "queued" and row["tags"] == ["solo"]  # a str is one tag


def test_a_bad_request_mid_batch_queues_nothing(sim, tmp_path):
    with ViduClient.for_simulator(sim) as client, TaskLog(tmp_path / "bad.sqlite") as log:
        poller = Poller(client, log, cache=False)
        with pytest.raises(ValidationError, match=r"requests\[1\].*Img2VideoRequest"):
            poller.submit_many([req(0), "shot.png", req(2)])
        with pytest.raises(ViduError, match="comma"):  # a bad tag: nothing either
            poller.submit_many([req(0), req(1)], tags=["ok", "no,commas"])
        assert len(log) == 0 and poller.queued == 0
        poller.stop()


def test_a_row_failing_inside_the_transaction_rolls_back_the_batch(tmp_path):
    with TaskLog(tmp_path / "rollback.sqlite") as log:
        log.record_queued(req(0), "taken", owner="me")
        statements: list[str] = []
        log._store.connection.set_trace_callback(statements.append)
        pairs = [(req(1), "a"), (req(2), "b"), (req(3), "taken"), (req(4), "c")]
        with pytest.raises(ViduError, match="'taken' is already in"):
            log.record_queued_many(pairs, owner="me")
        log._store.connection.set_trace_callback(None)
        (writes,) = transactions(statements, mark_rollback=True)
        assert writes[-1] == "ROLLBACK" and len(writes) == 5  # 2 rows + 2 events written
        assert [r["client_ref"] for r in log.unsent()] == ["taken"]
        assert len(log._store.connection.execute("SELECT * FROM events").fetchall()) == 1
        with pytest.raises(ViduError, match="'a' is already in"):  # twice in one batch
            log.record_queued_many([(req(1), "a"), (req(2), "a")], owner="me")
        assert len(log) == 1 and log.integrity_check() == "ok"


def test_sigkill_right_after_submit_many_keeps_every_row(sim, tmp_path):
    path = tmp_path / "kernel.sqlite"
    frame = tmp_path / "frame.png"
    frame.write_bytes(IMAGE)
    args = [sim.api_key, sim.base_url, str(frame), str(N)]
    kernel = subprocess.Popen(
        [sys.executable, "-c", KERNEL, str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert kernel.stdout is not None
        handles = kernel.stdout.readline().split()
    finally:
        os.kill(kernel.pid, signal.SIGKILL)  # the moment submit_many returned
        kernel.wait()
    assert len(handles) == N
    frame.unlink()  # the log kept its own copy of the start image
    with TaskLog(path) as log:
        rows = [log.get_by_ref(h) for h in handles]
        assert all(r is not None and r["experiment"] == "killed" for r in rows)
        with ViduClient.for_simulator(sim) as client:
            sending = any(r["state"] == "submitting" for r in log.unsent())
            with pytest.warns(UserWarning) if sending else contextlib.nullcontext():
                poller = Poller.resume(client, log, cache=False)
            try:
                assert poller.wait_all(60)
            finally:
                poller.stop()
        states = [log.get_by_ref(h)["state"] for h in handles]
    assert set(states) <= {"success", "uncertain"} and states.count("success") >= N - 1
    payloads = [t.fields["payload"] for t in sim.engine.tasks()]
    assert len(payloads) == len(set(payloads))  # nothing sent twice
