"""A team on one log: four kernels (real processes) each send 50 requests through their own
poller on one shared log, against one simulator; one kernel is SIGKILLed midway. Every task
ends exactly once and none is lost (the dead kernel's queued rows are sent by the others, its
running tasks followed by them), no task is ever checked by two pollers (the simulator's own
request log says which process asked for what), and the service's concurrency limit holds for
the whole team, not per poller. Runs on a SQLite file and on PostgreSQL (``stores``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict

import pytest
from waiting import until

from vidu_nb import states
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog

pytestmark = pytest.mark.stores

#: A kernel of the team: resumes the shared log (taking over what nobody holds), sends its
#: requests, and runs until told to stop. Its HTTP requests carry its name as User-Agent, so
#: the simulator's request log says which process asked.
KERNEL = r"""
import io, os, sys, time, warnings
from PIL import Image
from vidu_nb.client import ViduClient
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

target, key, base_url, speed, name, count, lease, go, stop = sys.argv[1:10]
buf = io.BytesIO()
Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "PNG")
log = TaskLog(target)
client = ViduClient(key, base_url, schedule=PollSchedule.for_speed(float(speed)))
client._transport.session.headers["User-Agent"] = "team/" + name
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    poller = Poller.resume(client, log, cache=False, measure=False, lease=float(lease))
requests = [
    Img2VideoRequest(image=buf.getvalue(), prompt=f"{name} {i}", seed=i, duration=1)
    for i in range(int(count))
]
poller.submit_many(requests, experiment=name)
print("submitted", flush=True)
while not os.path.exists(stop):
    time.sleep(0.05)
poller.stop()
print("done", poller.stats.polls, flush=True)
"""

KERNELS = 4
EACH = 50
LIMIT = 8  # the service's concurrency limit, shared by the team
LEASE = 3.0  # seconds: renewed every second, taken over within a second of a death
SPEED = 40.0


def kernel(target, sim, name, go, stop):
    args = [target, sim.api_key, sim.base_url, SPEED, name, EACH, LEASE, go, stop]
    return subprocess.Popen(
        [sys.executable, "-c", KERNEL, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def overlapping(sim, ids) -> int:
    """Most of these tasks the server held unfinished at once, from its own timestamps."""
    views = [sim.task_state(i) for i in ids]
    return max(sum(1 for w in views if w.created_at <= v.created_at < w.finished_at) for v in views)


def settled(log: TaskLog, sim: Simulator) -> bool:
    """Every row final, or uncertain (a request cut mid-send by the kill) with no task on the
    service: one that reached it is found in the task list and followed to its end."""
    df = log.to_frame(columns=["client_ref", "state"])
    if len(df) < KERNELS * EACH:
        return False
    final = df["state"].astype(str).map(states.is_final)
    uncertain = df["state"] == "uncertain"
    created = {t.fields["payload"] for t in sim.engine.tasks()}
    lost = uncertain & df["client_ref"].isin(created)
    return bool((final | uncertain).all() and not lost.any())


def test_four_kernels_one_killed_follow_every_task_once(tmp_path, log_at):
    target = log_at("team")
    TaskLog(target).close()  # made once, before the kernels open it
    go, stop = tmp_path / "go", tmp_path / "stop"
    names = [f"k{i}" for i in range(KERNELS)]
    victim = names[0]
    with Simulator(speed=SPEED, concurrency=LIMIT, video_height=32, seed=13) as sim:
        procs = {name: kernel(target, sim, name, go, stop) for name in names}
        for p in procs.values():
            assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        go.touch()
        try:
            with TaskLog(target) as log:
                for p in procs.values():
                    assert p.stdout is not None and p.stdout.readline().strip() == "submitted"
                # Midway: a quarter of the tasks done, the victim holding running tasks and
                # unsent requests (its 50 wait in the shared queue with everyone's).
                assert until(lambda: _done(log) >= KERNELS * EACH // 4, timeout=60)
                os.kill(procs[victim].pid, signal.SIGKILL)
                procs[victim].wait()
                held = log.holders()
                assert until(lambda: settled(log, sim), timeout=90), log.holders()
                stop.touch()
                for name, p in procs.items():
                    out, err = p.communicate(timeout=60)
                    if name != victim:
                        assert p.returncode == 0, err
                df = log.df
                events = log.events()
                assert log.integrity_check() == "ok"
        finally:
            stop.touch()
            for p in procs.values():
                if p.poll() is None:
                    p.kill()
        assert sum(n for owner, n in held.items() if owner) > 0  # the victim left work behind
        requests = list(sim.requests)
        tasks = list(sim.engine.tasks())

    # None lost, none sent twice: every request is a row; each reached the service at most
    # once; only a request cut mid-send by the kill may be missing there (then 'uncertain').
    assert len(df) == KERNELS * EACH and df["client_ref"].is_unique
    payloads = [t.fields["payload"] for t in tasks]
    assert len(payloads) == len(set(payloads))
    by_ref = df.set_index("client_ref")
    assert set(payloads) <= set(by_ref.index)
    unsent = sorted(set(by_ref.index) - set(payloads))
    assert len(unsent) <= 1 and all(by_ref.loc[r, "state"] == "uncertain" for r in unsent)
    done = by_ref.drop(index=unsent)
    assert (done["state"] == "success").all(), done["state"].value_counts()
    assert {t.id: t.fields["payload"] for t in tasks} == dict(
        zip(done["task_id"], done.index, strict=True)
    )
    # Every task final exactly once in the log's history.
    finals = events[events["state"] == "success"].groupby("task_id").size()
    assert len(finals) == len(tasks) and (finals == 1).all()

    # Never checked by two pollers: each task's GETs come from one process, or from the
    # victim until its death and from one other process after it (a take-over).
    askers: dict[str, list[str]] = defaultdict(list)
    for r in requests:
        if r.method == "GET" and r.path.endswith("/creations"):
            tid = r.path.split("/")[-2]
            who = r.agent.removeprefix("team/")
            if not askers[tid] or askers[tid][-1] != who:
                askers[tid].append(who)
    assert set(askers) == {t.id for t in tasks}
    for tid, who in askers.items():
        assert len(who) <= 2, (tid, who)
        if len(who) == 2:
            assert who[0] == victim and who[1] != victim, (tid, who)
    # The victim's own requests: some it sent and followed before it died, the rest were
    # taken over (sent or followed) by the others.
    its = set(done[done["experiment"] == victim]["task_id"])
    assert any(askers[t][0] == victim for t in its)
    assert any(askers[t][-1] != victim for t in its)
    # Requests per task are one poller's, not four: the checks of a task come from one
    # process at a time, so the team's GETs per task stay those of a single follower.
    gets = sum(1 for r in requests if r.method == "GET" and r.path.endswith("/creations"))
    assert gets / len(tasks) < 12, gets / len(tasks)

    # The service's limit held for the team as a whole, and the team used it.
    busiest = overlapping(sim, [t.id for t in tasks])
    assert LIMIT // 2 < busiest <= LIMIT


def _done(log: TaskLog) -> int:
    df = log.to_frame(columns=["state"])
    return int(df["state"].astype(str).map(states.is_final).sum())
