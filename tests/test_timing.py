"""Learned processing times (pure arithmetic) and reading them back from a real task log."""

from __future__ import annotations

import sqlite3

import pytest
from conftest import make_image

from vidu_nb.client.task import Task
from vidu_nb.client.timing import Timing, Watch, history, make_key, task_key
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog

K5 = ("viduq3-pro", "720p", 5, False)


def test_nothing_known_means_no_prediction():
    t = Timing()
    assert t.duration(K5) is None and t.duration(None) is None
    w = Watch(K5)
    w.seen("processing", 3.0)
    assert t.forecast(w, 4.0) is None


def test_a_setting_s_times_give_its_spread():
    t = Timing(margin=0)
    for low, high in [(30, 45), (35, 50), (28, 41), (33, 44)]:
        t.observe(K5, low, high)
    curve = t.durations(K5)
    # Each interval's weight goes where the others agree (33-44), not evenly over 28-50.
    assert curve.quantile(0.1) >= 33 and curve.quantile(0.75) <= 44.5
    assert len(t) == 4


def running(t: Timing, key, started: float, seen_at: float) -> Watch:
    """A task of ``key`` seen waiting just before ``started``, processing since, last seen
    running at ``seen_at``."""
    w = Watch(key)
    w.seen("queueing", started - 0.01)
    w.seen("processing", started)
    t.learn(w, "processing", started)
    w.seen("processing", seen_at)
    t.learn(w, "processing", seen_at)
    return w


def test_running_tasks_count_as_longer_than_they_have_run():
    """A batch's quick tasks finish first: learning from them alone says "20-30 s" while half
    the batch has been running for 60 s. Counting those as "longer than 60 s" keeps the
    estimate where the evidence is."""
    censored, finished_only = Timing(), Timing()
    for i, took in enumerate([20, 22, 25, 27, 30]):
        for t in (censored, finished_only):
            w = running(t, K5, float(i), float(i))
            w.seen("success", i + took)
            t.learn(w, "success", i + took)
    for i in range(5):
        running(censored, K5, 10.0 + i, 10.0 + i + 60.0)
    assert finished_only.durations(K5).quantile(0.5) < 30
    assert censored.durations(K5).quantile(0.5) > 60
    assert len(censored) == 5  # running tasks are bounds, not finished observations


def test_a_task_still_running_with_its_batch_is_not_due_at_once():
    """The herding of issue 9: 200 tasks of one setting run together; the 20 quickest ended
    at 20-25 s. A forecast learned from those alone said every other task was overdue, and
    all were checked densely. Now the ones still running say the rest take longer: a task
    at 26 s is next checked a few seconds later, not at once and not every half second."""
    t = Timing()
    for i in range(20):
        w = running(t, K5, 0.0, 19.5 + i / 4)
        w.seen("success", 20.0 + i / 4)
        t.learn(w, "success", 20.0 + i / 4)
    watches = [running(t, K5, 0.0, 25.9) for _ in range(180)]
    w = watches[-1]
    w.seen("processing", 26.0)
    t.learn(w, "processing", 26.0)
    f = t.forecast(w, 26.0)
    assert f.late > 20  # the rest of the batch ends well after now
    step = f.next_check(0.045)
    assert 1.0 < step < 26 * 0.5  # neither "due now" nor a blind sleep


def test_other_durations_are_interpolated_along_a_line():
    t = Timing(margin=0)
    for d in (2, 8, 12):  # processing = 8 + 3 x duration
        t.observe(("viduq3-pro", "720p", d, False), 8 + 3 * d)
    curve = t.durations(("viduq3-pro", "720p", 5, False))
    assert not t.knows(("viduq3-pro", "720p", 5, False))
    assert curve.quantile(0.5) == pytest.approx(23, rel=0.1)


def test_other_resolutions_are_scaled_widely():
    t = Timing()
    t.observe(("viduq3-pro", "720p", 4, False), 40.0)
    curve = t.durations(("viduq3-pro", "1080p", 4, False))  # 2.25x the pixels
    # 40 s x sqrt(2.25) = 60 s (time grows slower than work), in a wide window
    assert 35 < curve.quantile(0.1) < 60 < 70 < curve.quantile(0.75) < 100


def test_a_guess_from_other_settings_never_means_a_long_sleep():
    t = Timing()
    t.observe(("viduq3-pro", "540p", 1, False), 9.0)  # mostly fixed overhead: 4x1080p is ~30 s
    w = Watch(("viduq3-pro", "1080p", 4, False))
    w.seen("queueing", 0.0)
    w.seen("processing", 1.0)
    f = t.forecast(w, 1.0)
    assert f.early < 30 * 1.1  # scaled by the square root of the work, not by the work (4x)
    assert f.next_check(0.045) < 30 * 1.1


def test_watch_brackets_start_and_finish_and_learns_successes_only():
    t = Timing(margin=0)
    w = Watch(K5)
    w.seen("created", 0.0)
    w.seen("queueing", 5.0)
    w.seen("processing", 9.0)  # started in (5, 9]: counted from 7
    assert w.origin == 7.0 and w.checks == 3
    w.seen("processing", 47.0)
    assert t.forecast(w, 10.0) is None  # nothing learned yet
    assert t.learn(w, "success", 48.0)  # finished in (47, 48]: news, the setting's first
    assert 40.0 <= t.durations(K5).quantile(0.4) <= 41.0
    other = Watch(K5)
    other.seen("queueing", 100.0)
    other.seen("processing", 102.0)
    f = t.forecast(other, 110.0)
    assert f.elapsed == pytest.approx(9.0) and f.early < 40 - 9 < f.late
    failed = Watch(("viduq1", "1080p", 5, False))
    failed.seen("queueing", 0.0)
    failed.seen("processing", 1.0)
    t.learn(failed, "processing", 1.0)
    assert not t.learn(failed, "failed", 2.0)  # ended early: not a processing time
    assert not t.knows(("viduq1", "1080p", 5, False))  # scaled from K5, not learned
    assert len(t) == 1


def test_a_new_batch_keeps_the_last_one_until_it_is_done():
    """The window is by start: while a new batch runs, its quick tasks have ended and its
    slow ones have not; only the batch before says how the slow ones end."""
    t = Timing(window=10)
    for took in range(60, 110, 5):
        t.observe(K5, took)
    batch = [running(t, K5, 200.0, 201.0) for _ in range(10)]
    for i, w in enumerate(batch[:8]):  # 8 of the new batch end quickly
        w.seen("success", 220.0 + i)
        t.learn(w, "success", 220.0 + i)
    assert t.durations(K5).quantile(0.9) > 60  # the old batch still counts
    for i, w in enumerate(batch[8:]):
        w.seen("success", 230.0 + i)
        t.learn(w, "success", 230.0 + i)
    assert t.durations(K5).quantile(0.75) < 40 and len(t) == 10  # now only the new one


def test_keys_from_tasks_and_rows():
    task = Task.from_response(
        {"task_id": "1", "model": "viduq3-pro", "resolution": "720p", "duration": 5}
    )
    assert task_key(task) == ("viduq3-pro", "720p", 5, False)
    assert task_key(Task(id="2")) is None
    assert make_key("viduq3-pro", "720p", None, False) is None


def test_history_reads_successes_of_the_same_service_from_a_log(tmp_path):
    req = Img2VideoRequest(image=make_image(64, 48), duration=4, resolution="1080p")
    with TaskLog(tmp_path / "t.sqlite") as log:
        for i, url in enumerate(["http://a", "http://a", "http://b"]):
            echo = {"task_id": str(i), "model": "viduq3-pro", "resolution": "1080p", "duration": 4}
            task = Task.from_response(echo)
            log.record_submission(req, task, base_url=url)
            for state in ("queueing", "processing", "success"):
                log.update(Task.from_response({"id": str(i), "state": state}, previous=task))
        log.update(Task.from_response({"id": "9", "state": "processing"}))  # unfinished
        rows = history(log.timing_history("http://a"))
        assert len(rows) == 2 and len(history(log.timing_history())) == 3
        assert log.timing_history(limit=1) == log.timing_history()[-1:]  # the newest ones
        learned = Timing()
        assert learned.learn_history(log.timing_history("http://b")) == 1 and len(learned) == 1
    assert {k for k, _ in rows} == {("viduq3-pro", "1080p", 4, False)}
    assert all(seconds > 0 for _, seconds in rows)
    assert history([]) == []


def test_record_keys_the_watch_from_the_answer_and_learns_successes():
    t = Timing(margin=0)
    echo = {"task_id": "1", "model": "viduq3-pro", "resolution": "720p", "duration": 5}
    w = Watch(None)
    for sent, state in [(0.0, "queueing"), (4.0, "processing"), (40.0, "processing")]:
        t.record(w, Task.from_response({**echo, "state": state}), sent, sent + 1)
    assert w.key == K5 and len(t) == 0 and t.durations(K5) is None  # running: a bound only
    t.record(w, Task.from_response({**echo, "state": "success"}), 44.0, 45.0)
    # started in (0, 5] (counted from 2.5), ended in (40, 45]; one task is weak evidence
    assert 37.5 <= t.durations(K5).quantile(0.3) <= t.durations(K5).quantile(0.5) <= 42.5


def test_history_leaves_out_times_that_span_a_restart(tmp_path):
    """A task seen processing before a kernel restart and finished after it looks as long as
    the restart took; learning that would make later checks needlessly sparse."""
    req = Img2VideoRequest(image=make_image(64, 48), duration=4, resolution="1080p")
    seconds = [40.0, 42.0, 41.0, 39.0, 900.0, 2 * 3600.0]  # the last two spanned restarts
    with TaskLog(tmp_path / "t.sqlite") as log:
        for i in range(len(seconds)):
            echo = {"task_id": str(i), "model": "viduq3-pro", "resolution": "1080p", "duration": 4}
            task = Task.from_response(echo)
            log.record_submission(req, task)
            for state in ("processing", "success"):
                log.update(Task.from_response({"id": str(i), "state": state}, previous=task))
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:  # as a restart would have left them
        for i, s in enumerate(seconds):
            conn.execute(
                "UPDATE tasks SET finished_at = processing_at + ? WHERE task_id = ?", (s, str(i))
            )
    conn.close()
    with TaskLog(tmp_path / "t.sqlite") as log:
        rows = log.timing_history()
    assert sorted(s for _, s in history(rows)) == [39.0, 40.0, 41.0, 42.0]
    learned = Timing(margin=0)
    learned.learn_history(rows)
    curve = learned.durations(("viduq3-pro", "1080p", 4, False))
    assert 39.0 <= curve.quantile(0.1) <= curve.quantile(0.75) <= 42.0


def test_sub_second_jitter_of_a_fast_simulator_is_no_restart_gap():
    from vidu_nb.client.timing import _without_gaps

    key = ("viduq3-pro", "1080p", 4, False)
    rows = [(key, 0.0004), (key, 0.0004), (key, 0.0015), (key, 2.0)]
    assert _without_gaps(rows) == rows


def test_history_ignores_failed_and_cancelled_rows(tmp_path):
    """Failed and cancelled tasks end early (a policy refusal after 2 s, a cancel mid-way):
    learning their times would make every later task of the setting look overdue."""
    req = Img2VideoRequest(image=make_image(64, 48), duration=4, resolution="1080p")
    echo = {"model": "viduq3-pro", "resolution": "1080p", "duration": 4}
    ends = {"ok-0": "success", "ok-1": "success", "bad-0": "failed", "bad-1": "failed"}
    ends |= {"gone-0": "cancelled", "ok-2": "Success"}  # the service's raw spelling is kept
    with TaskLog(tmp_path / "t.sqlite") as log:
        for tid, end in ends.items():
            task = Task.from_response({"task_id": tid, **echo})
            log.record_submission(req, task)
            log.update(Task.from_response({"id": tid, "state": "processing"}, previous=task))
            if end == "cancelled":
                log.set_state(tid, "cancelled")
            else:
                log.update(Task.from_response({"id": tid, "state": end}, previous=task))
    with sqlite3.connect(tmp_path / "t.sqlite") as conn:  # successes took 40 s, the rest 2 s
        for tid, end in ends.items():
            took = 40.0 if end.lower() == "success" else 2.0
            conn.execute(
                "UPDATE tasks SET finished_at = processing_at + ? WHERE task_id = ?", (took, tid)
            )
        states = dict(conn.execute("SELECT task_id, state FROM tasks"))
    conn.close()
    assert states == ends  # the rows really are in the log as failed and cancelled
    with TaskLog(tmp_path / "t.sqlite") as log:
        stored = log.timing_history()
    rows = history(stored)
    assert [s for _, s in rows] == [40.0, 40.0, 40.0]
    learned = Timing(margin=0)
    assert learned.learn_history(stored) == 3
    curve = learned.durations(("viduq3-pro", "1080p", 4, False))
    assert 38.0 <= curve.quantile(0.1) <= curve.quantile(0.7) <= 42.0
