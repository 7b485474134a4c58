"""The work a first end costs the poller (issue 9's kernel target): curves are rebuilt only
when what they rest on changed, and a pull-in works out its new check times without the
poller's lock, a bounded batch at a time. Counted in rebuilt curves, moved checks and lock
holds, never in milliseconds."""

from __future__ import annotations

import threading

from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.client.timing import Timing, Watch
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.poller.due import DueChecks, Tracked

K5 = ("viduq3-pro", "720p", 5, False)


def started(t: Timing, key, at: float) -> Watch:
    w = Watch(key)
    w.seen("queueing", at - 0.5)
    w.seen("processing", at)
    t.learn(w, "processing", at)
    return w


def test_tasks_starting_keep_the_curve_they_cannot_change_yet():
    """200 tasks of a known setting starting together: each is a running task of no age, which
    says nothing yet; the curve is not rebuilt for each (it is once they have run a while)."""
    t = Timing()
    for took in (30, 32, 35, 31):
        t.observe(K5, took)
    watches = [started(t, K5, 100.0)]
    curve = t.durations(K5)
    watches += [started(t, K5, 100.0) for _ in range(199)]
    assert t.durations(K5) is curve
    for w in watches:  # all of them seen running 40 s: longer than anything finished
        w.seen("processing", 140.0)
        t.learn(w, "processing", 140.0)
    assert t.durations(K5) is not curve and t.durations(K5).quantile(0.5) > 40


def test_a_guess_is_rebuilt_only_when_news_moves_it():
    """24 settings, one of them unknown (its curve a guess from its neighbours along the
    duration line). An end of another model's setting, or of the same line that leaves the
    guess where it was, keeps its curve; an end that moves the line rebuilds it."""
    t = Timing(margin=0)
    for d in (2, 3, 4, 6, 7, 8):
        t.observe(("viduq3-pro", "720p", d, False), 8 + 3 * d)
    t.observe(("viduq3-turbo", "1080p", 4, False), 20.0)
    curve = t.durations(K5)
    assert not t.knows(K5) and curve is not None
    t.observe(("viduq3-turbo", "1080p", 4, False), 21.0)  # not on its line
    t.observe(("viduq3-pro", "720p", 4, False), 20.0)  # on the line, as before
    assert t.durations(K5) is curve
    for _ in range(6):
        t.observe(("viduq3-pro", "720p", 6, False), 40.0)  # the line moves up
    assert t.durations(K5) is not curve
    assert t.durations(K5).quantile(0.5) > curve.quantile(0.5)


def test_a_moved_check_leaves_tasks_checked_or_rescheduled_meanwhile():
    """A pull-in picks tasks under the lock and moves them after working out new times
    without it: a task that became due (and may be being checked) or was rescheduled in
    between keeps what it has; the others move, and only earlier."""
    due = DueChecks()
    trs = [Tracked(str(i), str(i), 0.0, state="processing") for i in range(4)]
    for tr in trs:
        due.at(tr, 50.0)
    picked = due.candidates(10.0, lambda tr: True)
    assert [tr for tr, _ in picked] == trs
    due.at(trs[1], 60.0)  # rescheduled by its own check meanwhile
    due.drop(trs[2].task_id)  # finished meanwhile
    moves = [due.move(tr, seen, 20.0, 10.0) for tr, seen in picked[:3]]
    assert moves == [True, False, False]
    assert not due.move(trs[3], picked[3][1], 55.0, 10.0)  # later: stays at 50
    assert not due.move(trs[3], picked[3][1], 20.0, 50.0)  # due by now: being checked
    assert (trs[0].due, trs[1].due, trs[3].due) == (20.0, 60.0, 50.0)


class Recording(Timing):
    """A real ``Timing`` that notes, for each forecast, whether the poller's lock was held
    by the thread asking, and how many forecasts each hold of the lock saw."""

    def __init__(self) -> None:
        super().__init__()
        self.cond: threading.Condition | None = None
        self.unlocked = 0
        self.locked = 0

    def forecast(self, watch, now):
        assert self.cond is not None
        if self.cond._is_owned():  # type: ignore[attr-defined]
            self.locked += 1
        else:
            self.unlocked += 1
        return super().forecast(watch, now)


def test_next_checks_are_worked_out_without_the_poller_lock(log):
    """Cold, 40 tasks of one setting processing together: each check plans the next one, and
    the first end seen moves the others' checks. All those forecasts (a curve rebuilt now and
    then: pure arithmetic) are made with the poller's lock free, so the scheduler and the
    kernel's calls on the poller never wait on them (pull-ins ``PULL_BATCH`` at a time)."""
    image = make_image(160, 120)
    timing = Recording()
    with (
        Simulator(speed=20, video_height=48, concurrency=40, seed=3) as sim,
        ViduClient.for_simulator(sim) as client,
    ):
        poller = Poller(client, log, cache=False, timing=timing, policy="submit_all")
        timing.cond = poller._cond
        with poller:
            reqs = [Img2VideoRequest(image=image, seed=i, duration=2) for i in range(40)]
            poller.submit_many(reqs)
            assert poller.wait_all(120)
    assert len(timing) == 40
    assert timing.unlocked >= 40 and timing.locked == 0


def test_a_status_check_that_says_nothing_new_writes_nothing(log, png_bytes):
    """Every GET answer carries a new trace id; a check of a task still running wrote its row
    (and synced the file) only to keep that id. Now a check writes only what changed: the
    state, its time, the URLs, an error; the trace ids of the submission and of each change
    stay among the last 20 instead of being pushed out by routine checks."""
    request = Img2VideoRequest(image=png_bytes, duration=4)
    log.record_submission(request, Task(id="t1", credits=120, trace_ids=("submit",)))
    assert log.update(Task(id="t1", state="processing", trace_ids=("start",)))
    conn = log._store.connection
    before = conn.total_changes
    for i in range(30):
        assert not log.update(Task(id="t1", state="processing", trace_ids=(f"check-{i}",)))
    assert conn.total_changes == before  # not one row written
    assert log.update(Task(id="t1", state="failed", err_code="E", trace_ids=("end",)))
    assert log.get("t1")["trace_ids"] == ["submit", "start", "end"]
