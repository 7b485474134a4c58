"""The task log's promises under stress, on real SQLite files: one transaction per change,
failed changes leave nothing behind, a reader alongside a writer thread, migrations that keep
(or on failure do not touch) old rows, exports that read back with the log's dtypes."""

from __future__ import annotations

import sqlite3
import threading

import pandas as pd
import psycopg
import pytest
import stores
from sql_trace import transactions

from vidu_nb.client.task import Creation, Task
from vidu_nb.errors import ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog, read_export
from vidu_nb.tracking.tasklog import schema as tasklog_schema

pytestmark = pytest.mark.stores

NEXT = tasklog_schema.SCHEMA_VERSION + 1  # a later release's schema, for migration tests


@pytest.fixture
def request_(png_bytes):
    return Img2VideoRequest(image=png_bytes, prompt='a fox, "quoted"\nsecond line', seed=7)


def test_every_change_is_exactly_one_transaction(log, request_, tmp_path):
    with stores.statements(log) as statements:
        one_transaction_each(log, request_, tmp_path, statements)


def one_transaction_each(log, request_, tmp_path, statements: list[str]) -> None:
    changes = [
        lambda: log.record_submission(request_, Task(id="t1"), experiment="ex"),
        lambda: log.update(Task(id="t1", state="processing")),
        lambda: log.note_error("t1", "HTTP 500"),
        lambda: log.tag("t1", tags=["best"], notes="keep"),
        lambda: log.update(
            Task(id="t1", state="success", credits=8, creations=(Creation("c", "u", "v"),))
        ),
        lambda: log.set_files("t1", tmp_path / "t1.mp4"),
        lambda: log.update(Task(id="other", state="queueing")),
        lambda: log.set_state("other", "cancelled", "by user"),
        lambda: log.record_uncertain(request_, "ref-1", "read timeout"),
        lambda: log.reconcile("ref-1", Task(id="t2", state="queueing")),
    ]
    for change in changes:
        before, version = len(statements), log.version[0]
        change()
        groups = transactions(statements[before:])
        assert len(groups) == 1 and groups[0], statements[before:]
        assert log.version[0] == version + 1
    # A state change and its event land together.
    assert list(log.events("t1")["state"]) == ["created", "processing", "success"]


def test_every_connection_is_wal_with_full_sync(tmp_path):
    """``synchronous`` is per connection: FULL makes each COMMIT durable against power loss."""
    log = TaskLog(tmp_path / "tasks.sqlite")
    assert log._store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert log._store.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert log._store.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    log.close()


REFUSE = {
    "sqlite": (
        "CREATE TRIGGER no_explode BEFORE INSERT ON events WHEN NEW.state = 'explode'"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END",
    ),
    "postgresql": (
        "CREATE FUNCTION no_explode() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.state = 'explode' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER no_explode BEFORE INSERT ON events FOR EACH ROW"
        " EXECUTE FUNCTION no_explode()",
    ),
}


def test_failed_change_leaves_nothing_and_the_log_keeps_working(log, request_, store):
    log.record_submission(request_, Task(id="t1"))
    with stores.by_hand(log) as conn:
        for sql in REFUSE[store]:
            conn.execute(sql)
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.RaiseException), match="refused"):
        log.update(Task(id="t1", state="explode"))
    assert log.get("t1")["state"] == "created"  # the row update went with the event
    assert log.update(Task(id="t1", state="queueing"))
    assert list(log.events("t1")["state"]) == ["created", "queueing"]


def test_sqlite_own_rollback_surfaces_the_real_error(tmp_path, request_):
    """Some failures end the transaction inside SQLite (full disk, RAISE(ROLLBACK)); the log
    must report that error, not a failed ROLLBACK of its own, and stay usable."""
    log = TaskLog(tmp_path / "tasks.sqlite")
    log.record_submission(request_, Task(id="t1"))
    log._store.connection.execute(
        "CREATE TRIGGER no_explode BEFORE INSERT ON events WHEN NEW.state = 'explode'"
        " BEGIN SELECT RAISE(ROLLBACK, 'disk trouble'); END"
    )
    with pytest.raises(sqlite3.IntegrityError, match="disk trouble"):
        log.set_state("t1", "explode")
    assert not log._store.connection.in_transaction
    assert log.get("t1")["state"] == "created"
    log.set_state("t1", "cancelled")
    assert log.get("t1")["state"] == "cancelled"
    log.close()


def test_reader_sees_whole_changes_while_a_thread_writes(log, request_):
    """The notebook reads ``log.df`` while the poller's thread writes through the same
    connection: every read works and shows each task's row and events from one moment."""
    count = 60
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(count):
                log.record_submission(request_, Task(id=f"t{i}"), experiment="x")
                for state in ("queueing", "processing", "success"):
                    log.update(Task(id=f"t{i}", state=state, credits=i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    reads, seen = 0, 0
    while thread.is_alive() or reads == 0:
        df = log.df
        assert len(df) >= seen and df["task_id"].is_unique
        seen = len(df)
        done = df[df["state"] == "success"]
        assert done["finished_at"].notna().all() and done["credits"].notna().all()
        reads += 1
    thread.join()
    assert not errors, errors
    assert len(log.df) == count and (log.df["state"] == "success").all()
    assert len(log.events()) == 4 * count and log.integrity_check() == "ok"


def _v2_rating(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE tasks ADD COLUMN later INTEGER")
    conn.execute("UPDATE tasks SET later = 3 WHERE state = 'success'")


def _make_v1_log(path, request_) -> None:
    with TaskLog(path) as log:
        log.record_submission(request_, Task(id="t1"), experiment="old", tags=["a"])
        log.update(Task(id="t1", state="success", credits=40))
        log.record_submission(request_, Task(id="t2"), experiment="old")


def test_migration_from_version_1_keeps_rows_and_events(tmp_path, request_, monkeypatch):
    path = tmp_path / "v1.sqlite"
    _make_v1_log(path, request_)
    monkeypatch.setattr(tasklog_schema, "MIGRATIONS", [*tasklog_schema.MIGRATIONS, _v2_rating])
    monkeypatch.setattr(tasklog_schema, "SCHEMA_VERSION", NEXT)
    with TaskLog(path) as log:
        df = log.df
        assert list(df["task_id"]) == ["t1", "t2"]
        assert df["later"].iloc[0] == 3 and pd.isna(df["later"].iloc[1])
        assert list(df["experiment"]) == ["old", "old"] and int(df["credits"].iloc[0]) == 40
        assert list(log.events("t1")["state"]) == ["created", "success"]
        log.update(Task(id="t2", state="processing"))  # still writable after the upgrade
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == NEXT


def test_version_1_log_gains_the_columns_of_unsent_requests(tmp_path, request_, monkeypatch):
    path = tmp_path / "v1.sqlite"
    with monkeypatch.context() as patch:  # a log written by the first release
        patch.setattr(tasklog_schema, "MIGRATIONS", tasklog_schema.MIGRATIONS[:1])
        patch.setattr(tasklog_schema, "SCHEMA_VERSION", 1)
        TaskLog(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO tasks (task_id, state) VALUES ('t1', 'success'), ('t2', 'created')"
        )
    with TaskLog(path) as log:
        assert list(log.df["task_id"]) == ["t1", "t2"] and log.get("t1")["state"] == "success"
        assert {"image_path", "owner"} <= set(log.df.columns)
        log.record_submission(request_, Task(id="t3"))
        assert log.get("t3")["image_path"] is not None
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == tasklog_schema.SCHEMA_VERSION


def test_failed_migration_leaves_the_old_log_untouched(tmp_path, request_, monkeypatch):
    path = tmp_path / "v1.sqlite"
    _make_v1_log(path, request_)

    def broken(conn: sqlite3.Connection) -> None:
        _v2_rating(conn)
        raise RuntimeError("migration bug")

    with monkeypatch.context() as patch:
        patch.setattr(tasklog_schema, "MIGRATIONS", [*tasklog_schema.MIGRATIONS, broken])
        patch.setattr(tasklog_schema, "SCHEMA_VERSION", NEXT)
        with pytest.raises(RuntimeError, match="migration bug"):
            TaskLog(path)
    with TaskLog(path) as log:  # this release opens it as it was
        assert "later" not in log.df and len(log) == 2
        assert log.get("t1")["state"] == "success"
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == NEXT - 1


def _varied_log(log: TaskLog, request_: Img2VideoRequest) -> pd.DataFrame:
    log.record_submission(request_, Task(id="t1", credits=5), experiment="ex", tags=["a", "b"])
    log.update(Task(id="t1", state="success", credits=5, creations=(Creation("c", "u", "v"),)))
    log.record_submission(request_.replace(model="viduq2-pro"), Task(id="t2"), notes="n")
    log.record_uncertain(request_, "ref-1", "dropped")
    return log.df


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_exports_read_back_with_the_log_dtypes(log, request_, tmp_path, kind):
    df = _varied_log(log, request_)
    path = getattr(log, f"to_{kind}")(tmp_path / f"log.{kind}")
    back = read_export(path)
    pd.testing.assert_frame_equal(back, df)
    plain = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    assert list(plain["task_id"].iloc[:2]) == ["t1", "t2"]  # plain pandas reads it too


def test_filtered_export_and_bad_suffix(log, request_, tmp_path):
    _varied_log(log, request_)
    back = read_export(log.to_csv(tmp_path / "ex.csv", experiment="ex"))
    assert list(back["task_id"]) == ["t1"] and str(back["state"].dtype) == "category"
    with pytest.raises(ViduError, match="log.json"):
        read_export(tmp_path / "log.json")
