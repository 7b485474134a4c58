"""``SQLiteStore``: the task log in one SQLite file (the ``store.Store`` every log uses today).

Tasks finish minutes after they are sent, often after the kernel restarted, so every change is
written at once in its own transaction. The file uses WAL mode with ``synchronous=FULL``: a
process killed at any moment leaves a log that opens with every committed change, and two
kernels can write the same log (``BEGIN IMMEDIATE`` plus a busy timeout serialises them).
Within a process one connection is shared under a lock, because the poller writes from its
thread while the notebook reads.

Everything SQLite-only lives here or in what it runs: the PRAGMAs, the migrations of
``schema`` (``PRAGMA user_version``), the triggers that number changed rows for the cached
frame (``sqlitechanges``), ``lastrowid``, ``PRAGMA data_version`` and ``integrity_check``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ...errors import TaskLogError, ValidationError, ViduError
from . import schema, sqlitechanges
from .store import DEFAULT_PATH, Row, default_log_path

_BUSY_TIMEOUT_MS = 30_000


class SQLiteConnection:
    """``store.Connection`` on a ``sqlite3.Connection`` (used under the store's lock)."""

    __slots__ = ("raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return self.raw.execute(sql, tuple(args)).fetchall()

    def row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        found: Row | None = self.raw.execute(sql, tuple(args)).fetchone()
        return found

    def table(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        cur = self.raw.execute(sql, tuple(args))
        rows = cur.fetchall()
        return [d[0] for d in cur.description], rows

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.raw.execute(sql, tuple(args)).rowcount

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.raw.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values())
        )
        return int(cur.lastrowid or 0)

    def change_mark(self) -> tuple[int | None, int]:
        return sqlitechanges.mark(self.raw)

    def changed_rows(self, since: int, most: int) -> list[Row]:
        return sqlitechanges.changed(self.raw, since, most)

    def identity(self) -> str:
        return sqlitechanges.identity(self.raw)


class SQLiteStore:
    """One SQLite file opened in WAL mode, its schema brought up to date, shared by threads."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ValidationError("path", path, "must be a file path (str or pathlib.Path)")
        # Absolute at once: a notebook's `%cd` must not move the cache, owners or timings.
        self.path = (Path(path) if path is not None else default_log_path()).absolute()
        self._lock = threading.RLock()
        self._writes = 0
        self._conn: SQLiteConnection | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            if self.path.is_dir():
                raise TaskLogError(
                    f"task log {self.path} is a folder; give a file such as "
                    f"{self.path / DEFAULT_PATH}"
                )
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                raw = sqlite3.connect(
                    self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
            except (OSError, sqlite3.OperationalError) as exc:
                raise TaskLogError(f"cannot open the task log {self.path}: {exc}") from None
            try:
                self._setup(raw)
            except BaseException:
                raw.close()  # a log that cannot open (newer schema, failed migration) holds no file
                raise
            self._conn = SQLiteConnection(raw)

    def _setup(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if type(exc) is not sqlite3.DatabaseError:  # locked, I/O: not about the file's kind
                raise
            raise TaskLogError(
                f"{self.path} is not a vidu-nb task log ({exc}); give another path"
            ) from None
        if str(mode).lower() != "wal":
            raise ViduError(f"task log {self.path}: cannot enable WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        schema.migrate(conn)
        sqlitechanges.install(conn)  # the change sequence the cached frame follows

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.raw.close()
                self._conn = None

    @property
    def cache_dir(self) -> Path:
        """``<log stem>_cache`` next to the log file."""
        return self.path.parent / f"{self.path.stem}_cache"

    @property
    def connection(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection itself, for tools and tests (statement traces, progress
        handlers); the log's parts never use it."""
        return self._live().raw

    @property
    def version(self) -> tuple[int, int]:
        with self._lock:
            other = self._live().raw.execute("PRAGMA data_version").fetchone()[0]
            return (self._writes, other)

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._live().raw.execute("PRAGMA integrity_check").fetchone()[0])

    def watch_changes(self) -> None:
        with self._lock:
            raw = self._live().raw
            if not raw.in_transaction:  # inside one: the next read outside it repairs
                sqlitechanges.install(raw)

    # -- the three kinds of access ----------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[SQLiteConnection]:
        with self._lock:
            yield self._live()

    @contextmanager
    def snapshot(self) -> Iterator[SQLiteConnection]:
        with self._lock:
            conn = self._live()
            own = not conn.raw.in_transaction
            if own:  # one snapshot: another process may be writing meanwhile
                conn.raw.execute("BEGIN")
            try:
                yield conn
            finally:
                if own and conn.raw.in_transaction:
                    conn.raw.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[SQLiteConnection]:
        """One write transaction; the write lock is taken up front so it never deadlocks.

        SQLite ends some failed transactions itself (a full disk, ``RAISE(ROLLBACK)``): then
        there is nothing to roll back, and the original error is the one raised. A failed
        ``COMMIT`` is rolled back too, so the connection never stays inside a transaction.
        """
        with self._lock:
            conn = self._live()
            raw = conn.raw
            raw.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                raw.execute("COMMIT")
            except BaseException:
                if raw.in_transaction:
                    raw.execute("ROLLBACK")
                raise
            self._writes += 1

    def _live(self) -> SQLiteConnection:
        if self._conn is None:
            raise ViduError(f"task log {self.path} is closed")
        return self._conn
