"""Resuming after a restart. Two kernels resuming the same log at
once send every never-sent request exactly once, never resend one that may have arrived, and
follow every unfinished task to the end. Real processes, a real simulator, a real SQLite file."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog, UncertainSubmissionsWarning

pytestmark = pytest.mark.stores

IMAGE = make_image(160, 120)

KERNEL = r"""
import os, sys, time, warnings
from vidu_nb.client import ViduClient
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog, UncertainSubmissionsWarning

path, key, base_url, go = sys.argv[1:5]
log = TaskLog(path)
client = ViduClient(key, base_url)
print("ready", flush=True)
while not os.path.exists(go):  # resume together
    time.sleep(0.002)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    poller = Poller.resume(client, log, cache=False)
ok = poller.wait_all(60)
poller.stop()
print("done", ok, flush=True)
"""


def req(i: int) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def test_two_kernels_resuming_at_once_send_each_queued_request_once(tmp_path, log_at):
    path = log_at("shared.sqlite")
    with Simulator(speed=100, video_height=64, seed=2) as sim:
        with TaskLog(path) as log, ViduClient.for_simulator(sim) as client:
            # A kernel that died: 12 requests never sent, one mid-send, one task running.
            refs = [f"ref-{i}" for i in range(14)]
            log.record_queued_many([(req(i), r) for i, r in enumerate(refs)], owner="dead")
            assert log.start_sending(refs[0], "dead")  # the POST may have arrived
            running = client.submit(req(99), client_ref=refs[1])
            assert log.start_sending(refs[1], "dead")
            log.record_submission(req(99), running, client_ref=refs[1])
        go = tmp_path / "go"
        kernels = [
            subprocess.Popen(
                [sys.executable, "-c", KERNEL, str(path), sim.api_key, sim.base_url, str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for k in kernels:
            assert k.stdout is not None and k.stdout.readline().strip() == "ready"
        go.touch()
        for k in kernels:
            out, err = k.communicate(timeout=120)
            assert k.returncode == 0, err
            assert out.strip() == "done True"
        payloads = sorted(t.fields["payload"] for t in sim.engine.tasks())
    assert payloads == sorted(refs[1:])  # each once; the uncertain one never resent
    with TaskLog(path) as log:
        df = log.df
        assert log.integrity_check() == "ok"
        assert log.unsent() == [] and log.pending() == []
    by_ref = df.set_index("client_ref")
    assert by_ref.loc[refs[0], "state"] == "uncertain"
    assert (by_ref.loc[refs[1:], "state"] == "success").all()
    assert by_ref.loc[refs[1:], "task_id"].is_unique and len(df) == len(refs)


def test_uncertain_rows_are_never_resent_by_later_resumes(tmp_path, log_at):
    path = log_at("log.sqlite")
    with Simulator(speed=100, video_height=64) as sim, ViduClient.for_simulator(sim) as client:
        with TaskLog(path) as log:
            log.record_queued(req(0), "lost", owner="gone")
            log.start_sending("lost", "gone")
        for _ in range(3):  # restarted three times
            with TaskLog(path) as log:
                with pytest.warns(UncertainSubmissionsWarning):
                    poller = Poller.resume(client, log, cache=False)
                assert poller.wait_all(10)
                poller.stop()
                assert log.get_by_ref("lost")["state"] == "uncertain"
        assert sim.count("POST") == 0
        with TaskLog(path) as log:  # and reconciling it by a task found later works
            task = client.submit(req(0), client_ref="lost")
            log.reconcile("lost", task.id, client)
            assert log.pending() == [task.id]
            assert log.get(task.id)["client_ref"] == "lost"
            assert isinstance(client.get(task.id), Task)
