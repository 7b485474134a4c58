"""Where the task log keeps its rows: the ``Store`` interface the log's parts run SQL through.

The parts of ``TaskLog`` (``writes``, ``reads``, ``unsent``, ``reconcile``, ``search``,
``frames``, ``judgments``) never touch a database driver: they ask a ``Store`` for a
``Connection`` (a plain read, one consistent snapshot, or one write transaction) and run
statements on it. ``sqlite.SQLiteStore`` is the default store (one file, WAL, shared by
kernels); ``postgres.PostgresStore`` is a team's server database (``TaskLog("postgresql://...")``),
a module with a class of the same shape; no part changes.

What the parts send, so that another database runs it too:

* placeholders are ``?`` (qmark style), never inside a quoted literal: a driver that takes
  ``%s`` or ``$1`` has its store convert them, in one place;
* plain SQL both SQLite and PostgreSQL run (``SELECT``/``INSERT``/``UPDATE``/``DELETE``,
  ``COALESCE``, ``LIKE ... ESCAPE``, ``||``, ``WITH RECURSIVE``, ``LIMIT``): no ``PRAGMA``,
  ``INSERT OR ...``, ``rowid`` or ``IS ?``;
* values as the columns hold them (``schema``): times as float Unix seconds, flags as 0/1
  integers, text and integers.

What differs between databases is a method of the store instead: the kinds of transaction
(``read``, ``snapshot``, ``write``), a new row's key (``Connection.insert``), the tables and
their upgrades (``open``; both run ``schema.MIGRATIONS``, rendered for them), the numbering of changed rows the
cached frame follows (``change_mark``, ``changed_rows``, ``identity``, ``watch_changes``: SQLite
triggers), noticing other processes' commits (``version``) and ``integrity_check``.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

DEFAULT_PATH = "vidu_tasks.sqlite"
#: A folder holding one of these is a project's root: its task log lives there.
PROJECT_MARKERS = ("pyproject.toml", ".git")

Row = tuple[Any, ...]


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


def shown_target(target: object) -> str:
    """A log's path or URL as messages and reprs may show it: a URL without its password."""
    return re.sub(r"^([a-z]+://[^:@/]*):[^@/]*@", r"\1:***@", str(target))


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


class Connection(Protocol):
    """Statements of one unit of work (see the module docstring for the SQL they may be)."""

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        """Every row a query returns."""

    def row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        """The first row a query returns, or None."""

    def table(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        """The column names and every row of a query."""

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        """A change (``UPDATE``, ``DELETE``, ...); returns how many rows it touched."""

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        """Add one row of ``values`` (column -> value); returns its new integer key
        (``row_id`` of ``tasks``, ``event_id`` of ``events``, ``vote_id`` of ``votes``)."""

    # -- the change feed the cached frame follows (``framecache``) ----------------------------
    def change_mark(self) -> tuple[int | None, int]:
        """``(mark, schema)``: the number of the latest change of ``tasks`` (None when the
        numbering is broken: read everything) and a number that moves when the tables change."""

    def changed_rows(self, since: int, most: int) -> list[Row]:
        """At most ``most`` rows changed after mark ``since``, any order: each the row id,
        then the row as ``SELECT *`` gives it (all None when it was deleted)."""

    def identity(self) -> str:
        """An id of this log made when it was created (a copy of the file keeps it)."""


class Store(Protocol):
    """A task log's storage: its tables, transactions, and how it notices changes."""

    #: The log's file (a server store: the local file standing for it); messages name it and
    #: the files kept with the log are stored relative to its folder.
    path: Path

    @property
    def cache_dir(self) -> Path:
        """The folder for videos, covers, thumbnails and kept images."""

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever this or another process commits; cheap, for caches (the ledger)."""

    def open(self) -> None:
        """Connect and bring the tables up to date (migrations) and the change feed running;
        idempotent. Raises ``TaskLogError`` naming the log when it cannot be opened."""

    def close(self) -> None:
        """Release the connection; using the store afterwards raises ``ViduError``."""

    def read(self) -> AbstractContextManager[Connection]:
        """Statements that read; each sees every commit made before it (no transaction)."""

    def snapshot(self) -> AbstractContextManager[Connection]:
        """Reads that must agree with each other: one read transaction (or the write
        transaction already open on this thread)."""

    def write(self) -> AbstractContextManager[Connection]:
        """One write transaction: committed when the block ends, rolled back if it raises.
        Writers in other threads and processes wait for it (never deadlock)."""

    def watch_changes(self) -> None:
        """Make sure every change of ``tasks`` is numbered again (after the tables changed,
        a tool may have removed what numbers them); cheap when nothing is missing."""

    def integrity_check(self) -> str:
        """``"ok"``, or what the database finds wrong with itself."""


def provides(obj: object, protocol: type) -> bool:
    """Whether ``obj`` has every member of ``protocol`` (``Store``, ``Connection``), looked up
    without running a property: a store that is not open yet must not be asked anything."""
    names = {n for n in vars(protocol) if not n.startswith("_")}
    names |= set(getattr(protocol, "__annotations__", {}))
    return all(inspect.getattr_static(obj, n, provides) is not provides for n in names)
