"""The task log's connection and transaction layer: ``Store``.

Tasks finish minutes after they are sent, often after the kernel restarted, so every change is
written at once in its own transaction. The file uses WAL mode with ``synchronous=FULL``: a
process killed at any moment leaves a log that opens with every committed change, and two
kernels can write the same log (``BEGIN IMMEDIATE`` plus a busy timeout serialises them).
Within a process one connection is shared under a lock, because the poller writes from its
thread while the notebook reads.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ...errors import TaskLogError, ValidationError, ViduError
from . import schema
from .rows import pythonic

DEFAULT_PATH = "vidu_tasks.sqlite"
#: A folder holding one of these is a project's root: its task log lives there.
PROJECT_MARKERS = ("pyproject.toml", ".git")
_BUSY_TIMEOUT_MS = 30_000
_S = TypeVar("_S", bound="Store")


def default_log_path(cwd: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The task log every notebook, script and command shares, whatever its working folder:

    1. ``$VIDU_LOG_PATH`` when set;
    2. else ``vidu_tasks.sqlite`` in the project's root: the nearest folder, from the working
       folder up, holding a ``pyproject.toml`` or ``.git`` (a notebook started in
       ``notebooks/`` writes the same log as one started at the root);
    3. else the nearest existing ``vidu_tasks.sqlite`` from the working folder up;
    4. else ``vidu_tasks.sqlite`` in the user's data folder (``$XDG_DATA_HOME/vidu-nb``,
       ``~/.local/share/vidu-nb``; ``~/Library/Application Support/vidu-nb`` on macOS,
       ``%LOCALAPPDATA%\\vidu-nb`` on Windows).
    """
    env = os.environ if env is None else env
    if env.get("VIDU_LOG_PATH"):
        return Path(env["VIDU_LOG_PATH"])
    here = (cwd or Path.cwd()).absolute()
    folders = [here, *here.parents]
    for folder in folders:
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder / DEFAULT_PATH
    for folder in folders:
        if (folder / DEFAULT_PATH).is_file():
            return folder / DEFAULT_PATH
    return user_data_dir(env) / DEFAULT_PATH


def user_data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where vidu-nb keeps data that belongs to no project (the platform's convention)."""
    env = os.environ if env is None else env
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "vidu-nb"


class Store:
    """One SQLite file opened in WAL mode, its schema brought up to date, shared by threads."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise ValidationError("path", path, "must be a file path (str or pathlib.Path)")
        # Absolute at once: a notebook's `%cd` must not move the cache, owners or timings.
        self.path = (Path(path) if path is not None else default_log_path()).absolute()
        self._lock = threading.RLock()
        self._writes = 0
        self._conn: sqlite3.Connection | None = None
        if self.path.is_dir():
            raise TaskLogError(
                f"task log {self.path} is a folder; give a file such as {self.path / DEFAULT_PATH}"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
        except (OSError, sqlite3.OperationalError) as exc:
            raise TaskLogError(f"cannot open the task log {self.path}: {exc}") from None
        try:
            self._setup(self._conn)
        except BaseException:
            self.close()  # a log that cannot open (newer schema, failed migration) holds no file
            raise

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def cache_dir(self) -> Path:
        """The folder for videos, covers and thumbnails: ``<log stem>_cache`` next to the log."""
        return self.path.parent / f"{self.path.stem}_cache"

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever this or another process commits; cheap, for caches (the ledger)."""
        with self._lock:
            other = self._db.execute("PRAGMA data_version").fetchone()[0]
            return (self._writes, other)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- plumbing for the readers and writers ----------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ViduError(f"task log {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so it never deadlocks.

        SQLite ends some failed transactions itself (a full disk, ``RAISE(ROLLBACK)``): then
        there is nothing to roll back, and the original error is the one raised. A failed
        ``COMMIT`` is rolled back too, so the connection never stays inside a transaction.
        """
        with self._lock:
            conn = self._db
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._writes += 1

    def _query(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and all rows of one read, taken under the lock."""
        with self._lock:
            cur = self._db.execute(sql, tuple(args))
            rows = cur.fetchall()
            return [d[0] for d in cur.description], rows

    def _dicts(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of ``tasks`` as dicts of Python values (see ``rows.pythonic``)."""
        cols, rows = self._query(sql, args)
        return [pythonic(dict(zip(cols, r, strict=True)), self.path.parent) for r in rows]

    def _row_id(self, conn: sqlite3.Connection, task_id: str) -> int | None:
        row = conn.execute("SELECT row_id FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return row[0] if row else None

    def _ref_row(self, conn: sqlite3.Connection, client_ref: str) -> int | None:
        row = conn.execute(
            "SELECT row_id FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1",
            (client_ref,),
        ).fetchone()
        return row[0] if row else None

    def _rel(self, path: str | os.PathLike[str] | None) -> str | None:
        """A path as stored: relative to the log's folder when inside it, so logs can move."""
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.path.parent.resolve()))
        except ValueError:
            return str(p)
