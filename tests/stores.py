"""What a task log holds, read the same way from either store (SQLite file, PostgreSQL)."""

from __future__ import annotations

from vidu_nb.tracking.tasklog import SQLiteStore, TaskLog


def stored_bytes(log: TaskLog) -> bytes:
    """Everything the log's database keeps (the log is closed afterwards): the SQLite file's
    bytes (its WAL checkpointed by closing), or every row of every table as PostgreSQL's text."""
    store = log._store
    if isinstance(store, SQLiteStore):
        log.close()
        return log.path.read_bytes()
    with store.read() as conn:
        tables = [r[0] for r in conn.rows(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )]  # fmt: skip
        text = [r[0] for t in tables for r in conn.rows(f"SELECT CAST(x AS TEXT) FROM {t} AS x")]
    log.close()
    return "\n".join(text).encode()
