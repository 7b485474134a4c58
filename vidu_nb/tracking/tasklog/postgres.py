"""``PostgresStore``: a team's task log on a PostgreSQL server (``TaskLog("postgresql://...")``
or ``$VIDU_LOG_URL``), the same tables, API and DataFrame as the SQLite file.

Every change is one server transaction: a kernel killed at any moment leaves the log with every
committed change and none of the half-done one (the server rolls back a transaction whose
client is gone). The log's parts send qmark SQL (``store``'s rules); ``pgsql.convert`` turns
it into psycopg's style in one place (and ``pgsql.adapt`` the values).

* ``read()``: autocommit statements, each seeing every earlier commit;
* ``snapshot()``: one ``REPEATABLE READ READ ONLY`` transaction;
* ``write()``: one transaction that first takes a transaction-level advisory lock
  (``pg_advisory_xact_lock``), so writers on every machine run one after another and never
  deadlock on each other's rows; the lock goes with the transaction, even when its client dies;
* the tables come from ``schema.MIGRATIONS`` rendered for PostgreSQL, the version in a
  ``schema_version`` table; the change feed (``pgchanges``) numbers changed rows by trigger.

A server log has no file: ``path`` stands for it on this machine, inside a local folder keyed
by the server, port and database (``$VIDU_CACHE_DIR``, else ``teams/`` in the user's data
folder): the videos, stills and kept start images (``cache_dir``) stay on each machine, as
files under the same relative paths. The URL's password is never shown: ``repr``, messages and
``location`` name ``user@host:port/database`` only.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg.conninfo import conninfo_to_dict

from ...errors import TaskLogError, ValidationError, ViduError
from . import pgchanges, pgsql, schema
from .store import Row, shown_target, user_data_dir

SCHEMES = ("postgresql://", "postgres://")
_CACHE_ENV = "VIDU_CACHE_DIR"
#: Every write transaction of a log takes this advisory lock first (any number, the same in
#: every release): writers of one database wait for each other instead of deadlocking.
_WRITE_LOCK = 0x76696475  # "vidu"
#: Owner locks (``owners.ServerLocks``) are session advisory locks keyed (this, hash of token).
_OWNER_LOCKS = 0x6F776E  # "own"
_LOCK_TIMEOUT = "30s"  # as long as SQLite's busy timeout
#: Each table's integer key, returned by ``insert``.
KEYS = {"tasks": "row_id", "events": "event_id", "votes": "vote_id"}


def is_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(SCHEMES)


class PostgresConnection:
    """``store.Connection`` on a ``psycopg.Connection`` (used under the store's lock)."""

    __slots__ = ("raw", "trace")

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        #: Called with every statement sent (as ``sqlite3``'s trace callback): tools, tests.
        self.trace: Callable[[str], None] | None = None

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        """A statement in psycopg's own style (``%s``), traced."""
        if self.trace is not None:
            self.trace(sql)
        return self.raw.execute(sql, tuple(args))

    def _run(self, sql: str, args: Sequence[Any]) -> psycopg.Cursor[Any]:
        return self.execute(pgsql.convert(sql), args)

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        return list(self._run(sql, args).fetchall())

    def row(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        found: Row | None = self._run(sql, args).fetchone()
        return found

    def table(self, sql: str, args: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        cur = self._run(sql, args)
        return [d.name for d in cur.description or ()], list(cur.fetchall())

    def run(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._run(sql, args).rowcount

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        cols = ", ".join(values)
        marks = ", ".join("%s" for _ in values)
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}) RETURNING {KEYS[table]}"
        found = self.execute(sql, tuple(values.values())).fetchone()
        return int(found[0]) if found else 0

    def change_mark(self) -> tuple[int | None, int]:
        return pgchanges.mark(self.raw)

    def changed_rows(self, since: int, most: int) -> list[Row]:
        return pgchanges.changed(self.raw, since, most)

    def identity(self) -> str:
        return pgchanges.identity(self.raw)


class PostgresStore:
    """A task log in a PostgreSQL database, given by its URL (``postgresql://user@host/db``)."""

    def __init__(
        self, url: str, *, cache_root: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        if not is_url(url):
            raise ValidationError("url", shown_target(url), "must start with postgresql://")
        try:
            info = conninfo_to_dict(url)
        except psycopg.ProgrammingError:
            raise ValidationError("url", shown_target(url), "is not a PostgreSQL URL") from None
        self._url = url
        self._secrets = tuple(s for s in _passwords(url, info) if s)
        user, host = str(info.get("user") or ""), str(info.get("host") or "localhost")
        port, db = str(info.get("port") or "5432"), str(info.get("dbname") or user or "postgres")
        self.location = f"{user + '@' if user else ''}{host}:{port}/{db}"
        env = os.environ if env is None else env
        root = Path(cache_root or env.get(_CACHE_ENV) or user_data_dir(env) / "teams")
        tag = hashlib.sha256(f"{host}:{port}/{db}".encode()).hexdigest()[:8]
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{host}-{port}-{db}")[:60]
        #: This machine's stand-in for the log: its folder holds ``cache_dir``; no file.
        self.path = (root / f"{name}-{tag}" / "vidu_tasks.pg").absolute()
        self._lock = threading.RLock()
        self._writes = 0
        self._owners: set[str] = set()  # owner tokens whose lock this connection holds
        self._conn: PostgresConnection | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({('postgresql://' + self.location)!r})"

    # -- connecting and upgrading --------------------------------------------------------
    def open(self) -> None:
        with self._lock:
            if self._conn is not None:
                return
            raw = self._connect()
            failed = ""
            try:
                self._setup(raw)
            except psycopg.Error as exc:  # not a vidu-nb log, no rights to create tables, ...
                failed = self._hide(exc) or type(exc).__name__
            except BaseException:
                raw.close()  # a log that cannot open (newer schema) holds no connection
                raise
            if failed:
                raw.close()
                raise TaskLogError(
                    f"cannot open the task log postgresql://{self.location}: {failed}"
                )
            self._conn = PostgresConnection(raw)

    def _connect(self) -> psycopg.Connection[Any]:
        failed = ""
        try:
            raw = psycopg.connect(
                self._url, autocommit=True, connect_timeout=15, application_name="vidu-nb"
            )
        except psycopg.Error as exc:
            failed = self._hide(exc) or type(exc).__name__
        if failed:  # raised outside the handler: the driver's error (its conninfo) not chained
            raise TaskLogError(f"cannot open the task log postgresql://{self.location}: {failed}")
        pgsql.adapt(raw)
        raw.execute(f"SET lock_timeout = '{_LOCK_TIMEOUT}'")
        return raw

    def _hide(self, exc: BaseException) -> str:
        """An error's text without the URL's password (a driver may quote its input)."""
        text = str(exc).strip()
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _setup(self, raw: psycopg.Connection[Any]) -> None:
        """Create or upgrade the tables and the change feed in one write transaction; a log
        that is up to date costs two reads."""
        if self._current(raw) and pgchanges.present(raw):
            return
        with raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            found = raw.execute("SELECT MAX(version) FROM schema_version").fetchone()
            version = int(found[0]) if found and found[0] is not None else 0
            if version > schema.SCHEMA_VERSION:
                raise schema.newer(version, schema.SCHEMA_VERSION)
            for number, step in enumerate(schema.MIGRATIONS[version:], version + 1):
                if not isinstance(step, schema.Version):
                    raise TaskLogError(
                        f"task log postgresql://{self.location}: schema step {number} is "
                        "written for SQLite only (a schema.Version renders for both)"
                    )
                for sql in step.ddl("postgresql"):
                    raw.execute(sql)
            raw.execute("DELETE FROM schema_version")
            raw.execute("INSERT INTO schema_version VALUES (%s)", (schema.SCHEMA_VERSION,))
            pgchanges.install(raw)

    @staticmethod
    def _current(raw: psycopg.Connection[Any]) -> bool:
        if raw.execute("SELECT to_regclass('schema_version')").fetchone() == (None,):
            return False
        found = raw.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = found[0] if found else None
        if version is not None and version > schema.SCHEMA_VERSION:
            raise schema.newer(version, schema.SCHEMA_VERSION)
        return version == schema.SCHEMA_VERSION

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.raw.close()  # the server drops this connection's owner locks
                self._conn = None
                self._owners.clear()

    # -- what the log asks of a store ----------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        """``vidu_tasks_cache`` in this machine's folder for the log (see the module)."""
        return self.path.parent / f"{self.path.stem}_cache"

    @property
    def version(self) -> tuple[int, int]:
        with self._lock:
            found = self._live().raw.execute("SELECT data_seq FROM log_meta LIMIT 1").fetchone()
            return (self._writes, int(found[0]) if found else -1)

    def integrity_check(self) -> str:
        """``"ok"``, or what is missing: every table and its columns, the schema version, the
        change feed, and rows no foreign key allows (a constraint dropped by hand)."""
        problems: list[str] = []
        with self.snapshot() as conn:
            for table in ("tasks", "events", "votes"):
                if conn.row("SELECT to_regclass(?)", (table,)) == (None,):
                    problems.append(f"table {table} is missing")
            if not problems:
                version = conn.row("SELECT MAX(version) FROM schema_version")
                if not version or version[0] != schema.SCHEMA_VERSION:
                    problems.append(f"schema version is {version and version[0]}")
                if not pgchanges.present(conn.raw):
                    problems.append("the change feed is incomplete")
                orphans = conn.row(
                    "SELECT COUNT(*) FROM events AS e LEFT JOIN tasks AS t"
                    " ON t.row_id = e.row_id WHERE t.row_id IS NULL"
                )
                if orphans and orphans[0]:
                    problems.append(f"{orphans[0]} events of no task")
        return "ok" if not problems else "; ".join(problems)

    def watch_changes(self) -> None:
        with self._lock:
            raw = self._live().raw
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                return  # inside a transaction: the next read outside it repairs
            if pgchanges.present(raw):
                return
            with raw.transaction():
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                pgchanges.install(raw)

    # -- the three kinds of access ---------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[PostgresConnection]:
        with self._lock:
            yield self._live()

    @contextmanager
    def snapshot(self) -> Iterator[PostgresConnection]:
        with self._lock:
            conn = self._live()
            own = conn.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            if own:
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                if own:  # COMMIT ends a failed transaction too (as a rollback)
                    conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[PostgresConnection]:
        """One write transaction, the log's advisory lock taken first (never deadlocks)."""
        with self._lock:
            conn = self._live()
            raw = conn.raw
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise ViduError(f"task log {self}: a write inside another transaction")
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if not raw.closed and raw.info.transaction_status != (
                    psycopg.pq.TransactionStatus.IDLE
                ):
                    conn.execute("ROLLBACK")
                raise
            self._writes += 1

    # -- owner locks, seen from every machine (``owners.ServerLocks``) ------------------------
    def hold_owner(self, token: str) -> bool:
        with self._lock:
            if token in self._owners:
                return True
            found = (
                self._live()
                .execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_OWNER_LOCKS, token))
                .fetchone()
            )
            if found and found[0]:
                self._owners.add(token)
                return True
            return False

    def release_owner(self, token: str) -> None:
        with self._lock:
            if token in self._owners and self._conn is not None and not self._conn.raw.closed:
                self._conn.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_OWNER_LOCKS, token)
                )
            self._owners.discard(token)

    def owner_alive(self, token: str) -> bool:
        """Held here, or by any other connection: one look at the server's lock table."""
        with self._lock:
            if token in self._owners:
                return True
            found = (
                self._live()
                .execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                    " AND classid = %s AND objid = CAST(hashtext(%s) AS bigint) & 4294967295"
                    " AND objsubid = 2)",
                    (_OWNER_LOCKS, token),
                )
                .fetchone()
            )
            return bool(found and found[0])

    @property
    def connection(self) -> PostgresConnection:
        """The connection itself, for tools and tests (``trace`` its statements); the log's
        parts never use it."""
        return self._live()

    def _live(self) -> PostgresConnection:
        if self._conn is None:
            raise ViduError(f"task log {self} is closed")
        if self._conn.raw.closed:  # the server restarted or the network dropped: once more
            trace = self._conn.trace
            self._conn = PostgresConnection(self._connect())
            self._conn.trace = trace
            for token in list(self._owners):  # the locks went with the old connection
                self._owners.discard(token)
                self.hold_owner(token)
        return self._conn


def _passwords(url: str, info: Mapping[str, Any]) -> list[str]:
    """The password as written in the URL (percent-encoded or not) and as parsed."""
    found = [str(info.get("password") or "")]
    match = re.match(r"^[a-z]+://[^:@/]*:([^@/]*)@", url)
    if match:
        found += [match.group(1), unquote(match.group(1))]
    return sorted(set(found), key=len, reverse=True)
