"""The tasks a poller follows and when each is next due for a check.

A heap of ``(due, seq, task_id)`` gives the earliest check in O(log n), so 200 followed tasks
cost one timer, not 200. Rescheduling pushes a new entry instead of searching the heap; the
old one is recognised as stale (its due time no longer matches the task's) and skipped.
Not thread-safe by itself: the poller's lock guards it.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from ...client.task import Task
from ...client.timing import Watch


@dataclass
class Tracked:
    """One followed task and what the schedule needs to know about it."""

    task_id: str
    handle: str
    started: float  # monotonic time the task is counted from (its submission when known)
    task: Task | None = None
    state: str = "created"
    attempt: int = 0  # polls since the last state change (drives the backoff)
    failures: int = 0
    not_found: int = 0
    due: float = 0.0
    off_peak: bool = False
    primed: bool = False  # read its row from the log already
    watch: Watch = field(default_factory=lambda: Watch(None))


class DueChecks:
    """Followed tasks by id, ordered by when they are due."""

    def __init__(self) -> None:
        self._tracked: dict[str, Tracked] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._tracked)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self._tracked

    def at(self, tr: Tracked, due: float) -> None:
        """Follow ``tr`` (again) and check it at monotonic time ``due``."""
        tr.due = due
        self._tracked[tr.task_id] = tr
        heapq.heappush(self._heap, (due, next(self._seq), tr.task_id))

    def drop(self, task_id: str) -> None:
        """Stop following a task (finished or given up); its heap entries go stale."""
        self._tracked.pop(task_id, None)

    def next_due(self) -> float | None:
        """When the earliest followed task is due, or None when nothing is followed."""
        while self._heap:
            due, _, tid = self._heap[0]
            tr = self._tracked.get(tid)
            if tr is not None and tr.due == due:
                return due
            heapq.heappop(self._heap)  # stale entry
        return None

    def pop_due(self, now: float) -> Tracked | None:
        """The task due first if it is due at ``now``, taken off the heap (it stays followed
        until ``drop``; reschedule it with ``at``)."""
        due = self.next_due()
        if due is None or due > now:
            return None
        _, _, tid = heapq.heappop(self._heap)
        return self._tracked[tid]
