"""``TaskLog``: a durable SQLite record of every task, read back as a pandas DataFrame.

Tasks finish minutes after they are sent, often after the kernel restarted, so every change is
written at once in its own transaction. The file uses WAL mode with ``synchronous=FULL``: a
process killed at any moment leaves a log that opens with every committed change, and two
kernels can write the same log (``BEGIN IMMEDIATE`` plus a busy timeout serialises them).
Within a process one connection is shared under a lock, because the poller writes from its
thread while the notebook reads. The API key is never stored; the image is kept as a
fingerprint (sha256, format, size) plus a small thumbnail file in the cache folder.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ViduError
from ..task import Task
from . import schema
from .rows import (
    CLOSED_STATES,
    check_tags,
    epoch,
    error_text,
    join_tags,
    merge_traces,
    pythonic,
    request_values,
    task_values,
)

if TYPE_CHECKING:
    import pandas as pd

    from ..poller import Poller
    from ..spec import Img2VideoRequest

DEFAULT_PATH = "vidu_tasks.sqlite"
_BUSY_TIMEOUT_MS = 30_000


def default_log_path() -> Path:
    """``$VIDU_LOG_PATH`` or ``./vidu_tasks.sqlite`` in the working directory."""
    return Path(os.environ.get("VIDU_LOG_PATH") or DEFAULT_PATH)


class TaskLog:
    """Every task submitted through vidu-nb, in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_log_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._writes = 0
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
            check_same_thread=False,
        )  # fmt: skip
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise ViduError(f"task log {self.path}: cannot enable WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        schema.migrate(conn)

    def __repr__(self) -> str:
        return f"TaskLog({str(self.path)!r})"

    def __enter__(self) -> TaskLog:
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

    # -- plumbing ------------------------------------------------------------------------
    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ViduError(f"task log {self.path} is closed")
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so it never deadlocks."""
        with self._lock:
            conn = self._db
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            self._writes += 1

    def _row_id(self, conn: sqlite3.Connection, task_id: str) -> int | None:
        row = conn.execute("SELECT row_id FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return row[0] if row else None

    def _insert(self, conn: sqlite3.Connection, values: dict[str, Any]) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = conn.execute(f"INSERT INTO tasks ({cols}) VALUES ({marks})", tuple(values.values()))
        return int(cur.lastrowid or 0)

    def _set(self, conn: sqlite3.Connection, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE tasks SET {sets} WHERE row_id = ?", (*values.values(), row_id))

    def _event(self, conn, row_id: int, task_id: str | None, state: str, detail: str = "") -> None:
        conn.execute(
            "INSERT INTO events (row_id, task_id, state, at, detail) VALUES (?, ?, ?, ?, ?)",
            (row_id, task_id, state, time.time(), detail or None),
        )

    # -- recording -----------------------------------------------------------------------
    def record_submission(
        self,
        request: Img2VideoRequest,
        task: Task,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        client_ref: str | None = None,
        base_url: str | None = None,
    ) -> int:
        """Record a task the service accepted; returns the local row id.

        A row already holding this task id or ``client_ref`` (an uncertain submission) is
        completed instead of duplicated.
        """
        values = request_values(
            request,
            experiment=experiment,
            tags=tags,
            notes=notes,
            base_url=base_url,
            thumbnail_path=self._thumbnail(request.start_image),
        )
        values.update(task_values(task))
        values["client_ref"] = client_ref
        with self._write() as conn:
            row_id = self._row_id(conn, task.id)
            if row_id is None and client_ref:
                row_id = self._ref_row(conn, client_ref)
            if row_id is None:
                row_id = self._insert(conn, values)
            else:
                values.pop("submitted_at", None)
                self._set(conn, row_id, {k: v for k, v in values.items() if v is not None})
            self._event(conn, row_id, task.id, task.state, "submitted")
        return row_id

    def record_uncertain(
        self,
        request: Img2VideoRequest,
        client_ref: str,
        error: BaseException | str,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        state: str = "uncertain",
        err_code: str = "",
        base_url: str | None = None,
    ) -> int:
        """Record a submission without a task id: its outcome is unknown (``SubmissionUncertain``)
        or it was refused (``state="failed"``). ``reconcile`` fills the id in later."""
        if not client_ref:
            raise ViduError("record_uncertain needs the client_ref that identifies the request")
        values = request_values(
            request,
            experiment=experiment,
            tags=tags,
            notes=notes,
            base_url=base_url,
            thumbnail_path=self._thumbnail(request.start_image),
        )
        values.update(client_ref=client_ref, state=state, err_code=err_code, error=str(error))
        if state in CLOSED_STATES:
            values["finished_at"] = values["submitted_at"]
        with self._write() as conn:
            row_id = self._ref_row(conn, client_ref)
            if row_id is None:
                row_id = self._insert(conn, values)
            else:
                self._set(conn, row_id, values)
            self._event(conn, row_id, None, state, str(error))
        return row_id

    def reconcile(self, client_ref: str, task: Task) -> int:
        """Attach the task found for an uncertain submission to its row."""
        with self._write() as conn:
            row_id = self._ref_row(conn, client_ref)
            if row_id is None:
                raise ViduError(f"no task with client_ref {client_ref!r} in {self.path}")
            other = self._row_id(conn, task.id)
            if other is not None and other != row_id:
                raise ViduError(f"task {task.id} is already in the log (row {other})")
            values = {k: v for k, v in task_values(task).items() if v is not None}
            values.pop("submitted_at", None)
            values["error"] = None
            self._set(conn, row_id, values)
            self._event(conn, row_id, task.id, task.state, f"reconciled {client_ref}")
        return row_id

    def update(self, task: Task, *, error: BaseException | str | None = None) -> bool:
        """Store what the service says now; returns True when the state changed.

        An unknown task id gets a new row (e.g. a task tracked by id only).
        """
        now = time.time()
        with self._write() as conn:
            row = conn.execute(
                "SELECT row_id, state, trace_ids, queueing_at, processing_at, video_url "
                "FROM tasks WHERE task_id = ?",
                (task.id,),
            ).fetchone()
            if row is None:
                values = task_values(task)
                values.update(
                    model=task.model or None, off_peak=task.off_peak, error=error_text(error)
                )
                row_id = self._insert(conn, values)
                self._event(conn, row_id, task.id, task.state, "tracked")
                return True
            row_id, old_state, traces, queueing_at, processing_at, old_url = row
            values: dict[str, Any] = {"state": task.state, "err_code": task.err_code}
            values["updated_at"] = now
            if task.credits is not None:
                values["credits"] = task.credits
            if task.seed is not None:
                values["seed"] = task.seed
            if task.created_at is not None:
                values["created_at"] = epoch(task.created_at)
            if task.creations and task.video_url != old_url:
                values.update(
                    video_url=task.video_url, cover_url=task.cover_url, urls_fetched_at=now
                )
            merged = merge_traces(traces, task.trace_ids)
            if merged != traces:
                values["trace_ids"] = merged
            if error is not None:
                values["error"] = error_text(error)
            elif task.state == "success":
                values["error"] = None
            changed = task.state != old_state
            if changed:
                if task.state == "queueing" and queueing_at is None:
                    values["queueing_at"] = now
                if task.state == "processing" and processing_at is None:
                    values["processing_at"] = now
                if task.state in CLOSED_STATES:
                    values["finished_at"] = now
            self._set(conn, row_id, values)
            if changed:
                self._event(conn, row_id, task.id, task.state, task.err_code)
        return changed

    def note_error(self, task_id: str, error: BaseException | str) -> None:
        """Remember the last error met while following a task (it keeps being followed)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE tasks SET error = ?, updated_at = ? WHERE task_id = ?",
                (error_text(error), time.time(), task_id),
            )

    def set_state(self, task_id: str, state: str, detail: str = "") -> None:
        """Set a local state such as ``cancelled`` (recorded as an event)."""
        with self._write() as conn:
            row_id = self._row_id(conn, task_id)
            if row_id is None:
                raise ViduError(f"task {task_id} is not in {self.path}")
            values: dict[str, Any] = {"state": state, "updated_at": time.time()}
            if state in CLOSED_STATES:
                values["finished_at"] = values["updated_at"]
            self._set(conn, row_id, values)
            self._event(conn, row_id, task_id, state, detail)

    def set_files(
        self, task_id: str, video_path: str | os.PathLike[str] | None, cover_path=None
    ) -> None:
        """Record where the cached video and cover are (stored relative to the log folder)."""
        values = {"video_path": self._rel(video_path), "cover_path": self._rel(cover_path)}
        with self._write() as conn:
            row_id = self._row_id(conn, task_id)
            if row_id is None:
                raise ViduError(f"task {task_id} is not in {self.path}")
            self._set(conn, row_id, {k: v for k, v in values.items() if v is not None})

    def tag(
        self, task_id: str, tags: Iterable[str] | None = None, notes: str | None = None
    ) -> None:
        """Add tags and/or replace the notes of a task."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT row_id, tags FROM tasks WHERE task_id = ?", (task_id,)
            ).fetchone()
            if row is None:
                raise ViduError(f"task {task_id} is not in {self.path}")
            values: dict[str, Any] = {}
            if tags is not None:
                values["tags"] = join_tags([*row[1].split(","), *check_tags(tags)])
            if notes is not None:
                values["notes"] = str(notes)
            if values:
                self._set(conn, row[0], values)

    # -- reading -------------------------------------------------------------------------
    def get(self, task_id: str) -> dict[str, Any] | None:
        """One task as a dict of Python values (times as aware datetimes), or ``None``."""
        return self._one("task_id = ?", task_id)

    def get_by_ref(self, client_ref: str) -> dict[str, Any] | None:
        return self._one("client_ref = ? ORDER BY row_id DESC LIMIT 1", client_ref)

    def _one(self, where: str, value: Any) -> dict[str, Any] | None:
        with self._lock:
            cur = self._db.execute(f"SELECT * FROM tasks WHERE {where}", (value,))
            row = cur.fetchone()
            cols = [d[0] for d in cur.description]
        return self._py(dict(zip(cols, row, strict=True))) if row else None

    def pending(self) -> list[str]:
        """Ids of tasks that are not finished yet, oldest first (what ``resume`` follows)."""
        marks = ", ".join("?" for _ in CLOSED_STATES)
        with self._lock:
            rows = self._db.execute(
                f"SELECT task_id FROM tasks WHERE task_id IS NOT NULL AND state NOT IN ({marks})"
                " AND state != 'uncertain' ORDER BY row_id",
                tuple(CLOSED_STATES),
            ).fetchall()
        return [r[0] for r in rows]

    def missing_files(self) -> list[str]:
        """Ids of succeeded tasks whose video is not cached yet (``resume`` fetches them)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT task_id FROM tasks WHERE state = 'success' AND task_id IS NOT NULL"
                " AND video_path IS NULL ORDER BY row_id"
            ).fetchall()
        return [r[0] for r in rows]

    def uncertain(self) -> list[dict[str, Any]]:
        """Submissions whose outcome is unknown, to reconcile by their ``client_ref``."""
        with self._lock:
            cur = self._db.execute("SELECT * FROM tasks WHERE state = 'uncertain'")
            cols = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return [self._py(dict(zip(cols, r, strict=True))) for r in rows]

    def events(self, task_id: str | None = None) -> pd.DataFrame:
        """State changes (all, or one task's) with UTC timestamps."""
        import pandas as pd

        sql = "SELECT event_id, row_id, task_id, state, at, detail FROM events"
        args: tuple = ()
        if task_id is not None:
            sql += " WHERE row_id = (SELECT row_id FROM tasks WHERE task_id = ?)"
            args = (task_id,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY event_id", args).fetchall()
        df = pd.DataFrame.from_records(
            rows, columns=["event_id", "row_id", "task_id", "state", "at", "detail"]
        )
        at = pd.to_datetime(df["at"].astype("float64"), unit="s", utc=True)
        df["at"] = at.astype("datetime64[ns, UTC]")
        return df

    def to_frame(
        self,
        experiment: str | None = None,
        state: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tag: str | None = None,
    ) -> pd.DataFrame:
        """The log as a DataFrame (one row per task), filtered in SQL; ``since``/``until``
        bound ``submitted_at`` (naive datetimes are taken as UTC)."""
        where, args = [], []
        if experiment is not None:
            where.append("experiment = ?")
            args.append(experiment)
        for col, want in (("state", state), ("model", model)):
            if want is not None:
                values = [want] if isinstance(want, str) else list(want)
                where.append(f"{col} IN ({', '.join('?' for _ in values)})")
                args.extend(values)
        if since is not None:
            where.append("submitted_at >= ?")
            args.append(epoch(since))
        if until is not None:
            where.append("submitted_at < ?")
            args.append(epoch(until))
        if tag is not None:
            where.append("(',' || tags || ',') LIKE ?")
            args.append(f"%,{tag},%")
        sql = "SELECT * FROM tasks" + (" WHERE " + " AND ".join(where) if where else "")
        with self._lock:
            cur = self._db.execute(sql + " ORDER BY row_id", args)
            rows = cur.fetchall()
            cols = [d[0] for d in cur.description]
        return schema.to_frame(rows, cols)

    @property
    def df(self) -> pd.DataFrame:
        """The whole log as a DataFrame (``to_frame()`` with no filter)."""
        return self.to_frame()

    def to_csv(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        self.to_frame(**filters).to_csv(path, index=False)
        return Path(path)

    def to_parquet(self, path: str | os.PathLike[str], **filters: Any) -> Path:
        """Parquet export (needs pyarrow: ``pip install vidu-nb[parquet]``)."""
        self.to_frame(**filters).to_parquet(path, index=False)
        return Path(path)

    def charged_credits(self) -> list[tuple[Any, ...]]:
        """``(model, resolution, duration, off_peak, is_rec, credits, count)`` over successful
        tasks, grouped: the ledger learns its estimates from this."""
        with self._lock:
            return self._db.execute(
                "SELECT model, resolution, duration, COALESCE(off_peak, 0), COALESCE(is_rec, 0),"
                " credits, COUNT(*) FROM tasks WHERE state = 'success' AND credits IS NOT NULL"
                " AND model IS NOT NULL AND resolution IS NOT NULL AND duration IS NOT NULL"
                " GROUP BY 1, 2, 3, 4, 5, 6"
            ).fetchall()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM tasks").fetchone()[0])

    def integrity_check(self) -> str:
        with self._lock:
            return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    # -- following -----------------------------------------------------------------------
    def resume(self, client: Any, **poller_kwargs: Any) -> Poller:
        """Start a background poller following every unfinished task (after a restart), and
        fetching the videos of succeeded tasks that are not cached yet."""
        from ..poller import Poller

        poller = Poller(client, self, **poller_kwargs)
        for task_id in self.pending():
            poller.track(task_id)
        poller.start()
        if poller.cache is not None:
            for task_id in self.missing_files():
                poller.download(task_id)
        return poller

    # -- helpers -------------------------------------------------------------------------
    def _ref_row(self, conn: sqlite3.Connection, client_ref: str) -> int | None:
        row = conn.execute(
            "SELECT row_id FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1",
            (client_ref,),
        ).fetchone()
        return row[0] if row else None

    def _rel(self, path: str | os.PathLike[str] | None) -> str | None:
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.path.parent.resolve()))
        except ValueError:
            return str(p)

    def _py(self, row: dict[str, Any]) -> dict[str, Any]:
        return pythonic(row, self.path.parent)

    def _thumbnail(self, img: Any) -> str | None:
        """Write the image's thumbnail once per distinct image (named by its sha256)."""
        try:
            folder = self.cache_dir / "thumbs"
            target = folder / f"{img.sha256}.jpg"
            if not target.exists():
                data = img.thumbnail()
                if data is None:
                    return None
                folder.mkdir(parents=True, exist_ok=True)
                tmp = folder / f".{img.sha256}.{os.getpid()}.{threading.get_ident()}.tmp"
                tmp.write_bytes(data)
                os.replace(tmp, target)
            return self._rel(target)
        except OSError:
            return None  # a thumbnail is a convenience; never lose the record over it
