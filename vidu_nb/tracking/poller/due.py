"""The tasks a poller follows and when each is next due for a check.

A heap of ``(due, seq, task_id)`` gives the earliest check in O(log n), so 200 followed tasks
cost one timer, not 200. Rescheduling pushes a new entry instead of searching the heap; the
old one is recognised as stale (its due time no longer matches the task's) and skipped.
Not thread-safe by itself: the poller's lock guards it.

``delay_for`` is the one rule for when a followed task is checked next, and ``pull_in`` looks
again at the tasks of a setting whose forecast just changed for the earlier; both take the
time as an argument, so a test can run the poller's own scheduling on a virtual clock.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ...client.schedule import PollSchedule
from ...client.task import Task
from ...client.timing import Timing, Watch
from ...states import PROCESSING


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
    created: float | None = None  # wall-clock time (epoch s) it was created, when known
    listed: int = 0  # listings that said "not ended" since its last GET (``listing``)
    ended_at: float | None = None  # monotonic answer of the listing that saw it ended


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

    def ids(self) -> list[str]:
        """The ids of the followed tasks."""
        return list(self._tracked)

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

    def pop_batch(
        self, now: float, ahead: float, limit: int, which: Callable[[Tracked], bool]
    ) -> list[Tracked]:
        """The task due first, if it is due at ``now``, and when ``which`` takes it, up to
        ``limit - 1`` others ``which`` takes that are due by ``now + ahead``, all off the heap
        (read together by one listing: ``listing``). Tasks passed over keep their place."""
        first = self.pop_due(now)
        if first is None or limit < 2 or not which(first):
            return [] if first is None else [first]
        batch, skipped = [first], []
        while self._heap and len(batch) < limit:
            entry = self._heap[0]
            if entry[0] > now + ahead:
                break
            heapq.heappop(self._heap)
            tr = self._tracked.get(entry[2])
            if tr is None or tr.due != entry[0] or tr is first:
                continue  # stale
            if which(tr):
                tr.due = min(tr.due, now)  # being checked now: ``move`` leaves it alone
                batch.append(tr)
            else:
                skipped.append(entry)
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return batch

    def pull_in(
        self, now: float, when: Callable[[Tracked], float], which: Callable[[Tracked], bool]
    ) -> int:
        """Move earlier the checks of the processing tasks ``which`` selects to ``when`` says
        (their forecast changed: a task of their setting, or the first of any, ended sooner
        than expected); returns how many moved. Tasks due already (or being checked) are
        left alone. (``candidates`` then ``move``, in one go: the poller runs the two apart,
        so the arithmetic of ``when`` is done without its lock.)"""
        moved = 0
        for tr, due in self.candidates(now, which):
            moved += self.move(tr, due, max(now, when(tr)), now)
        return moved

    def candidates(
        self, now: float, which: Callable[[Tracked], bool]
    ) -> list[tuple[Tracked, float]]:
        """The processing tasks ``which`` selects that are not due yet, each with its due
        time now (``move`` leaves a task alone whose check was rescheduled meanwhile)."""
        return [
            (tr, tr.due)
            for tr in self._tracked.values()
            if tr.state == PROCESSING and tr.due > now and which(tr)
        ]

    def move(self, tr: Tracked, seen_due: float, due: float, now: float) -> bool:
        """Check ``tr`` at ``due`` instead, if that is earlier, and it is still followed, not
        due by ``now`` (so not being checked) and due at ``seen_due`` (not rescheduled since
        it was picked)."""
        if self._tracked.get(tr.task_id) is not tr or tr.due != seen_due or tr.due <= now:
            return False
        if due >= tr.due:
            return False
        self.at(tr, due)
        return True


def delay_for(
    tr: Tracked,
    now: float,
    schedule: PollSchedule,
    timing: Timing,
    *,
    retry_after: float | None = None,
) -> float:
    """Seconds from ``now`` to the next check of ``tr``: the schedule, with the learned forecast
    while it is processing and its checks succeed (a failing one backs off as before), and
    its count of checks held to the schedule's per-task budget."""
    expected = None
    if tr.state == PROCESSING and not tr.failures:
        expected = timing.forecast(tr.watch, now)
    return schedule.next_delay(
        now - tr.started,
        tr.state,
        tr.attempt + tr.failures,
        off_peak=tr.off_peak,
        retry_after=retry_after,
        expected=expected,
        checks=tr.watch.checks,
        rank=tr.watch.rank,
    )
