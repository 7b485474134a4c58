"""A big task log must not slow the notebook down: views read what they show, not every row.

Work is counted, not timed: SQLite's progress handler counts the virtual-machine steps a
view makes the log run. The same view on a log ten times bigger must cost about the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vidu_nb import Img2VideoRequest
from vidu_nb.task import Task
from vidu_nb.tasklog import TaskLog
from vidu_nb.ui import form

SMALL, BIG = 300, 3000
#: Work on the big log may exceed the small log's by this factor, not by BIG / SMALL.
BOUNDED = 1.5


def grow(log: TaskLog, rows: int) -> None:
    """Copy the log's rows (new task ids, no events) until it holds ``rows`` tasks: a log
    weeks old, made in milliseconds. The copies come first, as older tasks."""
    with log._write() as conn:
        cols = [d[0] for d in conn.execute("SELECT * FROM tasks LIMIT 0").description]
        cols = [c for c in cols if c not in ("row_id", "task_id", "client_ref")]
        have = conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        n = 0
        while have < rows:
            n += 1
            conn.execute(
                f"INSERT INTO tasks (task_id, {', '.join(cols)}) SELECT"
                f" 'old{n}-' || row_id, {', '.join(cols)} FROM tasks LIMIT ?",
                (rows - have,),
            )
            have = conn.execute("SELECT COUNT(*) FROM tasks").fetchone()[0]
        # The copies stand before the real tasks: the real ones are the newest.
        conn.execute("UPDATE tasks SET row_id = -row_id WHERE task_id LIKE 'old%'")


def make_log(path: Path, rows: int, png: bytes) -> TaskLog:
    """``rows`` tasks: copies of 20 succeeded ones, then those 20 (seeds 0..19) and one that
    is still processing (``run``), each recorded through ``TaskLog`` as the poller does."""
    log = TaskLog(path)
    req = Img2VideoRequest(image=png, model="viduq2-turbo", duration=2)
    for i in range(20):
        log.record_submission(req.replace(seed=i), Task(id=f"t{i}", state="created", credits=9))
        log.update(Task(id=f"t{i}", state="success", credits=10 + i % 3, seed=i))
    grow(log, rows - 1)
    log.record_submission(req, Task(id="run", state="processing", credits=9))
    return log


@contextmanager
def counting(log: TaskLog) -> Iterator[list[int]]:
    """Counts SQLite VM steps (in hundreds) run on the log's connection meanwhile."""
    steps = [0]

    def tick() -> int:
        steps[0] += 1
        return 0

    log._db.set_progress_handler(tick, 100)
    try:
        yield steps
    finally:
        log._db.set_progress_handler(None, 100)


def work(log: TaskLog, fn: Callable[[], object]) -> int:
    with counting(log) as steps:
        fn()
    return steps[0]


@pytest.fixture
def logs(tmp_path, png_bytes) -> Iterator[tuple[TaskLog, TaskLog]]:
    small = make_log(tmp_path / "small.sqlite", SMALL, png_bytes)
    big = make_log(tmp_path / "big.sqlite", BIG, png_bytes)
    try:
        yield small, big
    finally:
        small.close()
        big.close()


def assert_bounded(small: int, big: int) -> None:
    assert big <= BOUNDED * small + 20, f"work grows with the log: {small} -> {big} (x100 steps)"


def test_the_logs_are_what_the_tests_think(logs):
    small, big = logs
    assert (len(small), len(big)) == (SMALL, BIG)
    assert small.df["task_id"].iloc[-1] == "run" and big.df["task_id"].iloc[-2] == "t19"


def test_seed_choices_read_only_the_newest_finished_tasks(logs):
    forms = [form(None, log) for log in logs]
    for f in forms:  # newest first, as before: the 20 real tasks, then the copies
        assert [seed for _label, seed in f.reuse.options][:3] == [19, 18, 17]
        assert len(f.reuse.options) == 30
        assert f.reuse.value == 19
    small, big = (work(f.session.log, f.refresh_seed_choices) for f in forms)
    assert_bounded(small, big)
