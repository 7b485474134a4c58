"""A big task log must not slow the notebook down: views read what they show, not every row.

Work is counted, not timed: SQLite's progress handler counts the virtual-machine steps a
view makes the log run. The same view on a log ten times bigger must cost about the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from vidu_nb import Img2VideoRequest
from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.ledger import Ledger, ledger_for
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.poller.events import PollerEvent
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import credits_table, credits_view, form

SMALL, BIG = 300, 3000
#: Work on the big log may exceed the small log's by this factor, not by BIG / SMALL.
BOUNDED = 1.5


def grow(log: TaskLog, rows: int, *, older: bool = True) -> None:
    """Copy the log's rows (new task ids, no events) until it holds ``rows`` tasks: a log
    weeks old, made in milliseconds. ``older``: the copies come first, as older tasks (else
    they are appended, as a bulk import would)."""
    with log._store.write():
        conn = log._store.connection
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
        if older:  # the copies stand before the real tasks: the real ones are the newest
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

    log._store.connection.set_progress_handler(tick, 100)
    try:
        yield steps
    finally:
        log._store.connection.set_progress_handler(None, 100)


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


def learned_from(f) -> int:
    """How many charged tasks the form's estimate says it learned from."""
    found = re.search(r"learned from (\d+) task", f.estimate_html.value)
    assert found, f.estimate_html.value
    return int(found.group(1))


def finish(log: TaskLog, png: bytes, task_id: str, credits: int, **settings) -> None:
    """A task submitted and followed to success, as the poller records it."""
    req = Img2VideoRequest(image=png, model="viduq2-turbo", duration=2, **settings)
    log.record_submission(req, Task(id=task_id, state="created", credits=credits))
    log.update(Task(id=task_id, state="processing", credits=credits))
    log.update(Task(id=task_id, state="success", credits=credits, seed=7))


def test_the_estimate_does_not_reread_the_log_after_each_write(logs, png_bytes):
    """A poller writes every few seconds; the form asks for an estimate on each keystroke."""
    for f in (forms := [form(None, log) for log in logs]):
        f.state.image_data = png_bytes
        f.state.model, f.state.duration = "viduq2-turbo", 2
        assert learned_from(f) == len(f.session.log) - 1  # all but the running task
    costs = []
    for f in forms:
        log = f.session.log
        log.update(Task(id="run", state="queueing", credits=9))  # a poll that changed something
        costs.append(work(log, lambda f=f: setattr(f.state, "prompt", "a new prompt")))
    assert_bounded(*costs)
    costs = []
    for f in forms:
        log = f.session.log
        finish(log, png_bytes, "new", 40)
        costs.append(work(log, lambda f=f: setattr(f.state, "prompt", "another prompt")))
        assert learned_from(f) == len(log) - 1
    assert_bounded(*costs)


def test_a_success_event_updates_card_choices_and_estimate_without_reading_the_log(
    logs, png_bytes, tmp_path
):
    costs = []
    with Simulator(speed=100, video_height=96) as sim:
        client = ViduClient(api_key=sim.api_key, base_url=sim.base_url)
        for log in logs:
            poller = Poller(client, log, cache=False)  # not started: the events come by hand
            f = form(client, log, poller)
            f.state.image_data = png_bytes
            f.state.model, f.state.duration = "viduq2-turbo", 2
            card = f.add_card("run")
            log.update(Task(id="run", state="success", credits=30, seed=99))
            event = PollerEvent("h", "run", "processing", "success")
            costs.append(work(log, lambda e=event, f=f: f.session.hub.on_event(e)))
            assert card.view.state == "success"
            assert f.reuse.options[0][1] == 99 and f.reuse.value == 99
            assert learned_from(f) == len(log)
    assert_bounded(*costs)


def test_the_learned_table_follows_every_change_as_a_recount_would(log, png_bytes):
    """Kept up to date step by step, the table always equals a fresh full recount."""
    led = ledger_for(log)

    def same() -> None:
        assert led.learned() == Ledger(log).learned()

    same()
    finish(log, png_bytes, "a", 10)
    same()
    finish(log, png_bytes, "b", 13)
    finish(log, png_bytes, "c", 12, off_peak=True)
    same()
    assert led.learned()[("viduq2-turbo", "720p", 2, False, False)] == (12, 2)  # 11.5 up
    # The same finished task recorded again is one task, not two.
    req = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    log.record_submission(req, Task(id="a", state="success", credits=10))
    same()
    # A succeeded task that leaves success (set by hand) no longer counts.
    log.set_state("b", "cancelled")
    same()
    assert led.learned()[("viduq2-turbo", "720p", 2, False, False)] == (10, 1)
    # Writes from another process, and rows that never had events (bulk loaded).
    with TaskLog(log.path) as other:
        finish(other, png_bytes, "d", 16)
    same()
    grow(log, 40, older=False)
    same()
    finish(log, png_bytes, "e", 10)
    same()
    # Writes that keep the state change nothing; a failure teaches nothing.
    log.update(Task(id="e", state="success", credits=10, seed=3))
    log.set_files("e", log.path.parent / "e.mp4")
    log.record_submission(req, Task(id="f", state="created", credits=10))
    log.update(Task(id="f", state="failed", credits=0))
    same()


def test_pending_reads_the_unfinished_tasks_only(logs, png_bytes):
    """``resume`` follows what is unfinished; on a big log that is a handful of rows."""
    costs = []
    for log in logs:
        req = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        log.record_submission(req, Task(id="later", state="queueing"))
        log.update(Task(id="odd", state="paused"))  # a state a later service may add
        log.update(Task(id="gone", state="failed"))
        assert log.pending() == ["run", "later", "odd"]
        costs.append(work(log, log.pending))
    assert_bounded(*costs)


@contextmanager
def statements(log: TaskLog) -> Iterator[list[str]]:
    """The SQL run on the log's connection meanwhile (``sqlite3`` statement trace)."""
    seen: list[str] = []
    log._store.connection.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        log._store.connection.set_trace_callback(None)


def test_the_credits_view_reads_the_log_once_and_only_the_columns_it_sums(log, png_bytes):
    finish(log, png_bytes, "a", 10)
    finish(log, png_bytes, "b", 30)
    with statements(log) as seen:
        view = credits_view(log)
    reads = [s for s in seen if "FROM tasks" in s and "LIMIT 0" not in s]
    assert len(reads) == 1, reads  # one table and four charts: one read
    assert "SELECT *" not in reads[0] and "prompt" not in reads[0]
    assert "40" in view.children[0].value
    # A change of the log is seen at once, and other filters are other figures.
    finish(log, png_bytes, "c", 5)
    assert credits_table(log).data.loc["viduq2-turbo", "credits"] == 45
    assert credits_table(log, experiment="none").data.empty
    assert credits_table(log).data.loc["viduq2-turbo", "credits"] == 45
