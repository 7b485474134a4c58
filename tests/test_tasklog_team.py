"""A team's task log on a PostgreSQL server: chosen by URL or ``VIDU_LOG_URL``, its password
never shown, its tables made and upgraded by the same definition as SQLite's, and machines that
share it (each with its own cache folder) never send one queued request twice. A real server
(``pgserver.py``), real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest
from conftest import make_image

from vidu_nb.client.task import Task
from vidu_nb.errors import TaskLogError, ValidationError, ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.tracking.tasklog import schema as tasklog_schema
from vidu_nb.tracking.tasklog.owners import Owner, owner_alive
from vidu_nb.tracking.tasklog.pgsql import convert
from vidu_nb.tracking.tasklog.postgres import PostgresStore

SECRET = "pa:ss w@rd/s3cr3t"
QUOTED = "pa%3Ass%20w%40rd%2Fs3cr3t"  # the same, as a URL carries it


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=make_image(64, 48), prompt=f"shot {i}", seed=i, duration=1)


def with_password(url: str) -> str:
    return url.replace("vidu@", f"vidu:{QUOTED}@", 1)


def test_a_url_or_vidu_log_url_opens_a_team_log(pg_server, tmp_path, monkeypatch):
    url = pg_server.database("byurl")
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path / "here"))
    with TaskLog(url) as log:
        assert isinstance(log._store, PostgresStore)
        log.record_submission(req(), Task(id="t1", credits=4))
        # The files kept with a row stay on this machine, in a folder named for the database.
        assert log.path.parent.parent == tmp_path / "here" and not log.path.exists()
        assert log.cache_dir.parent == log.path.parent
        thumb = log.get("t1")["thumbnail_path"]
        assert thumb.startswith(str(log.cache_dir)) and os.path.isfile(thumb)
    monkeypatch.setenv("VIDU_LOG_URL", url)
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "ignored.sqlite"))
    with TaskLog() as log:  # no path: the team's URL wins over a file's
        assert log.get("t1")["credits"] == 4 and isinstance(log._store, PostgresStore)
    assert not (tmp_path / "ignored.sqlite").exists()


def test_the_password_is_never_shown(pg_server, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = with_password(pg_server.database("secret"))
    with TaskLog(url) as log:  # the test server trusts loopback: any password opens it
        log.record_submission(req(), Task(id="t1"))
        shown = [repr(log), repr(log._store), str(log.path), log._store.location, str(log.df)]
    for text in shown:
        assert SECRET not in text and QUOTED not in text and "s3cr3t" not in text, text
    closed = pg_server.url("nowhere", password=QUOTED).replace(str(pg_server.port), "1")
    wrong_db = with_password(pg_server.url("no_such_database"))
    for bad in (closed, wrong_db):
        with pytest.raises(TaskLogError) as caught:
            TaskLog(bad)
        message = str(caught.value) + repr(caught.value)
        assert "s3cr3t" not in message and "cannot open the task log postgresql://" in message
        assert caught.value.__cause__ is None and caught.value.__context__ is None
    with pytest.raises(ValidationError) as bad_url:
        PostgresStore("http://vidu:s3cr3t@host/db")
    assert "s3cr3t" not in str(bad_url.value) and "url" in str(bad_url.value)
    out = capsys.readouterr()
    assert "s3cr3t" not in out.out + out.err


def test_placeholders_are_converted_outside_literals_only():
    assert convert("SELECT * FROM t WHERE a = ? AND b LIKE '%?x%' ESCAPE '\\'") == (
        "SELECT * FROM t WHERE a = %s AND b ILIKE '%%?x%%' ESCAPE '\\'"
    )  # LIKE ignores ASCII case in SQLite: ILIKE here
    assert convert("SELECT likes, 'LIKE' FROM t") == "SELECT likes, 'LIKE' FROM t"
    assert convert("UPDATE t SET a = 'it''s ?', b = ?") == "UPDATE t SET a = 'it''s ?', b = %s"


def test_an_older_team_log_is_upgraded_and_a_newer_one_refused(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("older")
    with psycopg.connect(url, autocommit=True) as conn:  # as a release of schema 3 left it
        for version in tasklog_schema.MIGRATIONS[:3]:
            for sql in version.ddl("postgresql"):
                conn.execute(sql)
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (3)")
        conn.execute("INSERT INTO tasks (task_id, state, credits) VALUES ('old', 'success', 7)")
    with TaskLog(url) as log:
        assert log.get("old")["credits"] == 7 and log.integrity_check() == "ok"
        assert log.rate("old", stars=4).rating == 4  # the columns of schema 4 are there
        assert "motion" in log.df and len(log.df) == 1
        log.record_submission(req(), Task(id="new"))
        assert list(log.df["task_id"]) == ["old", "new"]
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (tasklog_schema.SCHEMA_VERSION,)
        ]
        conn.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(ViduError, match="newer than this vidu-nb supports"):
        TaskLog(url)


def test_a_sqlite_only_step_refuses_a_team_log_and_changes_nothing(
    pg_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("sqliteonly")
    TaskLog(url).close()

    def by_hand(conn):  # a migration written the old way, for a sqlite3 connection
        conn.execute("ALTER TABLE tasks ADD COLUMN later INTEGER")

    monkeypatch.setattr(tasklog_schema, "MIGRATIONS", [*tasklog_schema.MIGRATIONS, by_hand])
    monkeypatch.setattr(tasklog_schema, "SCHEMA_VERSION", len(tasklog_schema.MIGRATIONS))
    with pytest.raises(TaskLogError, match="SQLite only"):
        TaskLog(url)
    monkeypatch.undo()
    with TaskLog(url) as log:
        assert "later" not in log.df and log.integrity_check() == "ok"


def test_integrity_check_names_what_is_missing(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("integrity")
    with TaskLog(url) as log:
        assert log.integrity_check() == "ok"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DROP TRIGGER log_data_votes ON votes")
            conn.execute("ALTER TABLE events DROP CONSTRAINT events_row_id_fkey")
            conn.execute("INSERT INTO events (row_id, state, at) VALUES (99, 'x', 0)")
        assert log.integrity_check() == "the change feed is incomplete; 1 events of no task"


OTHER_MACHINE = r"""
import sys, time
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.tracking.tasklog.owners import Owner
from vidu_nb.request.spec import Img2VideoRequest

log = TaskLog(sys.argv[1])
owner = Owner(log.owners_dir, log.owner_locks)
token = owner.hold()
# Start images by URL: a file kept on one machine is not on another (docs/architecture.md).
image = "https://images.example.com/start.png"
log.record_queued_many(
    [(Img2VideoRequest(image=image, prompt=f"p{i}"), f"ref-{i}") for i in range(3)],
    owner=token,
)
print(token, flush=True)
time.sleep(600)  # a live notebook that is about to send them
"""


def test_a_live_poller_on_another_machine_keeps_its_requests_until_it_dies(
    pg_server, tmp_path, monkeypatch
):
    url = pg_server.database("machines")
    env = {**os.environ, "VIDU_CACHE_DIR": str(tmp_path / "machine-a")}
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_MACHINE, url], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert other.stdout is not None
        token = other.stdout.readline().strip()
        assert token
        monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path / "machine-b"))
        with TaskLog(url) as log:
            assert [r["owner"] for r in log.unsent()] == [token] * 3
            # This machine sees no lock file of the other's: only the server knows it lives.
            assert not owner_alive(log.owners_dir, token)
            assert owner_alive(log.owners_dir, token, log.owner_locks)
            mine = Owner(log.owners_dir, log.owner_locks)
            assert log.take_over(mine.hold()) == ([], 0)  # not taken: it would be sent twice
            assert {r["owner"] for r in log.unsent()} == {token}
            os.kill(other.pid, signal.SIGKILL)
            other.wait()
            for _ in range(200):  # the server ends the killed client's session
                if not owner_alive(log.owners_dir, token, log.owner_locks):
                    break
                time.sleep(0.05)
            queued, uncertain = log.take_over(mine.token)
            assert sorted(row["client_ref"] for row, _ in queued) == ["ref-0", "ref-1", "ref-2"]
            assert uncertain == 0 and {r["owner"] for r in log.unsent()} == {mine.token}
            assert log.take_over("someone else") == ([], 0)  # ours now, and we live
            mine.release()
            assert not owner_alive(log.owners_dir, mine.token, log.owner_locks)
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()


def test_a_workspace_on_a_team_log_shows_no_password(pg_server, tmp_path, monkeypatch):
    from vidu_nb.workspace import Workspace

    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = with_password(pg_server.database("workspace"))
    with Workspace(log_path=url) as ws:
        assert "s3cr3t" not in repr(ws) and "vidu:***@127.0.0.1" in repr(ws)
        assert ws.log_path.parent.parent == tmp_path  # this machine's folder for the log
        assert isinstance(ws.log._store, PostgresStore) and ws.log_path == ws.log.path
        assert "s3cr3t" not in repr(ws)
    monkeypatch.setenv("VIDU_LOG_URL", url)
    with Workspace() as ws:
        assert ws.log_path.parent.parent == tmp_path and "s3cr3t" not in repr(ws)


def test_a_database_that_is_not_a_task_log_is_refused_by_name(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("notalog")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE tasks (something TEXT)")  # another program's table
    with pytest.raises(TaskLogError, match=r"cannot open the task log postgresql://vidu@.*notalog"):
        TaskLog(url)
    with psycopg.connect(url, autocommit=True) as conn:  # and nothing of ours was left behind
        assert conn.execute("SELECT to_regclass('events')").fetchone() == (None,)


def test_the_log_connects_again_after_the_server_dropped_it(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("dropped")
    with TaskLog(url) as log:
        log.record_submission(req(), Task(id="t1"))
        owner = Owner(log.owners_dir, log.owner_locks)
        token = owner.hold()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(psycopg.OperationalError):  # the statement in flight fails
            log.get("t1")
        assert log.get("t1")["state"] == "created"  # the next one connects again
        log.update(Task(id="t1", state="processing"))
        with psycopg.connect(url, autocommit=True) as other:  # and holds its owner lock again
            held = other.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (0x6F776E, token)
            ).fetchone()
            assert held == (False,)
        owner.release()


def test_a_failed_upgrade_leaves_the_team_log_as_it_was(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path))
    url = pg_server.database("failedupgrade")
    with TaskLog(url) as log:
        log.record_submission(req(), Task(id="t1"))
    broken = tasklog_schema.Version(
        "A release whose upgrade fails halfway (DDL is transactional in PostgreSQL).",
        tasklog_schema.AddColumns("tasks", ["later INTEGER"]),
        tasklog_schema.Run("UPDATE tasks SET later = 1 / 0"),
    )
    with monkeypatch.context() as patch:
        patch.setattr(tasklog_schema, "MIGRATIONS", [*tasklog_schema.MIGRATIONS, broken])
        patch.setattr(tasklog_schema, "SCHEMA_VERSION", len(tasklog_schema.MIGRATIONS) + 1)
        with pytest.raises(TaskLogError, match="division by zero"):
            TaskLog(url)
    with TaskLog(url) as log:
        assert "later" not in log.df and log.get("t1")["state"] == "created"
        assert log.integrity_check() == "ok"


OPENER = r"""
import sys
from vidu_nb.tracking.tasklog import TaskLog
with TaskLog(sys.argv[1]) as log:
    print(len(log), log.integrity_check(), flush=True)
"""


def test_kernels_opening_a_new_team_log_at_once_make_it_once(pg_server, tmp_path):
    url = pg_server.database("together")
    env = {**os.environ, "VIDU_CACHE_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(3)
    ]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0 and out.strip() == "0 ok", err
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM log_meta").fetchone() == (1,)
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [
            (tasklog_schema.SCHEMA_VERSION,)
        ]


def test_a_store_can_be_given_as_such(pg_server, tmp_path):
    store = PostgresStore(pg_server.database("given"), cache_root=tmp_path / "files")
    with TaskLog(store=store) as log:
        log.record_submission(req(), Task(id="t1"))
        assert log.cache_dir.parent.parent == tmp_path / "files" and len(log) == 1
    with pytest.raises(ValidationError, match="not both"):
        TaskLog(pg_server.url(), store=store)
