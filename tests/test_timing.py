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


def test_intervals_of_one_setting_are_intersected():
    t = Timing(margin=0)
    for low, high in [(30, 45), (35, 50), (28, 41), (33, 44)]:
        t.observe(K5, low, high)
    lo, hi = t.duration(K5)
    assert 33 <= lo <= 35 and 41 <= hi <= 44 and hi - lo < 10


def test_disagreeing_observations_give_an_honest_wide_window():
    t = Timing(margin=0)
    for x in (20, 40, 60, 30, 50):
        t.observe(K5, x)
    lo, hi = t.duration(K5)
    assert lo <= 25 and hi >= 55


def test_other_durations_are_interpolated_along_a_line():
    t = Timing(margin=0)
    for d in (2, 8, 12):  # processing = 8 + 3 x duration
        t.observe(("viduq3-pro", "720p", d, False), 8 + 3 * d)
    lo, hi = t.duration(("viduq3-pro", "720p", 5, False))
    assert lo == pytest.approx(23, abs=0.5) and hi == pytest.approx(23, abs=0.5)


def test_other_resolutions_are_scaled_by_pixels_widely():
    t = Timing()
    t.observe(("viduq3-pro", "720p", 4, False), 40.0)
    lo, hi = t.duration(("viduq3-pro", "1080p", 4, False))  # 2.25x the pixels
    assert lo < 90 < hi and hi - lo >= 80


def test_a_guess_from_other_settings_never_means_a_long_sleep():
    t = Timing()
    t.observe(("viduq3-pro", "540p", 1, False), 9.0)  # mostly fixed overhead: 4x1080p is ~30 s
    w = Watch(("viduq3-pro", "1080p", 4, False))
    w.seen("queueing", 0.0)
    w.seen("processing", 1.0)
    f = t.forecast(w, 1.0)
    assert f.early <= 0 < f.late  # checked from the start, at a pace set by the guess


def test_watch_brackets_start_and_finish_and_learns_successes_only():
    t = Timing(margin=0)
    w = Watch(K5)
    w.seen("created", 0.0)
    w.seen("queueing", 5.0)
    w.seen("processing", 9.0)  # started in (5, 9]
    w.seen("processing", 47.0)
    assert t.forecast(w, 10.0) is None  # nothing learned yet
    t.learn(w, "success", 48.0)  # finished in (47, 48]: D in (38, 43)
    assert t.duration(K5) == pytest.approx((38.0, 43.0))
    other = Watch(K5)
    other.seen("queueing", 100.0)
    other.seen("processing", 102.0)
    f = t.forecast(other, 110.0)
    assert f.early == pytest.approx(100 + 38 - 110) and f.late == pytest.approx(102 + 43 - 110)
    failed = Watch(("viduq1", "1080p", 5, False))
    failed.seen("queueing", 0.0)
    failed.seen("processing", 1.0)
    t.learn(failed, "failed", 2.0)
    assert t.duration(("viduq1", "1080p", 5, False)) is not None  # scaled, not learned
    assert len(t) == 1


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
    assert w.key == K5 and len(t) == 0
    t.record(w, Task.from_response({**echo, "state": "success"}), 44.0, 45.0)
    assert t.duration(K5) == pytest.approx((35.0, 45.0))  # started (0, 5], ended (40, 45]


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
    low, high = learned.duration(("viduq3-pro", "1080p", 4, False))
    assert 39.0 <= low <= high <= 42.0


def test_sub_second_jitter_of_a_fast_simulator_is_no_restart_gap():
    from vidu_nb.client.timing import _without_gaps

    key = ("viduq3-pro", "1080p", 4, False)
    rows = [(key, 0.0004), (key, 0.0004), (key, 0.0015), (key, 2.0)]
    assert _without_gaps(rows) == rows
