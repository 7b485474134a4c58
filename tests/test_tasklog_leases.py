"""Leases: each unfinished row is held by one poller at a time. A lease is claimed only when
free, renewed by its holder, taken over once it ran out (or at once when the holder is dead
on this machine); a row taken over is no longer its old holder's to send; the team's limit on
tasks in flight is kept inside the write transaction. Real logs (a SQLite file and a
PostgreSQL database), real processes, a real simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import pytest
from conftest import make_image
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.tracking.tasklog.owners import Owner, place_id

pytestmark = pytest.mark.stores
IMAGE = make_image(96, 64)


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def lease_of(log: TaskLog, ref: str) -> tuple[str | None, float]:
    row = log.get_by_ref(ref)
    assert row is not None
    return row["owner"], row["lease_until"].timestamp()


def test_a_lease_is_claimed_when_free_renewed_and_taken_over_when_it_runs_out(log):
    a, b = Owner(log.owners_dir, log.owner_locks), Owner(log.owners_dir, log.owner_locks)
    a.hold(), b.hold()  # two live pollers of this machine
    log.record_queued_many([(req(i), f"r{i}") for i in range(3)], owner=a.token, lease=0.6)
    assert log.holders() == {a.token: 3}
    assert log.free_rows(b.token) == []  # held and alive: nothing to take
    first = lease_of(log, "r0")[1]
    time.sleep(0.05)
    held = log.renew_leases(a.token, 0.6)
    assert [h.client_ref for h in held] == ["r0", "r1", "r2"]
    assert lease_of(log, "r0")[1] > first  # renewed
    # Claiming a row still held fails, whatever the claimant saw.
    stale = log.free_rows(b.token, among=None) or [h for h in held]
    assert log.claim(stale, b.token, 5.0) == []
    # A stalls (alive, its lock held) past its lease: the rows are free, and taken once.
    assert until(lambda: len(log.free_rows(b.token)) == 3, timeout=10)
    free = log.free_rows(b.token)
    assert len(log.claim(free, b.token, 5.0)) == 3
    assert log.claim(free, a.token, 5.0) == []  # the same rows, a moment later: gone
    assert log.holders() == {b.token: 3}
    # A wakes up: its renewal shows it holds nothing, and it can no longer send them.
    assert log.renew_leases(a.token, 0.6) == []
    assert not log.start_sending("r0", a.token)
    assert log.start_sending("r0", b.token)
    assert log.get_by_ref("r0")["state"] == "submitting"


def test_a_dead_holder_on_this_machine_is_known_at_once_another_machines_by_its_lease(log, log_at):
    a, b = Owner(log.owners_dir, log.owner_locks), Owner(log.owners_dir, log.owner_locks)
    a.hold(), b.hold()
    log.record_queued(req(0), "mine", owner=a.token, lease=600)
    assert log.free_rows(b.token) == []
    a.release()  # its process ended (SIGKILL frees the lock the same way)
    assert [h.client_ref for h in log.free_rows(b.token)] == ["mine"]  # not in 10 minutes
    assert log.claim(log.free_rows(b.token), b.token) != []

    # A live poller of another machine (another place) has no lock file here: that proves
    # nothing, so its rows wait for its lease to run out. (On a server log it holds its lock
    # there, from its own connection.)
    far = "f" * 32 + "@elsewhere"
    assert not far.endswith(place_id(log.owners_dir))
    with TaskLog(log_at()) as elsewhere:
        if elsewhere.owner_locks is not None:
            assert elsewhere.owner_locks.hold_owner(far)
        log.record_queued(req(1), "far", owner=far, lease=0.5)
        assert [h.client_ref for h in log.free_rows(b.token)] == []
        assert until(lambda: [h.client_ref for h in log.free_rows(b.token)] == ["far"], 10)


def test_the_limit_on_tasks_in_flight_is_the_logs_not_each_pollers(log):
    a, b = Owner(log.owners_dir, log.owner_locks), Owner(log.owners_dir, log.owner_locks)
    a.hold(), b.hold()
    log.record_queued_many([(req(i), f"a{i}") for i in range(2)], owner=a.token)
    log.record_queued_many([(req(i), f"b{i}") for i in range(2)], owner=b.token)
    assert log.start_sending("a0", a.token, limit=2)
    log.record_submission(req(0), Task(id="t-a0", state="processing"), client_ref="a0")
    assert log.start_sending("b0", b.token, limit=2)  # submitting counts as in flight
    assert log.in_flight() == 2
    assert not log.start_sending("a1", a.token, limit=2)  # full: the row waits, still A's
    assert not log.start_sending("b1", b.token, limit=2)
    assert log.get_by_ref("a1")["state"] == "queued" and log.get_by_ref("a1")["owner"] == a.token
    log.update(Task(id="t-a0", state="success"))
    assert log.in_flight() == 1
    assert log.start_sending("b1", b.token, limit=2)
    assert not log.start_sending("a1", a.token, limit=2)


#: A kernel that sends three requests and follows them, with a short lease.
KERNEL = r"""
import os, sys, time, warnings
from vidu_nb.client import ViduClient
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

target, key, base_url, image, stop = sys.argv[1:6]
log = TaskLog(target)
client = ViduClient(key, base_url, schedule=PollSchedule.for_speed(4))
client._transport.session.headers["User-Agent"] = "kernel-a"
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    poller = Poller.resume(client, log, cache=False, measure=False, lease=2.0)
data = open(image, "rb").read()
poller.submit_many([Img2VideoRequest(image=data, prompt=f"a {i}", seed=i, duration=1)
                    for i in range(3)])
print("submitted", poller._hold(), flush=True)
while not os.path.exists(stop):
    time.sleep(0.05)
poller.stop()
print("done", flush=True)
"""


def writing_elsewhere(target) -> bool:
    """On PostgreSQL, whether another session of the log's database has a transaction open.
    A probe's write there need not meet a frozen writer's row locks (it updates other rows),
    so it cannot tell on its own; the server can. (Reads are autocommit statements, so an
    open transaction is a write; one of this test's own, caught in the act, only costs a
    retry.) On SQLite the probe's write is enough: the file's lock stops it."""
    if not str(target).startswith("postgresql"):
        return False
    import psycopg

    with psycopg.connect(str(target), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
        ).fetchone()
    return bool(row and row[0])


def stall(pid: int, target) -> None:
    """SIGSTOP ``pid`` between two of its write transactions: one frozen inside a transaction
    would hold every writer of the log (SQLite's lock, PostgreSQL's writer lock) until it
    continues, which no lease can change. A write of our own that does not finish at once
    means it holds one: let it go on a moment and try again. Nor in the middle of a POST: that
    one goes out when it continues, whatever happened meanwhile (its row, found 'submitting',
    becomes 'uncertain' and is never sent again; here we test the rest)."""
    with TaskLog(target) as probe:
        for _ in range(50):
            os.kill(pid, signal.SIGSTOP)
            done = threading.Event()
            threading.Thread(
                target=lambda d=done: (probe.release_leases("probe"), d.set()), daemon=True
            ).start()
            if not done.wait(1.0):  # frozen inside a transaction: let it finish it
                os.kill(pid, signal.SIGCONT)
                done.wait(30)
                continue
            if writing_elsewhere(target):  # PostgreSQL: frozen with its transaction open
                os.kill(pid, signal.SIGCONT)
                time.sleep(0.05)
                continue
            if not any(r["state"] == "submitting" for r in probe.unsent()):
                return
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.05)
    raise AssertionError("the kernel was always inside a write transaction")


def test_a_stalled_kernels_tasks_are_taken_over_and_it_never_acts_on_them_again(tmp_path, log_at):
    target = log_at("stall")
    TaskLog(target).close()
    image, stop = tmp_path / "start.png", tmp_path / "stop"
    image.write_bytes(IMAGE)
    # One task runs at a time: while A is stopped it holds one running task and two queued.
    with Simulator(speed=4, concurrency=1, video_height=32, seed=4) as sim:
        args = [target, sim.api_key, sim.base_url, image, stop]
        a = subprocess.Popen(
            [sys.executable, "-c", KERNEL, *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert a.stdout is not None
            word, token_a = a.stdout.readline().split()
            assert word == "submitted"
            with TaskLog(target) as log, ViduClient.for_simulator(sim) as client:
                assert until(lambda: log.in_flight() == 1, timeout=30)
                stall(a.pid, target)  # alive (its lock held), but silent
                stopped_at = time.time()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    b = Poller.resume(client, log, cache=False, measure=False, lease=2.0)
                try:
                    assert log.holders() == {token_a: 3}  # A's leases still run: B waits
                    token_b = b._hold()
                    assert until(lambda: log.holders().get(token_b) == 3, timeout=30)
                    os.kill(a.pid, signal.SIGCONT)
                    resumed_at = time.time()
                    assert b.wait_all(60)
                    assert until(lambda: not log.holders(), timeout=30)
                finally:
                    b.stop()
                rows = log.to_frame(columns=["client_ref", "state", "task_id"])
            stop.touch()
            out, err = a.communicate(timeout=30)
            assert a.returncode == 0, err
        finally:
            if a.poll() is None:
                os.kill(a.pid, signal.SIGCONT)
                a.kill()
        payloads = sorted(t.fields["payload"] for t in sim.engine.tasks())
        from_a = [r for r in sim.requests if r.agent == "kernel-a"]
    assert (rows["state"] == "success").all() and len(rows) == 3
    assert payloads == sorted(rows["client_ref"])  # each request sent once, by A or B
    assert sum(r.method == "POST" for r in from_a) == 1  # A sent one before it stalled
    # Once A woke up it did nothing with the rows it had lost: no check, no send.
    assert [r for r in from_a if r.time > resumed_at] == []
    assert stopped_at < resumed_at


def test_other_kernels_changes_reach_this_kernels_subscribers_without_a_request(tmp_path, log_at):
    target = log_at("watch")
    TaskLog(target).close()
    image, stop = tmp_path / "start.png", tmp_path / "stop"
    image.write_bytes(IMAGE)
    with Simulator(speed=40, concurrency=5, video_height=32, seed=5) as sim:
        with (
            TaskLog(target) as log,
            ViduClient.for_simulator(sim) as client,
            Poller(client, log, cache=False, measure=False, watch=0.1) as here,
        ):
            client._transport.session.headers["User-Agent"] = "here"
            events = []
            here.subscribe(events.append)
            args = [target, sim.api_key, sim.base_url, image, stop]
            a = subprocess.Popen(
                [sys.executable, "-c", KERNEL, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert a.stdout is not None and a.stdout.readline().startswith("submitted")
                assert until(lambda: len(log.to_frame(state="success")) == 3, timeout=60)
                done = set(log.to_frame(state="success")["task_id"])
                seen = lambda: {e.task_id for e in events if e.new_state == "success"}  # noqa: E731
                assert until(lambda: seen() == done, timeout=10)
            finally:
                stop.touch()
                a.communicate(timeout=30)
        asked_here = [r for r in sim.requests if r.agent == "here"]
    assert asked_here == [r for r in asked_here if "/creations" not in r.path]  # no GET of a task
    # Each request's events tell its story in order, as its own poller's would: by handle
    # (the client_ref, which cards are found by), each state following the one before.
    by_handle: dict[str, list] = {}
    for e in events:
        by_handle.setdefault(e.handle, []).append(e)
    assert len(by_handle) == 3
    for story in by_handle.values():
        assert story[0].old_state is None and story[-1].new_state == "success"
        assert all(e.old_state == d.new_state for d, e in zip(story, story[1:], strict=False))
        assert story[-1].task_id in done
