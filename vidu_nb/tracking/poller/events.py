"""What the poller tells the outside: events for subscribers, counters, recorded errors.

Subscribers are called from the poller's threads; a broken callback is logged and skipped so a
UI bug can never stop the polling. Errors are recorded in the task log best effort for the same
reason: the log is where the user looks, but failing to write there must not kill a worker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...client.task import Task

if TYPE_CHECKING:
    from ..measures import Measures
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")


@dataclass(frozen=True)
class PollerEvent:
    """Something happened to a task. ``kind`` is ``"state"`` (``old_state`` -> ``new_state``),
    ``"files"`` (video downloaded: ``video_path``), ``"measures"`` (the downloaded video was
    measured: ``measures``), ``"error"`` (``error`` says what) or
    ``"paused"`` (the balance cannot pay for the request: it stays ``queued`` and sending
    pauses; ``error`` says why and when it is tried again)."""

    handle: str
    task_id: str | None
    old_state: str | None
    new_state: str
    task: Task | None = None
    kind: str = "state"
    error: str | None = None
    video_path: str | None = None
    cover_path: str | None = None
    measures: Measures | None = None

    @classmethod
    def failure(
        cls, handle: str, task_id: str, state: str, task: Task | None, exc: BaseException
    ) -> PollerEvent:
        """An ``"error"`` event for a task that stays in ``state``."""
        return cls(handle, task_id, state, state, task, kind="error", error=str(exc))


@dataclass
class Stats:
    """Counters of a poller's work, for diagnostics (``poller.stats``)."""

    polls: int = 0  # status GETs
    listings: int = 0  # task-list reads of several due tasks at once (``listing``)
    listed: int = 0  # checks those listings made (tasks read; a GET each without them)
    submits: int = 0
    errors: int = 0
    downloads: int = 0
    measures: int = 0  # downloaded videos measured
    searches: int = 0  # task-list searches for uncertain submissions
    last_error: str | None = field(default=None)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def note(self, exc: BaseException) -> None:
        """Count an error and keep its text as the last one."""
        with self._lock:
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"


class Subscribers:
    """The callbacks that receive every ``PollerEvent``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[PollerEvent], None]] = []

    def add(self, callback: Callable[[PollerEvent], None]) -> Callable[[], None]:
        """Register ``callback``; returns a function that removes it again."""
        with self._lock:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unsubscribe

    def emit(self, event: PollerEvent) -> None:
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception:
                log.exception("poller subscriber %r failed", callback)


def record_error(tasklog: TaskLog, task_id: str, error: BaseException | str) -> None:
    """Keep ``error`` as the task's last error in the log, never raising."""
    try:
        tasklog.note_error(task_id, error)
    except Exception:
        log.exception("poller: cannot record an error of task %s in the log", task_id)
