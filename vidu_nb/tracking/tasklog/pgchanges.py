"""The PostgreSQL task log numbers every changed row, whoever writes: the feed the cached frame
reads (``sqlitechanges`` is the same for SQLite; ``postgres.PostgresConnection`` answers the
``store.Connection`` feed methods from it).

A trigger on ``tasks`` gives each inserted, updated or deleted row the next number of the log's
change counter (a row of ``log_meta``) in ``task_changes`` (one entry per row, its latest
change), whoever writes: any kernel on any machine, a ``psql`` session. The counter is a row,
not a sequence, on purpose: a transaction that bumps it holds the row until it commits, so
numbers are given in commit order and a reader that saw mark ``n`` never later meets a commit
numbered below ``n`` (a sequence hands out numbers at call time, in any commit order).

A statement trigger on every table also counts in ``log_meta.data_seq``: the store's
``version``, one tiny read that moves on any commit (votes and events too) and, being a row, only
when the commit is seen (a sequence would move before: a cache keyed by it could keep a read
made before that commit).
"""

from __future__ import annotations

import uuid
from typing import Any

from .store import Row

TRIGGERS = ("task_changes_row", "log_data_tasks", "log_data_events", "log_data_votes")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_meta (log_id TEXT NOT NULL, change_seq BIGINT NOT NULL,"
    " data_seq BIGINT NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS task_changes (row_id BIGINT PRIMARY KEY, seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS task_changes_by_seq ON task_changes (seq)",
    """
    CREATE OR REPLACE FUNCTION vidu_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE n BIGINT;
    BEGIN
        UPDATE log_meta SET change_seq = change_seq + 1 RETURNING change_seq INTO n;
        IF n IS NULL THEN RETURN NULL; END IF;  -- the counter was removed: readers read all
        IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.row_id IS DISTINCT FROM OLD.row_id)
        THEN
            INSERT INTO task_changes (row_id, seq) VALUES (OLD.row_id, n)
            ON CONFLICT (row_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO task_changes (row_id, seq) VALUES (NEW.row_id, n)
            ON CONFLICT (row_id) DO UPDATE SET seq = EXCLUDED.seq;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE OR REPLACE FUNCTION vidu_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE log_meta SET data_seq = data_seq + 1; RETURN NULL; END $$
    """,
    "CREATE OR REPLACE TRIGGER task_changes_row AFTER INSERT OR UPDATE OR DELETE ON tasks"
    " FOR EACH ROW EXECUTE FUNCTION vidu_task_changed()",
    *(
        f"CREATE OR REPLACE TRIGGER log_data_{table} AFTER INSERT OR UPDATE OR DELETE"
        f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION vidu_data_changed()"
        for table in ("tasks", "events", "votes")
    ),
)
#: Whether the feed is whole: every trigger, and the counter's row.
_PRESENT = (
    "SELECT (SELECT COUNT(*) FROM pg_trigger WHERE tgrelid IN"
    " ('tasks'::regclass, 'events'::regclass, 'votes'::regclass) AND tgname = ANY(%s)),"
    " (SELECT COUNT(*) FROM log_meta)"
)
#: The change mark, and a number that moves when ``tasks`` is altered or its change trigger
#: dropped or made again: a hash of the transaction ids of their catalogue rows (an ``ALTER
#: TABLE`` rewrites the table's row), in one statement.
STATE = (
    "SELECT (SELECT change_seq FROM log_meta LIMIT 1), hashtext("
    "(SELECT xmin::text FROM pg_class WHERE oid = 'tasks'::regclass) || '/' || COALESCE("
    "(SELECT xmin::text FROM pg_trigger WHERE tgrelid = 'tasks'::regclass"
    " AND tgname = 'task_changes_row'), '-'))"
)
CHANGED = (
    "SELECT c.row_id, t.* FROM task_changes AS c LEFT JOIN tasks AS t ON t.row_id = c.row_id"
    " WHERE c.seq > %s LIMIT %s"
)


def present(cur: Any) -> bool:
    """Whether every part of the feed is there (one catalogue read; tables must exist)."""
    if cur.execute("SELECT to_regclass('log_meta')").fetchone()[0] is None:
        return False
    triggers, meta = cur.execute(_PRESENT, (list(TRIGGERS),)).fetchone()
    return bool(triggers == len(TRIGGERS) and meta >= 1)


def install(cur: Any) -> None:
    """Create what is missing (inside the caller's write transaction)."""
    for sql in SCHEMA:
        cur.execute(sql)
    cur.execute(
        "INSERT INTO log_meta (log_id, change_seq) SELECT %s, 0"
        " WHERE NOT EXISTS (SELECT 1 FROM log_meta)",
        (uuid.uuid4().hex,),
    )


def mark(cur: Any) -> tuple[int | None, int]:
    seq, version = cur.execute(STATE).fetchone()
    return (None if seq is None else int(seq)), int(version)


def changed(cur: Any, since: int, most: int) -> list[Row]:
    return list(cur.execute(CHANGED, (since, most)).fetchall())


def identity(cur: Any) -> str:
    row = cur.execute("SELECT log_id FROM log_meta LIMIT 1").fetchone()
    return str(row[0]) if row else ""
