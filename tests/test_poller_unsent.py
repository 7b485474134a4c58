"""Requests are in the log before they are sent: a kernel killed mid-submit loses nothing, and
``resume`` sends what was never sent and marks what may have arrived as uncertain (not resent).
Real processes, a real simulator on loopback, a real SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings

import pytest
from conftest import make_image
from waiting import wait_for

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog, UncertainSubmissionsWarning

pytestmark = pytest.mark.stores
IMAGE = make_image(160, 120)

KERNEL = r"""
import sys, time
from vidu_nb.client import ViduClient
from vidu_nb.tracking.poller import Poller
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog

path, key, base_url, image = sys.argv[1:5]
poller = Poller(ViduClient(key, base_url), TaskLog(path), cache=False, max_running=1).start()
for i in range(2):  # one request at a time: the second waits behind the slow first
    request = Img2VideoRequest(image=image, prompt=f"shot {i}", seed=i, duration=1)
    print(poller.submit(request, experiment="killed", tags=["k"], notes=f"n{i}"), flush=True)
time.sleep(600)
"""


def req(i: int = 0, **kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=11) as s:
        yield s


def test_sigkill_mid_submit_leaves_rows_that_resume_settles(sim, tmp_path, log_at):
    """The first request reached the service (its answer held back) when the kernel died:
    resume marks it uncertain, never sends it again, and finds its task in the service's task
    list (no callback); the second, never sent, is sent."""
    path = log_at("kernel.sqlite")
    frame = tmp_path / "frame.png"
    frame.write_bytes(IMAGE)
    sim.faults.add("slow", count=1, method="POST", delay=5.0)  # created, answer held back
    kernel = subprocess.Popen(
        [sys.executable, "-c", KERNEL, str(path), sim.api_key, sim.base_url, str(frame)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert kernel.stdout is not None
        first, second = kernel.stdout.readline().strip(), kernel.stdout.readline().strip()
        with TaskLog(path) as log:  # watch the log from outside, as another kernel would
            wait_for(lambda: (log.get_by_ref(first) or {}).get("state") == "submitting")
        wait_for(lambda: len(sim.engine.tasks()) == 1)  # the POST reached the service
    finally:
        os.kill(kernel.pid, signal.SIGKILL)
        kernel.wait()
    frame.unlink()  # the log kept its own copy of the start image
    (reached,) = sim.engine.tasks()
    with TaskLog(path) as log:
        states = {r["client_ref"]: r["state"] for r in log.unsent()}
        assert states == {first: "submitting", second: "queued"}
        assert log.get_by_ref(second)["prompt"] == "shot 1"  # every parameter is there
        with ViduClient.for_simulator(sim) as client:
            with pytest.warns(UncertainSubmissionsWarning, match="1 uncertain submission"):
                poller = Poller.resume(client, log)
            try:
                assert poller.wait_all(30)
            finally:
                poller.stop()
        found, sent = log.get_by_ref(first), log.get_by_ref(second)
        assert found["task_id"] == reached.id and found["state"] == "success"
        assert found["video_path"] is not None  # followed and downloaded like any task
        assert log.uncertain() == []
        events = list(log.events(reached.id)["state"])
        assert events[:3] == ["queued", "submitting", "uncertain"] and events[-1] == "success"
        assert sent["state"] == "success" and sent["task_id"]
        assert (sent["experiment"], sent["tags"], sent["notes"]) == ("killed", ["k"], "n1")
        assert sent["seed_requested"] == 1 and sent["submitted_at"] is not None
        assert list(log.events(sent["task_id"])["state"])[:3] == ["queued", "submitting", "created"]
    payloads = [t.fields["payload"] for t in sim.engine.tasks()]
    assert sorted(payloads) == sorted([first, second])  # the uncertain one was not resent
    # The held-back POST is logged when its answer goes out (into the dead kernel's socket).
    wait_for(lambda: sim.count("POST", "/img2video") >= 2)
    assert sim.count("POST", "/img2video") == 2


def test_stop_leaves_queued_rows_for_resume(sim, tmp_path, log_at):
    path = log_at("stopped.sqlite")
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        poller = Poller(client, log, cache=False)  # never started: nothing goes out
        handles = [poller.submit(req(i), experiment="later") for i in range(3)]
        poller.stop()
        assert [r["state"] for r in log.unsent()] == ["queued"] * 3
    assert sim.count("POST") == 0
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # nothing is uncertain: no warning
            poller = Poller.resume(client, log, cache=False)
        try:
            assert poller.wait_all(30)
        finally:
            poller.stop()
        df = log.to_frame(experiment="later")
    assert list(df["client_ref"]) == handles and (df["state"] == "success").all()
    assert sim.count("POST") == 3


def test_a_live_pollers_queue_is_not_taken_over(sim, tmp_path, log_at):
    path = log_at("shared.sqlite")
    with (
        ViduClient.for_simulator(sim) as client,
        TaskLog(path) as mine,
        TaskLog(path) as other,
    ):
        poller = Poller(client, mine, cache=False)  # holds its queue, not started yet
        handle = poller.submit(req(1))
        second = Poller.resume(client, other, cache=False)  # another kernel resuming the same log
        try:
            assert second.wait_all(5) and sim.count("POST") == 0
            assert mine.get_by_ref(handle)["state"] == "queued"
            poller.start()
            assert poller.wait_all(30)
        finally:
            second.stop()
            poller.stop()
        assert mine.get_by_ref(handle)["state"] == "success" and sim.count("POST") == 1


def test_cancelled_before_sending_is_recorded(sim, client_log):
    client, log = client_log
    poller = Poller(client, log, cache=False)
    handle = poller.submit(req(2))
    assert poller.cancel_queued(handle) and not poller.cancel_queued(handle)
    poller.start()
    assert poller.wait_all(10)
    poller.stop()
    row = log.get_by_ref(handle)
    assert row["state"] == "cancelled" and row["finished_at"] is not None
    assert sim.count("POST") == 0 and log.unsent() == []


def test_a_retried_submit_goes_back_to_queued(sim, client_log):
    _, log = client_log
    sim.faults.add("rate_limit", count=1, method="POST", retry_after=0.05)
    with (
        ViduClient.for_simulator(sim, max_retries=0) as client,  # the 429 reaches the poller
        Poller(client, log, cache=False) as poller,
    ):
        handle = poller.submit(req(3))
        assert poller.wait_all(30)
    row = log.get_by_ref(handle)
    states = list(log.events(row["task_id"])["state"])
    assert states[:4] == ["queued", "submitting", "queued", "submitting"]
    assert row["state"] == "success" and sim.count("POST") == 2


def test_a_missing_image_file_fails_the_row_with_a_reason(sim, tmp_path, log_at):
    path = log_at("lost.sqlite")
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        poller = Poller(client, log, cache=False)
        handle = poller.submit(req(4))
        poller.stop()
        os.unlink(log.get_by_ref(handle)["image_path"])
        poller = Poller.resume(client, log, cache=False)
        poller.stop()
        row = log.get_by_ref(handle)
    assert row["state"] == "failed" and row["err_code"] == "NotSent"
    assert "cannot send after restart" in row["error"] and sim.count("POST") == 0


@pytest.fixture
def client_log(sim, tmp_path, log_at):
    with ViduClient.for_simulator(sim) as client, TaskLog(log_at("t.sqlite")) as log:
        yield client, log
