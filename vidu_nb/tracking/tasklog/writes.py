"""Writing the task log: submissions, state changes, events, tags and cached files.

Each public method is one change and one transaction (``Store._write``); every state change
also appends a row to ``events``, in the same transaction. The API key is never among the
values: requests are stored as their parameters and an image fingerprint (sha256, format, size)
plus a small thumbnail file in the cache folder.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ... import states
from ...client.task import Task
from ...errors import ValidationError, ViduError
from .judgments import find_row
from .rows import (
    check_tags,
    error_text,
    join_tags,
    need_task,
    need_text,
    request_values,
    task_values,
    update_values,
)
from .store import Store

if TYPE_CHECKING:
    from ...request.spec import Img2VideoRequest


class ImageFiles(NamedTuple):
    """A start image's fingerprint and the files kept for it (paths relative to the log)."""

    image: Any  # the StartImage, kept alive while its id() keys a batch's memo
    sha256: str
    thumbnail_path: str | None
    image_path: str | None


class Writes(Store):
    """The changes a task log accepts (mixed into ``TaskLog``)."""

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
        parent: Any = None,
    ) -> int:
        """Record a task the service accepted; returns the local row id.

        A row already holding this task id or ``client_ref`` (an uncertain submission) is
        completed instead of duplicated. ``parent`` (a task id, row id or row of this log) is
        the task this one re-runs (``vidu_nb.promote``): stored as ``parent_row_id``.
        """
        task = need_task("task", task)
        values = self._request_values(request, experiment, tags, notes, base_url)
        values.update(task_values(task))
        values["client_ref"] = client_ref
        with self._write() as conn:
            if parent is not None:
                values["parent_row_id"] = find_row(conn, "parent", parent, self.path)
            if client_ref:  # sent at last: why it waited (429, credits) is no longer news
                conn.execute(
                    "UPDATE tasks SET error = NULL WHERE client_ref = ? AND task_id IS NULL",
                    (client_ref,),
                )
            row_id = self._row_id(conn, task.id)
            if row_id is None and client_ref:
                row_id = self._ref_row(conn, client_ref)
            if row_id is None:
                row_id = self._insert(conn, values)
            else:
                self._keep_sent_time(conn, row_id, values)
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
        values = self._request_values(request, experiment, tags, notes, base_url)
        values.update(client_ref=client_ref, state=state, err_code=err_code, error=str(error))
        if states.is_final(state):
            values["finished_at"] = values["submitted_at"]
        with self._write() as conn:
            row_id = self._ref_row(conn, client_ref)
            if row_id is None:
                row_id = self._insert(conn, values)
            else:
                self._keep_sent_time(conn, row_id, values)
                self._set(conn, row_id, values)
            self._event(conn, row_id, None, state, str(error))
        return row_id

    def update(self, task: Task, *, error: BaseException | str | None = None) -> bool:
        """Store what the service says now; returns True when the state changed.

        An unknown task id gets a new row (e.g. a task tracked by id only).
        """
        hint = "; to follow a task by id use poller.track(task_id) or client.get(task_id)"
        task = need_task("task", task, hint if isinstance(task, str) else "")
        need_text("task.id", task.id)
        _check_error(error)
        with self._write() as conn:
            cur = conn.execute("SELECT * FROM tasks WHERE task_id = ?", (task.id,))
            row = cur.fetchone()
            if row is None:
                values = task_values(task)
                values.update(
                    model=task.model or None, off_peak=task.off_peak, error=error_text(error)
                )
                row_id = self._insert(conn, values)
                self._event(conn, row_id, task.id, task.state, "tracked")
                return True
            stored = dict(zip([d[0] for d in cur.description], row, strict=True))
            values = update_values(stored, task, error, time.time())
            self._set(conn, stored["row_id"], values)
            changed = task.state != stored["state"]
            if changed:
                self._event(conn, stored["row_id"], task.id, task.state, task.err_code)
        return changed

    def note_error(self, task_id: str, error: BaseException | str) -> None:
        """Remember the last error met while following a task (it keeps being followed)."""
        _check_error(error)
        with self._write() as conn:
            conn.execute(
                "UPDATE tasks SET error = ?, updated_at = ? WHERE task_id = ?",
                (error_text(error), time.time(), task_id),
            )

    def set_state(self, task_id: str, state: str, detail: str = "") -> None:
        """Set a local state such as ``cancelled`` (recorded as an event)."""
        task_id, state = str(need_text("task_id", task_id)), str(need_text("state", state))
        with self._write() as conn:
            row_id = self._existing(conn, task_id)
            values: dict[str, Any] = {"state": state, "updated_at": time.time()}
            if states.is_final(state):
                values["finished_at"] = values["updated_at"]
            if states.is_cancelled(state):
                values["credits"] = 0  # refunded
            self._set(conn, row_id, values)
            self._event(conn, row_id, task_id, state, detail)

    def set_files(
        self,
        task_id: str,
        video_path: str | os.PathLike[str] | None,
        cover_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Record where the cached video and cover are (stored relative to the log folder)."""
        values = {"video_path": self._rel(video_path), "cover_path": self._rel(cover_path)}
        with self._write() as conn:
            row_id = self._existing(conn, task_id)
            self._set(conn, row_id, {k: v for k, v in values.items() if v is not None})

    def tag(
        self, task_id: str, tags: Iterable[str] | None = None, notes: str | None = None
    ) -> None:
        """Add tags and/or replace the notes of a task."""
        task_id = str(need_text("task_id", task_id))
        with self._write() as conn:
            row_id = self._existing(conn, task_id)
            values: dict[str, Any] = {}
            if tags is not None:
                (stored,) = conn.execute(
                    "SELECT tags FROM tasks WHERE row_id = ?", (row_id,)
                ).fetchone()
                values["tags"] = join_tags([*stored.split(","), *check_tags(tags)])
            if notes is not None:
                values["notes"] = str(notes)
            if values:
                self._set(conn, row_id, values)

    # -- helpers ---------------------------------------------------------------------------
    def _existing(self, conn: sqlite3.Connection, task_id: str) -> int:
        row_id = self._row_id(conn, task_id)
        if row_id is None:
            raise ViduError(f"task {task_id} is not in {self.path}")
        return row_id

    def _keep_sent_time(
        self, conn: sqlite3.Connection, row_id: int, values: dict[str, Any]
    ) -> None:
        """A row recorded earlier (queued, sent) keeps the time its request was sent."""
        (sent,) = conn.execute(
            "SELECT submitted_at FROM tasks WHERE row_id = ?", (row_id,)
        ).fetchone()
        if sent is not None:
            values.pop("submitted_at", None)

    def _insert(self, conn: sqlite3.Connection, values: dict[str, Any]) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = conn.execute(f"INSERT INTO tasks ({cols}) VALUES ({marks})", tuple(values.values()))
        return int(cur.lastrowid or 0)

    def _set(self, conn: sqlite3.Connection, row_id: int, values: dict[str, Any]) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE tasks SET {sets} WHERE row_id = ?", (*values.values(), row_id))

    def _event(
        self,
        conn: sqlite3.Connection,
        row_id: int,
        task_id: str | None,
        state: str,
        detail: str = "",
    ) -> None:
        conn.execute(
            "INSERT INTO events (row_id, task_id, state, at, detail) VALUES (?, ?, ?, ?, ?)",
            (row_id, task_id, state, time.time(), detail or None),
        )

    def _request_values(
        self,
        request: Img2VideoRequest,
        experiment: str | None,
        tags: Iterable[str],
        notes: str,
        base_url: str | None,
        files: dict[int, ImageFiles] | None = None,
    ) -> dict[str, Any]:
        """The row values of a request; ``files`` remembers the image files already kept in
        this batch (by image object), so each distinct image is hashed and stored once."""
        img = request.start_image
        kept = None if files is None else files.get(id(img))
        if kept is None:
            sha = img.sha256
            kept = ImageFiles(img, sha, self._thumbnail(img, sha), self._keep_image(img, sha))
            if files is not None:
                files[id(img)] = kept  # ``kept`` holds ``img``, so its id stays unique
        values = request_values(
            request,
            experiment=experiment,
            tags=tags,
            notes=notes,
            base_url=base_url,
            thumbnail_path=kept.thumbnail_path,
            image_sha256=kept.sha256,
        )
        values["image_path"] = kept.image_path
        return values

    def _thumbnail(self, img: Any, sha256: str) -> str | None:
        """Write the image's thumbnail once per distinct image (named by its sha256)."""
        try:
            target = self._cache_file("thumbs", f"{sha256}.jpg", img.thumbnail)
            return None if target is None else self._rel(target)
        except OSError:
            return None  # a thumbnail is a convenience; never lose the record over it

    def _keep_image(self, img: Any, sha256: str) -> str | None:
        """Keep a local start image as ``images/<sha256>.<format>`` (once per distinct image),
        so the request can be rebuilt and sent after a restart; a URL is in ``image_url``."""
        if img.data is None:
            return None
        target = self._cache_file("images", f"{sha256}.{img.format}", lambda: img.data)
        return None if target is None else self._rel(target)

    def _cache_file(self, kind: str, name: str, data: Any) -> Path | None:
        """``<cache>/<kind>/<name>``, written atomically with ``data()`` unless it exists."""
        folder = self.cache_dir / kind
        target = folder / name
        if not target.exists():
            content = data()
            if content is None:
                return None
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_bytes(content)
            os.replace(tmp, target)
        return target


def _check_error(error: Any) -> None:
    if error is not None and not isinstance(error, (BaseException, str)):
        raise ValidationError("error", error, "must be an exception, a string or None")
