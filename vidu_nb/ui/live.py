"""What a view knows of a submission while it is followed: its row as a ``TaskView`` and its
task id (from the poller while it waits or is sent, then from the log), and the session's
``Hub`` that routes the poller's events to the views (see ``hub``).
"""

from __future__ import annotations

from .. import states
from ..client.task import Task
from ..tracking.poller import Submission
from .hub import Hub
from .rows import TaskView
from .session import Session


def hub_for(session: Session) -> Hub:
    return session.hub


def view_of(item: Submission | Task | str, session: Session) -> TaskView:
    """What the log knows of a submission (or a task, or a task id); "queued" before it is
    sent."""
    if not isinstance(item, str):  # a Task (or its row)
        return TaskView.of(item, session.log)
    if isinstance(item, Submission):
        row = item.row()
    else:
        row = session.log.get_by_ref(item) or session.log.get(item)
    return TaskView.of(row) if row else TaskView({"task_id": "", "state": states.QUEUED})


def task_id_of(item: Submission | Task | str, session: Session) -> str | None:
    """The task id of a submission (``None`` while it waits in the local queue)."""
    if not isinstance(item, str):  # a Task (or its row)
        return getattr(item, "id", None)
    tid = session.poller.task_id(item) if session.has_poller else None
    if tid:
        return tid
    if isinstance(item, Submission):
        return item.task_id()
    row = session.log.get_by_ref(item) or session.log.get(item)
    return row.get("task_id") if row else None
