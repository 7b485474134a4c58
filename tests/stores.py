"""What a task log holds, read the same way from either store (SQLite file, PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

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


def target(log: TaskLog) -> str | Path:
    """What opens the same log again (in a new kernel): its file, or its URL."""
    store = log._store
    return log.path if isinstance(store, SQLiteStore) else store._url


def is_sqlite(log: TaskLog) -> bool:
    return isinstance(log._store, SQLiteStore)


@contextmanager
def statements(log: TaskLog) -> Iterator[list[str]]:
    """Every statement the log sends meanwhile (SQLite's trace callback, or the PostgreSQL
    connection's ``trace``), transaction boundaries included."""
    seen: list[str] = []
    store = log._store
    if isinstance(store, SQLiteStore):
        store.connection.set_trace_callback(seen.append)
    else:
        store.connection.trace = seen.append
    try:
        yield seen
    finally:
        if isinstance(store, SQLiteStore):
            store.connection.set_trace_callback(None)
        else:
            store.connection.trace = None


@contextmanager
def by_hand(log: TaskLog) -> Iterator[Any]:
    """A connection of its own to the log's database (another process's view, or a shell's),
    committing when the block ends: ``execute(sql)`` without placeholders."""
    store = log._store
    if isinstance(store, SQLiteStore):
        conn = sqlite3.connect(log.path)
        try:
            with conn:
                yield conn
        finally:
            conn.close()
    else:
        with psycopg.connect(store._url) as conn:
            yield conn
