"""Settling uncertain submissions: attach the task that was (or was not) created to its row.

An uncertain row has no task id, but the request carried its ``client_ref`` in ``payload``
(or the user's own payload), and the service echoes ``payload`` in every task view and in
the body it POSTs to ``callback_url``. So a row can be settled from a task id the user found
on the dashboard (checked against the service when a client is given), or from a callback.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ... import states
from ...client.task import Task
from ...errors import ValidationError, ViduError
from .rows import need_text, task_values
from .writes import add_event, set_row, task_row

if TYPE_CHECKING:
    from ...client.core import TaskReader
    from .reads import Reads
    from .store import Connection, Store
    from .writes import Writes

#: Rows that may still get a task id (``states.RECONCILABLE_STATES``; the old name stays).
RECONCILABLE = states.RECONCILABLE_STATES


class Reconcile:
    """Reconciliation of uncertain submissions (``TaskLog`` delegates here)."""

    def __init__(self, store: Store, reads: Reads, writes: Writes) -> None:
        self._store = store
        self._reads = reads
        self._writes = writes

    def reconcile(
        self, client_ref: str, task_or_id: Task | str, client: TaskReader | None = None
    ) -> int:
        """Attach a task to the uncertain submission ``client_ref``; returns the row id.

        ``task_or_id`` is a ``Task`` or a task id (say, found on the service's dashboard).
        With ``client`` the id is fetched first, so the row gets the task's current state and
        its ``payload`` is checked against the submission: a different payload means another
        task, and nothing is changed. Without a client the row waits in ``created`` for a
        poller to follow it (``poller.track(task_id)`` or ``Poller.resume(client, log)``).
        """
        client_ref = str(need_text("client_ref", client_ref))
        if not isinstance(task_or_id, (Task, str)):
            why = f"must be a Task or a task id string, not {type(task_or_id).__name__}"
            raise ValidationError("task_or_id", task_or_id, why)
        if client is not None and not callable(getattr(client, "get", None)):
            raise ValidationError("client", client, "must have get(task_id) (a ViduClient)")
        task = task_or_id if isinstance(task_or_id, Task) else None
        if task is None:
            task_id = str(need_text("task_or_id", task_or_id))
            task = client.get(task_id) if client is not None else Task(id=task_id)
        with self._store.write() as conn:
            row = self._ref_dict(conn, client_ref)
            if row["task_id"] == task.id:  # done already: just store what is new
                row_id = row["row_id"]
            else:
                self._check(row, client_ref, task)
                row_id = row["row_id"]
                other = task_row(conn, task.id)
                if other is not None:
                    raise ViduError(f"task {task.id} is already in the log (row {other})")
            values = {k: v for k, v in task_values(task).items() if v is not None}
            values.pop("submitted_at", None)
            values["error"] = None
            set_row(conn, row_id, values)
            add_event(conn, row_id, task.id, task.state, f"reconciled {client_ref}")
        return row_id

    def reconcile_from_callback(self, body: Mapping[str, Any] | str | bytes) -> int | None:
        """Use a callback's body (the task as JSON, ``payload`` included) to settle the
        uncertain submission it belongs to, or to update a task already in the log.

        Returns the row id, or ``None`` when the body matches nothing in this log. Verify the
        callback's signature first (``ViduClient.verify_callback``): the body is trusted here.
        """
        if not isinstance(body, (str, bytes, bytearray, Mapping)):
            why = "must be the callback's JSON body (str or bytes) or a dict"
            raise ValidationError("body", body, why)
        try:
            data = json.loads(body) if isinstance(body, (str, bytes, bytearray)) else dict(body)
        except ValueError as exc:
            raise ValidationError("body", body, f"is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValidationError("body", body, "must be a JSON object")
        task = Task.from_response(data)
        if not task.id:
            raise ViduError("callback body has no task id ('id' or 'task_id')")
        known = self._reads.get(task.id)
        if known is not None:
            # Callbacks may come out of order: never step back from a later state.
            if states.progress(task.state) >= states.progress(known["state"]):
                self._writes.update(task)
            return int(known["row_id"])
        if not task.payload:
            return None
        marks = ", ".join("?" for _ in RECONCILABLE)
        rows = self._reads.dicts(
            f"SELECT * FROM tasks WHERE task_id IS NULL AND state IN ({marks})"
            " AND (client_ref = ? OR payload = ?) ORDER BY row_id",
            (*RECONCILABLE, task.payload, task.payload),
        )
        if not rows:
            return None
        if len(rows) > 1:
            refs = ", ".join(r["client_ref"] for r in rows)
            raise ViduError(
                f"task {task.id}: its payload matches {len(rows)} uncertain submissions "
                f"({refs}); reconcile(client_ref, {task.id!r}) the right one"
            )
        return self.reconcile(rows[0]["client_ref"], task)

    # -- helpers ---------------------------------------------------------------------------
    def _ref_dict(self, conn: Connection, client_ref: str) -> dict[str, Any]:
        cols, found = conn.table(
            "SELECT * FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1", (client_ref,)
        )
        if not found:
            raise ViduError(f"no task with client_ref {client_ref!r} in {self._store.path}")
        return dict(zip(cols, found[0], strict=True))

    @staticmethod
    def _check(row: dict[str, Any], client_ref: str, task: Task) -> None:
        """Refuse a row that is not waiting for a task, or a task that is not this request."""
        if row["task_id"] is not None:
            raise ViduError(f"{client_ref!r} already has task {row['task_id']}, not {task.id}")
        if row["state"] not in RECONCILABLE:
            raise ViduError(
                f"{client_ref!r} is {row['state']!r}: only {' or '.join(RECONCILABLE)} "
                "submissions can be reconciled"
            )
        expected = row["payload"] or client_ref
        if task.payload and task.payload != expected:
            shown = task.payload if len(task.payload) <= 60 else task.payload[:57] + "..."
            raise ViduError(
                f"task {task.id} carries payload {shown!r}, not this submission's "
                f"{client_ref!r}: it is another task; nothing was changed"
            )
