"""``Submission``: what ``Poller.submit`` returns, a typed handle on a request it queued.

A submission is known before the service has answered: it has no task id yet, only the
``client_ref`` put in its payload (``vidu-nb:<uuid>``) and the task log row it was recorded in.
The handle IS that reference as text (a ``str``), so it compares, hashes, prints, joins and is
stored exactly like the string earlier versions returned; it also carries the row id and the
log, so what became of it is one call away: ``row()``, ``task_id()``, ``state()``. Views tell
it from a task id or a ``Task`` by its type instead of by looking it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ..tasklog import TaskLog


class Submission(str):
    """The ``client_ref`` of a queued request (as text), its log row and its log; read-only."""

    row_id: int
    log: TaskLog

    def __new__(cls, client_ref: str, row_id: int, log: TaskLog) -> Submission:
        self = super().__new__(cls, client_ref)
        object.__setattr__(self, "row_id", row_id)
        object.__setattr__(self, "log", log)
        return self

    @property
    def client_ref(self) -> str:
        """The reference in the request's payload, as a plain string."""
        return str.__str__(self)

    def row(self) -> dict[str, Any] | None:
        """The submission's current row in the log (``None`` only if it was deleted)."""
        return self.log.get_by_ref(self.client_ref)

    def task_id(self) -> str | None:
        """The service's task id, or ``None`` while the request waits to be sent."""
        row = self.row()
        return (row or {}).get("task_id") or None

    def state(self) -> str | None:
        """The state the log holds now (``queued``, ``submitting``, then the service's)."""
        row = self.row()
        return row.get("state") if row else None

    def __repr__(self) -> str:
        return f"Submission({self.client_ref!r}, row_id={self.row_id})"

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"a Submission is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"a Submission is read-only (cannot delete {name!r})")

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        # Pickled or copied as its text: the log it points to belongs to this process.
        return (str, (self.client_ref,))
