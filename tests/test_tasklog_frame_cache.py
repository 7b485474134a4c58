"""``log.df`` is kept between reads and patched with the rows that changed: it must always
equal a fresh read of every row, see every writer's changes, stay the caller's own to change,
and cost work in proportion to the change, not to the log (steps are counted, not timed)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pandas as pd
import pytest
import stores
from test_big_log_costs import BOUNDED, counting, grow

from vidu_nb.client.task import Creation, Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog, frame, framesnapshot

pytestmark = pytest.mark.stores

FULL_READ = "SELECT * FROM tasks ORDER BY row_id"


@pytest.fixture
def request_(png_bytes) -> Img2VideoRequest:
    return Img2VideoRequest(image=png_bytes, prompt="a heron, 'wading'\nat dawn", seed=3)


def fresh(log: TaskLog) -> pd.DataFrame:
    """Every row read again (on a connection of its own) and converted the general way:
    what ``log.df`` must equal."""
    with stores.by_hand(log) as conn:
        cur = conn.execute(FULL_READ)
        rows = cur.fetchall()
        names = [d[0] for d in cur.description]
    return frame.records_frame(rows, names)


def same(log: TaskLog) -> pd.DataFrame:
    df = log.df
    pd.testing.assert_frame_equal(df, fresh(log))
    return df


statements = stores.statements


def full_reads(seen: list[str]) -> int:
    return sum(s.strip() == FULL_READ for s in seen)


def test_the_frame_equals_a_fresh_read_after_every_kind_of_change(log, request_, tmp_path):
    log.record_submission(request_, Task(id="t0", credits=10), experiment="a", tags=["x"])
    same(log)  # the first read reads everything; from here on only the changes
    done = Creation("c", "https://cdn.example.com/v.mp4?sig=1", "https://cdn.example.com/c.jpg")
    changes = [
        lambda: log.update(Task(id="t0", state="queueing", trace_ids=("tr-1",))),
        lambda: log.update(Task(id="t0", state="processing")),
        lambda: log.note_error("t0", "HTTP 502"),
        lambda: log.update(Task(id="t0", state="success", credits=12, seed=9, creations=(done,))),
        lambda: log.set_files("t0", tmp_path / "t0.mp4", tmp_path / "t0.jpg"),
        lambda: log.tag("t0", tags=["best"], notes="keep this one"),
        lambda: log.record_submission(
            request_.replace(model="viduq2-pro", off_peak=True), Task(id="t1"), experiment="b"
        ),
        lambda: log.update(Task(id="t2", state="processing", model="viduq1")),  # tracked by id
        lambda: log.set_state("t1", "cancelled", "by hand"),
        lambda: log.record_uncertain(request_, "ref-1", "read timeout", experiment="c"),
        lambda: log.reconcile("ref-1", Task(id="t3", state="queueing")),
        lambda: log.record_queued_many(
            [(request_.replace(seed=s), f"q{s}") for s in range(3)], owner="me", experiment="d"
        ),
        lambda: log.cancel_queued("q1"),
        lambda: log.update(Task(id="t2", state="failed", err_code="AuditSubmitIllegal")),
    ]
    with statements(log) as seen:
        for change in changes:
            change()
            same(log)
    assert full_reads(seen) == 0, "a change re-read the whole log"
    df = log.df
    assert list(df["state"].cat.categories) == sorted(set(df["state"]))  # no stale labels
    assert df.loc[1, "video_url"] == done.url and df.loc[1, "notes"] == "keep this one"


def by_hand(log: TaskLog, *sql: str) -> None:
    """Statements run on a connection of their own (the sqlite3 shell, psql, an older
    vidu-nb)."""
    with stores.by_hand(log) as conn:
        for statement in sql:
            conn.execute(statement)


def test_changes_by_hand_are_seen_and_odd_ones_read_everything_again(log, request_):
    for i in range(4):
        log.record_submission(request_, Task(id=f"t{i}", credits=i), experiment="a")
    same(log)
    # SQLite: a number in a text column, converted as a fresh read converts it
    number = "42" if stores.is_sqlite(log) else "'42'"
    by_hand(log, f"UPDATE tasks SET prompt = {number}, experiment = 'z', credits = NULL")
    with statements(log) as seen:
        same(log)
    assert full_reads(seen) == 0
    events_of = "DELETE FROM events WHERE task_id = '{}'"  # what references the row goes first
    by_hand(log, events_of.format("t1"), "DELETE FROM tasks WHERE task_id = 't1'")
    with statements(log) as seen:
        assert list(same(log)["task_id"]) == ["t0", "t2", "t3"]
    assert full_reads(seen) == 1  # a deleted row: read again rather than guessed
    by_hand(
        log,
        events_of.format("t3"),
        "UPDATE tasks SET row_id = -row_id WHERE task_id = 't3'",
        "ALTER TABLE tasks ADD COLUMN later INTEGER",
    )
    assert list(same(log)["task_id"]) == ["t3", "t0", "t2"] and "later" in log.df
    # A tool that drops the triggers: the schema changed, so all is read and they come back.
    drop = "task_changes_update" if stores.is_sqlite(log) else "task_changes_row ON tasks"
    by_hand(log, f"DROP TRIGGER {drop}", "UPDATE tasks SET notes = 'unseen'")
    assert set(same(log)["notes"]) == {"unseen"}
    by_hand(log, "UPDATE tasks SET notes = 'seen'")
    assert set(same(log)["notes"]) == {"seen"}
    # The change counter deleted: every read reads everything until the log is opened again.
    by_hand(log, "DELETE FROM log_meta", "UPDATE tasks SET notes = 'uncounted'")
    assert set(same(log)["notes"]) == {"uncounted"}
    by_hand(log, "UPDATE tasks SET notes = 'still read'")
    assert set(same(log)["notes"]) == {"still read"}
    with TaskLog(stores.target(log)) as reopened:
        by_hand(log, "UPDATE tasks SET notes = 'counted again'")
        assert set(same(reopened)["notes"]) == {"counted again"}
        by_hand(log, "UPDATE tasks SET notes = 'and followed'")
        with statements(reopened) as seen:
            assert set(same(reopened)["notes"]) == {"and followed"}
        assert full_reads(seen) == 0


WRITER = r"""
import sys
from vidu_nb.client.task import Task
from vidu_nb.tracking.tasklog import TaskLog
with TaskLog(sys.argv[1]) as log:
    log.update(Task(id="t1", state="success", credits=77))
    log.update(Task(id="other", state="processing", model="viduq1"))
"""


def test_another_process_writes_are_seen(log, request_):
    for i in range(3):
        log.record_submission(request_, Task(id=f"t{i}"))
    same(log)
    subprocess.run([sys.executable, "-c", WRITER, str(stores.target(log))], check=True, timeout=120)
    with statements(log) as seen:
        df = same(log)
    assert full_reads(seen) == 0
    assert df.loc[2, "state"] == "success" and df.loc[2, "credits"] == 77
    assert list(df["task_id"]) == ["t0", "t1", "t2", "other"]


def test_a_returned_frame_is_the_callers_own(log, request_):
    for i in range(3):
        log.record_submission(request_, Task(id=f"t{i}", credits=i), experiment="a")
    log.update(Task(id="t1", state="success", credits=5))
    df = log.df
    kept = df.copy()
    df.loc[1, "state"] = "success"
    df.iloc[0, df.columns.get_loc("credits")] = 999
    df["prompt"] = "changed"
    df["notes"].array[0] = "written into the array"
    df["credits"].array[1] = 1234
    df.update(pd.DataFrame({"seed_requested": [7, 7, 7]}, index=df.index))
    del df["experiment"]
    pd.testing.assert_frame_equal(log.df, kept)  # the cache was not touched
    earlier = log.df
    log.update(Task(id="t0", state="failed"))
    log.record_submission(request_, Task(id="t9"))
    pd.testing.assert_frame_equal(earlier, kept)  # a frame handed out earlier keeps its moment
    assert len(same(log)) == 4


def test_filters_still_read_sqlite_and_see_changes(log, request_):
    for i, exp in enumerate(["a", "b", "a"]):
        log.record_submission(request_, Task(id=f"t{i}"), experiment=exp, tags=[f"k{i}"])
    log.df  # noqa: B018 (cache warm)
    log.update(Task(id="t2", state="success", credits=3))
    log.record_submission(request_, Task(id="t3"), experiment="a")
    assert list(log.to_frame(experiment="a")["task_id"]) == ["t0", "t2", "t3"]
    assert list(log.to_frame(state="success")["task_id"]) == ["t2"]
    assert list(log.to_frame(columns=["credits"])["credits"].dropna()) == [3]


# -- work counted: a re-read costs the change, not the log ------------------------------------
SMALL, BIG = 300, 3000


@pytest.fixture
def logs(tmp_path, request_) -> Iterator[tuple[TaskLog, TaskLog]]:
    made = []
    for name, rows in (("small", SMALL), ("big", BIG)):
        log = TaskLog(tmp_path / f"{name}.sqlite")
        for i in range(5):
            log.record_submission(request_, Task(id=f"t{i}", credits=i), experiment="w")
        grow(log, rows)
        made.append(log)
    try:
        yield made[0], made[1]
    finally:
        for log in made:
            log.close()


def steps_and_statements(log: TaskLog, fn) -> tuple[int, list[str]]:
    with counting(log) as steps, statements(log) as seen:
        fn()
    return steps[0], seen


def test_a_reread_after_one_change_costs_the_same_on_a_big_log(logs, request_):
    costs: dict[str, list[int]] = {"unchanged": [], "changed": [], "appended": []}
    for log in logs:
        same(log)
        steps, seen = steps_and_statements(log, lambda log=log: log.df)
        assert len([s for s in seen if not s.startswith("--")]) == 1, seen  # one lookup
        costs["unchanged"].append(steps)
        log.update(Task(id="t3", state="processing"))
        costs["changed"].append(reread(log))
        log.record_submission(request_, Task(id="new"))
        costs["appended"].append(reread(log))
        same(log)
    for kind, (small, big) in costs.items():
        assert big <= BOUNDED * small + 20, f"{kind}: work grows with the log: {small} -> {big}"


def reread(log: TaskLog) -> int:
    """Steps of ``log.df`` after a change: the changed rows are read, never all of them."""
    steps, seen = steps_and_statements(log, lambda: log.df)
    assert full_reads(seen) == 0 and any("task_changes" in s for s in seen), seen
    return steps


def test_appending_costs_the_same_on_a_big_log(logs, request_):
    """The triggers that number each change keep a write O(1)."""
    costs = []
    for log in logs:
        with counting(log) as steps:
            log.record_submission(request_, Task(id="appended"))
            log.update(Task(id="appended", state="processing"))
        costs.append(steps[0])
    assert costs[1] <= BOUNDED * costs[0] + 20, costs


# -- a new kernel starts from the snapshot ----------------------------------------------------
@pytest.fixture
def snapshots(monkeypatch):
    """Snapshots for any log of 10 rows or more (big logs only, in use)."""
    monkeypatch.setattr(framesnapshot, "MIN_ROWS", 10)


def test_a_new_kernel_starts_from_the_snapshot_and_the_changes_since(log, request_, snapshots):
    for i in range(12):
        log.record_submission(request_, Task(id=f"t{i}", credits=i), experiment="s")
    same(log)
    log.close()  # waits for the snapshot, written in a thread
    snapshot = log.cache_dir / framesnapshot.NAME
    assert snapshot.is_file()
    with TaskLog(stores.target(log)) as other:  # another kernel changes the log meanwhile
        other.update(Task(id="t3", state="success", credits=30))
        other.record_submission(request_.replace(model="viduq1"), Task(id="late"))
    with TaskLog(stores.target(log)) as new:
        with statements(new) as seen:
            df = same(new)
        assert full_reads(seen) == 0  # the frame came from the file, the changes from the log
        assert df.loc[4, "credits"] == 30 and df["task_id"].iloc[-1] == "late"


def test_a_snapshot_that_does_not_match_the_log_is_ignored(
    tmp_path, request_, snapshots, monkeypatch
):
    def make(name: str, count: int) -> TaskLog:
        with TaskLog(tmp_path / f"{name}.sqlite") as log:
            for i in range(count):
                log.record_submission(request_, Task(id=f"{name}{i}"), experiment=name)
            same(log)
        return log  # closed: its snapshot is on disk

    first, second = make("first", 12), make("second", 15)
    # Another log's snapshot (the same path reused, a folder copied): not this log's rows.
    (second.cache_dir / framesnapshot.NAME).write_bytes(
        (first.cache_dir / framesnapshot.NAME).read_bytes()
    )
    with TaskLog(second.path) as again:
        assert list(same(again)["experiment"].unique()) == ["second"]
    # A damaged file is read past, and written again.
    (second.cache_dir / framesnapshot.NAME).write_bytes(b"ARROW1 half a file")
    with TaskLog(second.path) as again:
        assert len(same(again)) == 15
    with TaskLog(second.path) as again, statements(again) as seen:
        again.df  # noqa: B018
        assert full_reads(seen) == 0
    # A log put back from a copy older than the snapshot (same log, same schema).
    backup = first.path.read_bytes()
    with TaskLog(first.path) as later:
        for i in range(3):
            later.update(Task(id=f"first{i}", state="failed"))
        later.record_submission(request_, Task(id="after-backup"))
        monkeypatch.setattr(framesnapshot, "STALE_ROWS", 2)
        later.df  # noqa: B018 (4 rows changed since the snapshot: it is written again)
    first.path.write_bytes(backup)
    with TaskLog(first.path) as restored:
        df = same(restored)
        assert len(df) == 12 and set(df["state"]) == {"created"}
    # Rows changed while the triggers were gone (a tool that rebuilt the table).
    by_hand(first, "DROP TRIGGER task_changes_update", "UPDATE tasks SET notes = 'unseen'")
    with TaskLog(first.path) as reopened:
        assert set(same(reopened)["notes"]) == {"unseen"}
    # A new column: the old snapshot does not have it.
    by_hand(
        first,
        "ALTER TABLE tasks ADD COLUMN later INTEGER",
        "UPDATE tasks SET later = 4 WHERE task_id = 'first2'",
    )
    with TaskLog(first.path) as upgraded:
        assert same(upgraded)["later"].tolist().count(4) == 1


# -- the column-wise conversion equals the general one ----------------------------------------
@pytest.mark.parametrize(
    "rows",
    [
        [(1, "a", "x", 5, 1.5, 1, None, None)],
        [(1, None, None, None, None, None, None, None), (2, "b", "ü ☃", 0, 2.0, 0, 3, "t")],
        [(1, "a", 42, 7, 3, 2, 2.5, 8), (2, "a", b"raw", None, None, None, None, None)],
    ],
)
def test_column_wise_conversion_equals_the_general_one(rows):
    """Odd values stored by hand (a number or bytes in a text column, a float in a column of
    another release) come out as the general path makes them."""
    columns = ["row_id", "model", "prompt", "credits", "submitted_at", "audio", "later", "x"]
    pd.testing.assert_frame_equal(
        frame.tasks_frame(rows, columns), frame.records_frame(rows, columns)
    )
