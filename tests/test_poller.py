"""The background poller against the simulator over real HTTP: policies, faults, resume,
refused submissions, subscribers, clean stop (uncertain and unsent submissions:
``test_poller_unsent.py`` and ``test_tasklog_reconcile.py``)."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.simulator import server as sim_server
from vidu_nb.tracking.poller import Poller, PollerEvent
from vidu_nb.tracking.tasklog import TaskLog

IMAGE = make_image(160, 120)


pytestmark = pytest.mark.stores


def req(i: int = 0, **kw) -> Img2VideoRequest:
    kw.setdefault("duration", 1 + i % 2)
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=7) as s:
        yield s


@pytest.fixture
def client(sim):
    c = ViduClient.for_simulator(sim)
    yield c
    c.close()


def overlapping(sim, ids):
    """Most tasks the server held unfinished at once, from its own timestamps."""
    views = [sim.task_state(i) for i in ids]
    return max(sum(1 for w in views if w.created_at <= v.created_at < w.finished_at) for v in views)


def test_queue_policy_holds_submissions_and_downloads(sim, client, log):
    events: list[PollerEvent] = []
    with Poller(client, log, max_running=2) as poller:
        poller.subscribe(events.append)
        handles = [poller.submit(req(i), experiment="q", tags=["t"]) for i in range(6)]
        assert poller.pending == 6  # returned at once: nothing was sent by submit()
        assert poller.wait_all(60)
    ids = [poller.task_id(h) for h in handles]
    assert all(ids) and overlapping(sim, ids) <= 2
    df = log.to_frame(experiment="q")
    assert (df["state"] == "success").all() and len(df) == 6
    assert list(df["client_ref"]) == handles
    for row in df.itertuples():
        assert (log.path.parent / row.video_path).stat().st_size > 0
        assert row.credits == sim.task_state(row.task_id).credits
    kinds = {(e.kind, e.new_state) for e in events}
    assert {("state", "created"), ("state", "success"), ("files", "success")} <= kinds


def test_submit_all_lets_the_service_queue(log):
    with (
        Simulator(speed=20, concurrency=2, video_height=64) as sim,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, policy="submit_all", cache=False) as poller,
    ):
        handles = [poller.submit(req(i)) for i in range(5)]
        assert poller.wait_all(60)
        assert overlapping(sim, [poller.task_id(h) for h in handles]) == 5
    ids = [poller.task_id(h) for h in handles]
    posts = [r.time for r in sim.requests if r.method == "POST"]
    first_done = min(sim.task_state(i).finished_at for i in ids)
    assert len(posts) == 5 and max(posts) < first_done  # all sent before any finished
    assert set(log.df["state"]) == {"success"}


@pytest.mark.slow
def test_200_tasks_survive_faults_with_exact_credits(log):
    # A fast service with room for many running tasks keeps this test short; the point is
    # the faults, the count and the credits.
    before = threading.active_count()
    with Simulator(speed=500, concurrency=20, video_height=64, seed=3) as sim:
        sim.faults.add("rate_limit", count=15, method="GET", retry_after=0.05)
        sim.faults.add("server_error", probability=0.05, method="GET")
        sim.faults.add("drop", probability=0.03, method="GET")
        sim.faults.add("rate_limit", count=5, method="POST", retry_after=0.05)
        sim.faults.add("task_failure", probability=0.1, err_code=["AuditSubmitIllegal", "Timeout"])
        with (
            ViduClient.for_simulator(sim) as client,
            Poller(client, log, cache=False, policy="submit_all") as poller,
        ):
            for i in range(200):
                poller.submit(req(i), experiment="big")
            threads = []  # sampled while 200 tasks are pending: a bounded pool, not one each
            deadline = time.monotonic() + 180
            while not poller.wait_all(0.02) and time.monotonic() < deadline:
                threads.append(threading.active_count())
            assert poller.wait_all(0)
        charged = {t.id: t.credits for t in map(sim.task_state, log.to_frame()["task_id"])}
        gets = sim.count("GET", "/creations")
    df = log.to_frame(experiment="big")
    assert len(df) == 200 and df["task_id"].notna().all()
    assert df["state"].isin(["success", "failed"]).all() and (df["state"] == "failed").any()
    assert int(df["credits"].sum()) == sum(charged.values())
    assert all(charged[t] == c for t, c in zip(df["task_id"], df["credits"], strict=True))
    failed = df[df["state"] == "failed"]
    assert set(failed["err_code"]) <= {"AuditSubmitIllegal", "Timeout"}
    # One worker, polling only due tasks: a few GETs per task, not one per task per tick.
    assert gets < 200 * 12
    # Threads (the in-process simulator's included) stay bounded while 200 tasks are pending.
    assert len(threads) > 10 and max(threads) < 20 + before


def _all_sent(log: TaskLog, count: int) -> bool:
    frame = log.to_frame()
    return len(frame) == count and bool(frame["task_id"].notna().all())


def test_resume_after_restart_finishes_everything(sim, log_at):
    path = log_at("resume.sqlite")
    sim.faults.add("slow", delay=1.0, method="GET")  # checks lag, so tasks stay pending here
    with ViduClient.for_simulator(sim) as first, TaskLog(path) as log:
        poller = Poller(first, log, policy="submit_all", cache=False).start()
        for i in range(5):
            poller.submit(req(i))
        deadline = time.monotonic() + 60
        while not _all_sent(log, 5):  # a deadline, not a hang, if the machine is slow
            assert time.monotonic() < deadline, "submissions were not sent"
            time.sleep(0.01)
        poller.stop()  # the "kernel" dies here
        assert len(log.pending()) >= 1
    sim.faults.clear()
    with ViduClient.for_simulator(sim) as second, TaskLog(path) as log:
        poller = Poller.resume(second, log)
        try:
            assert poller.wait_all(60)
        finally:
            poller.stop()
        df = log.df
    assert len(df) == 5 and (df["state"] == "success").all()
    assert df["video_path"].notna().all()  # resumed tasks are downloaded too


def test_refused_submission_is_recorded_as_failed(sim, log):
    with ViduClient("wrong-key", sim.base_url) as bad, Poller(bad, log, cache=False) as poller:
        handle = poller.submit(req(2))
        assert poller.wait_all(30)
    row = log.get_by_ref(handle)
    assert row["state"] == "failed" and row["err_code"] == "Unauthorized"
    assert "wrong-key" not in str(row)


def test_callbacks_errors_are_not_fatal_and_unsubscribe_works(sim, client, log):
    seen: list[str] = []

    def broken(event):
        raise RuntimeError("subscriber bug")

    with Poller(client, log, cache=False) as poller:
        poller.subscribe(broken)
        stop_seeing = poller.subscribe(lambda e: seen.append(e.new_state))
        poller.submit(req(0))
        assert poller.wait_all(30)
        stop_seeing()
        count = len(seen)
        poller.submit(req(1))
        assert poller.wait_all(30)
    assert "success" in seen and len(seen) == count
    assert (log.df["state"] == "success").all()


def test_foreground_never_waits_on_a_slow_service(sim, client, log):
    sim.faults.add("slow", delay=1.0)
    with Poller(client, log, cache=False) as poller:
        started = time.perf_counter()
        for i in range(3):
            poller.submit(req(i))
            poller.track("123456")
        foreground = time.perf_counter() - started
        time.sleep(0.2)
        stopped = time.perf_counter()
        poller.stop(timeout=5)
        assert not poller._thread.is_alive()
    # submit/track only touch memory: far below one slow answer (relative, not absolute)
    assert foreground < 0.5 < 1.0
    assert time.perf_counter() - stopped < 5


def test_bad_arguments():
    with pytest.raises(ValueError, match="policy"):
        Poller(None, None, policy="eager")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_running"):
        Poller(None, None, max_running=0)  # type: ignore[arg-type]


def test_slow_answers_do_not_delay_other_due_checks(sim, log, monkeypatch):
    monkeypatch.setattr(sim_server.Handler, "disable_nagle_algorithm", True)
    delay = 1.5
    with ViduClient.for_simulator(sim) as c:
        tasks = [c.submit(req(i)) for i in range(9)]
    slow, fast = tasks[:3], tasks[3:]
    for t in slow:  # the first check of each of these hangs, occupying 3 of 4 HTTP workers
        sim.faults.add("slow", count=1, method="GET", path=f"/tasks/{t.id}/", delay=delay)
    seen: dict[str, float] = {}

    def note(event: PollerEvent) -> None:
        if event.task_id:
            seen.setdefault(f"{event.task_id}:{event.new_state}", time.perf_counter())

    with ViduClient.for_simulator(sim) as client, Poller(client, log, cache=False) as poller:
        poller.subscribe(note)
        began = time.perf_counter()
        for t in tasks:
            poller.track(t.id)
        assert poller.wait_all(60)
        took = time.perf_counter() - began
    first_slow_answer = min(v for k, v in seen.items() if k.split(":")[0] in {t.id for t in slow})
    assert all(seen[f"{t.id}:success"] < first_slow_answer for t in fast)
    assert took < 0.75 * len(slow) * delay  # the slow answers overlapped (sequential: 3x)


def test_timings_learned_from_the_log_survive_a_restart(sim, log_at):
    path = log_at("learn.sqlite")
    with ViduClient.for_simulator(sim) as first, TaskLog(path) as log:
        with Poller(first, log, cache=False, policy="submit_all") as poller:
            for i in range(4):
                poller.submit(req(i))
            assert poller.wait_all(60)
        # Learned while following: each task seen processing (on a loaded machine a task may
        # go from queued to done between two checks at this speed, and then teaches nothing).
        learned = len(poller.timing)
        assert learned >= 1
    with ViduClient.for_simulator(sim) as second, TaskLog(path) as log:
        assert len(second.timing) == 0  # a new kernel knows nothing...
        with Poller(second, log, cache=False) as poller:
            assert len(poller.timing) == learned  # ...until it reads the log
            # Learned from the times the log holds (as the poller saw them: at this speed a
            # loaded machine's lag is as long as the generation, so not the server's own).
            df = log.df.dropna(subset=["processing_at"])
            df = df[df["duration"] == df["duration"].iloc[0]]
            key = ("viduq3-pro", "720p", int(df["duration"].iloc[0]), False)
            span = poller.timing.duration(key)
            seen = (df["finished_at"] - df["processing_at"]).dt.total_seconds()
            assert span is not None and span[0] <= seen.max() * 1.5 and span[1] >= seen.min() * 0.5


def test_http_workers_are_bounded():
    with pytest.raises(ValueError, match="http_workers"):
        Poller(None, None, http_workers=0)  # type: ignore[arg-type]


def test_start_and_stop_racing_from_many_threads_leave_a_working_poller(sim, client, log):
    poller = Poller(client, log, cache=False)
    go = threading.Barrier(16)

    def flip(i: int) -> None:
        go.wait()
        for _ in range(5):
            poller.start() if i % 2 else poller.stop(timeout=5)

    threads = [threading.Thread(target=flip, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with poller:  # whatever order the race ended in, a last start gives a working poller
        handles = [poller.submit(req(i)) for i in range(3)]
        assert poller.wait_all(30)
    assert not poller._thread.is_alive()
    assert set(log.to_frame()["state"]) == {"success"} and len(handles) == 3
