"""The SQLite task log numbers every changed row, whoever writes: the feed the cached frame reads.

A notebook reads ``log.df`` again and again while a poller changes a few rows; the frame cache
(``framecache``) re-reads only the rows changed since its mark. SQLite itself says what
changed: triggers (created once, idempotently, when a log is opened) give every inserted,
updated or deleted row of ``tasks`` the next number of a change sequence in ``task_changes``
(one entry per row, its latest change), whoever writes: this process, another kernel, an older
vidu-nb, a ``sqlite3`` shell. A read then costs one indexed lookup when nothing changed.

These are the ``change_mark``, ``changed_rows`` and ``identity`` of ``sqlite.SQLiteConnection``
(``store.Connection``); a server store gives the same answers its own way.
"""

from __future__ import annotations

import sqlite3
import uuid

from .store import Row

#: A changed row gets the next number of the log's change counter (``log_meta``, one row:
#: the log's identity and the counter): a few indexed writes, so a write stays O(1).
_NOTE = (
    " UPDATE log_meta SET change_seq = change_seq + 1;"
    " DELETE FROM task_changes WHERE row_id = {row};"
    " INSERT INTO task_changes (row_id, seq) SELECT {row}, change_seq FROM log_meta;"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_meta (log_id TEXT NOT NULL, change_seq INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS task_changes (row_id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS task_changes_by_seq ON task_changes(seq)",
    "CREATE TRIGGER IF NOT EXISTS task_changes_insert AFTER INSERT ON tasks BEGIN"
    + _NOTE.format(row="NEW.row_id")
    + " END",
    "CREATE TRIGGER IF NOT EXISTS task_changes_update AFTER UPDATE ON tasks BEGIN"
    + _NOTE.format(row="OLD.row_id")
    + " END",
    # A row given another row_id (by hand): the old id is gone, the new one changed.
    "CREATE TRIGGER IF NOT EXISTS task_changes_move AFTER UPDATE OF row_id ON tasks"
    " WHEN NEW.row_id IS NOT OLD.row_id BEGIN" + _NOTE.format(row="NEW.row_id") + " END",
    "CREATE TRIGGER IF NOT EXISTS task_changes_delete AFTER DELETE ON tasks BEGIN"
    + _NOTE.format(row="OLD.row_id")
    + " END",
)
_NAMES = (
    "log_meta",
    "task_changes",
    "task_changes_by_seq",
    "task_changes_insert",
    "task_changes_update",
    "task_changes_move",
    "task_changes_delete",
)
#: The change mark and the schema's version, in one statement (the check on every read).
_STATE = (
    "SELECT (SELECT change_seq FROM log_meta LIMIT 1),"
    " (SELECT schema_version FROM pragma_schema_version)"
)
#: Changed rows since a mark: the row id, then the row (all NULL when it was deleted). Found
#: through the index on ``seq`` (the caller sorts them: an ORDER BY row_id would tempt SQLite
#: to walk every entry in row order).
_CHANGED = (
    "SELECT c.row_id, t.* FROM task_changes AS c LEFT JOIN tasks AS t ON t.row_id = c.row_id"
    " WHERE c.seq > ? LIMIT ?"
)


def install(conn: sqlite3.Connection) -> None:
    """Create the change table, its triggers and the log's identity unless all are there
    (one read on every open; one write transaction on the first open of a log)."""
    marks = ", ".join("?" for _ in _NAMES)
    (have,) = conn.execute(
        f"SELECT COUNT(*) FROM sqlite_master WHERE name IN ({marks})", _NAMES
    ).fetchone()
    if have == len(_NAMES) and conn.execute("SELECT 1 FROM log_meta").fetchone():
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql in SCHEMA:
            conn.execute(sql)
        conn.execute(
            "INSERT INTO log_meta (log_id, change_seq) SELECT ?, 0"
            " WHERE NOT EXISTS (SELECT 1 FROM log_meta)",
            (uuid.uuid4().hex,),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def mark(conn: sqlite3.Connection) -> tuple[int | None, int]:
    """``(change mark, schema version)``: the counter is None when its row was deleted."""
    seq, version = conn.execute(_STATE).fetchone()
    return seq, version


def changed(conn: sqlite3.Connection, since: int, most: int) -> list[Row]:
    return conn.execute(_CHANGED, (since, most)).fetchall()


def identity(conn: sqlite3.Connection) -> str:
    row = conn.execute("SELECT log_id FROM log_meta LIMIT 1").fetchone()
    return str(row[0]) if row else ""
