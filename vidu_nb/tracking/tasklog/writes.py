"""Writing the task log: submissions, state changes, events, tags and cached files.

Each public method is one change and one transaction (``Store.write``); every state change
also appends a row to ``events``, in the same transaction. The functions at the end are the
row statements every writing part shares (``unsent``, ``reconcile``, ``search``), run inside
the caller's transaction.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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
    task_values,
    update_values,
)

if TYPE_CHECKING:
    from ...request.spec import Img2VideoRequest
    from .files import Files
    from .store import Connection, Store


#: What every status check brings: alone, not worth a write.
ROUTINE = frozenset({"updated_at", "trace_ids"})


class Writes:
    """The changes a task log accepts (``TaskLog`` delegates them here)."""

    def __init__(self, store: Store, files: Files) -> None:
        self._store = store
        self._files = files

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
        values = self._files.request_values(request, experiment, tags, notes, base_url)
        values.update(task_values(task))
        values["client_ref"] = client_ref
        with self._store.write() as conn:
            if parent is not None:
                values["parent_row_id"] = find_row(conn, "parent", parent, self._store.path)
            if client_ref:  # sent at last: why it waited (429, credits) is no longer news
                conn.run(
                    "UPDATE tasks SET error = NULL WHERE client_ref = ? AND task_id IS NULL",
                    (client_ref,),
                )
            row_id = task_row(conn, task.id)
            if row_id is None and client_ref:
                row_id = ref_row(conn, client_ref)
            if row_id is None:
                row_id = conn.insert("tasks", values)
            else:
                keep_sent_time(conn, row_id, values)
                values.pop("submitted_by")  # who asked, not whose poller sent it
                set_row(conn, row_id, {k: v for k, v in values.items() if v is not None})
            add_event(conn, row_id, task.id, task.state, "submitted")
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
        values = self._files.request_values(request, experiment, tags, notes, base_url)
        values.update(client_ref=client_ref, state=state, err_code=err_code, error=str(error))
        if states.is_final(state):
            values["finished_at"] = values["submitted_at"]
        with self._store.write() as conn:
            row_id = ref_row(conn, client_ref)
            if row_id is None:
                row_id = conn.insert("tasks", values)
            else:
                keep_sent_time(conn, row_id, values)
                values.pop("submitted_by")  # who asked, not whose poller sent it
                set_row(conn, row_id, values)
            add_event(conn, row_id, None, state, str(error))
        return row_id

    def update(self, task: Task, *, error: BaseException | str | None = None) -> bool:
        """Store what the service says now; returns True when the state changed.

        An unknown task id gets a new row (e.g. a task tracked by id only).
        """
        hint = "; to follow a task by id use poller.track(task_id) or client.get(task_id)"
        task = need_task("task", task, hint if isinstance(task, str) else "")
        need_text("task.id", task.id)
        _check_error(error)
        with self._store.write() as conn:
            cols, found = conn.table("SELECT * FROM tasks WHERE task_id = ?", (task.id,))
            if not found:
                values = task_values(task)
                values.update(
                    model=task.model or None, off_peak=task.off_peak, error=error_text(error)
                )
                row_id = conn.insert("tasks", values)
                add_event(conn, row_id, task.id, task.state, "tracked")
                return True
            stored = dict(zip(cols, found[0], strict=True))
            values = update_values(stored, task, error, time.time())
            # A check that says what the row says already writes nothing: no fsync per
            # status check of a task still running (``updated_at`` is when the row changed,
            # and the trace ids kept are those of the submission, of each change and of
            # errors, not of the routine checks that would push them out of the last 20).
            if any(stored.get(k) != v for k, v in values.items() if k not in ROUTINE):
                set_row(conn, stored["row_id"], values)
            changed = task.state != stored["state"]
            if changed:
                add_event(conn, stored["row_id"], task.id, task.state, task.err_code)
        return changed

    def note_error(self, task_id: str, error: BaseException | str) -> None:
        """Remember the last error met while following a task (it keeps being followed)."""
        _check_error(error)
        with self._store.write() as conn:
            conn.run(
                "UPDATE tasks SET error = ?, updated_at = ? WHERE task_id = ?",
                (error_text(error), time.time(), task_id),
            )

    def set_state(self, task_id: str, state: str, detail: str = "") -> None:
        """Set a local state such as ``cancelled`` (recorded as an event)."""
        task_id, state = str(need_text("task_id", task_id)), str(need_text("state", state))
        with self._store.write() as conn:
            row_id = existing(conn, task_id, self._store.path)
            values: dict[str, Any] = {"state": state, "updated_at": time.time()}
            if states.is_final(state):
                values["finished_at"] = values["updated_at"]
            if states.is_cancelled(state):
                values["credits"] = 0  # refunded
            set_row(conn, row_id, values)
            add_event(conn, row_id, task_id, state, detail)

    def set_files(
        self,
        task_id: str,
        video_path: str | os.PathLike[str] | None,
        cover_path: str | os.PathLike[str] | None = None,
    ) -> None:
        """Record where the cached video and cover are (stored relative to the log folder)."""
        rel = self._files.rel
        values = {"video_path": rel(video_path), "cover_path": rel(cover_path)}
        with self._store.write() as conn:
            row_id = existing(conn, task_id, self._store.path)
            set_row(conn, row_id, {k: v for k, v in values.items() if v is not None})

    def tag(
        self, task_id: str, tags: Iterable[str] | None = None, notes: str | None = None
    ) -> None:
        """Add tags and/or replace the notes of a task."""
        task_id = str(need_text("task_id", task_id))
        with self._store.write() as conn:
            row_id = existing(conn, task_id, self._store.path)
            values: dict[str, Any] = {}
            if tags is not None:
                (stored,) = conn.row("SELECT tags FROM tasks WHERE row_id = ?", (row_id,)) or ("",)
                values["tags"] = join_tags([*stored.split(","), *check_tags(tags)])
            if notes is not None:
                values["notes"] = str(notes)
            if values:
                set_row(conn, row_id, values)


# -- the row statements the writing parts share (inside the caller's transaction) ------------
def task_row(conn: Connection, task_id: str) -> int | None:
    """The row id holding ``task_id``, or None."""
    row = conn.row("SELECT row_id FROM tasks WHERE task_id = ?", (task_id,))
    return row[0] if row else None


def ref_row(conn: Connection, client_ref: str) -> int | None:
    """The newest row sent with ``client_ref``, or None."""
    row = conn.row(
        "SELECT row_id FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1",
        (client_ref,),
    )
    return row[0] if row else None


def existing(conn: Connection, task_id: str, where: Any) -> int:
    """The row id holding ``task_id``; ``ViduError`` naming the log (``where``) if none."""
    row_id = task_row(conn, task_id)
    if row_id is None:
        raise ViduError(f"task {task_id} is not in {where}")
    return row_id


def keep_sent_time(conn: Connection, row_id: int, values: dict[str, Any]) -> None:
    """A row recorded earlier (queued, sent) keeps the time its request was sent."""
    sent = conn.row("SELECT submitted_at FROM tasks WHERE row_id = ?", (row_id,))
    if sent is not None and sent[0] is not None:
        values.pop("submitted_at", None)


def set_row(conn: Connection, row_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    conn.run(f"UPDATE tasks SET {sets} WHERE row_id = ?", (*values.values(), row_id))


def add_event(
    conn: Connection, row_id: int, task_id: str | None, state: str, detail: str = ""
) -> None:
    """A state change of a row, in the ``events`` table."""
    conn.run(
        "INSERT INTO events (row_id, task_id, state, at, detail) VALUES (?, ?, ?, ?, ?)",
        (row_id, task_id, state, time.time(), detail or None),
    )


def _check_error(error: Any) -> None:
    if error is not None and not isinstance(error, (BaseException, str)):
        raise ValidationError("error", error, "must be an exception, a string or None")
