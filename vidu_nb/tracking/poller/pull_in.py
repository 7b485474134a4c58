"""Pulling checks in: a task ended sooner than its forecast allowed for, so the tasks of its
setting (and those whose forecast is a guess from others) are checked earlier.

``DueChecks.pull_in`` is the rule on a clock of its own; this is how the poller runs it on
live threads. The lock guards the heap, not the arithmetic: the tasks are picked under it,
their new times are worked out without it, ``PULL_BATCH`` at a time, and each batch is applied
under it (a task checked or rescheduled meanwhile is left alone). Between batches the thread
lets the others run.

One pull-in at a time: news that comes while one runs is added to what it looks at next (a
cold batch of two dozen settings brings news on several workers at once; each doing its own
pull-in would leave no worker free to send the checks now due).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ...client.schedule import PollSchedule
from ...client.timing import Key, Timing
from .due import DueChecks, Tracked, delay_for

#: Tasks whose next check is worked out between two takes of the lock in a pull-in.
PULL_BATCH = 16


class PullIn:
    """The news not pulled in yet, and the pull-in that runs on one HTTP worker at a time."""

    def __init__(
        self,
        due: DueChecks,
        schedule: PollSchedule,
        timing: Timing,
        lock: threading.Condition,
        *,
        left_alone: Callable[[Tracked], bool],
    ) -> None:
        self.due = due
        self.schedule = schedule
        self.timing = timing
        self._lock = lock
        self._left_alone = left_alone  # under the lock: tasks whose checks others decide
        self._news: set[Key | None] = set()  # settings with news not pulled in yet
        self._pulling = False  # a worker is pulling in

    def news(self, key: Key | None) -> None:
        """A task of setting ``key`` ended sooner than expected: look again at the tasks it
        affects (on this thread, unless another is pulling in already: it takes this too).
        Tasks left to callbacks (``left_alone``) are not moved (that would cost GETs)."""
        with self._lock:
            self._news.add(key)
            if self._pulling:
                return
            self._pulling = True
        try:
            while self._round():
                pass
        finally:
            with self._lock:
                self._pulling = False

    def _round(self) -> bool:
        """One pass over the tasks the news so far affects; False when there was none."""
        with self._lock:
            keys, self._news = self._news, set()
            if not keys:
                return False
            picked = self.due.candidates(
                time.monotonic(),
                lambda tr: (
                    any(self.timing.affects(key, tr.watch.key) for key in keys)
                    and not self._left_alone(tr)
                ),
            )
        for start in range(0, len(picked), PULL_BATCH):
            now = time.monotonic()
            times = [
                (tr, seen, now + delay_for(tr, now, self.schedule, self.timing))
                for tr, seen in picked[start : start + PULL_BATCH]
            ]
            with self._lock:
                now = time.monotonic()
                if sum(self.due.move(tr, seen, max(now, due), now) for tr, seen, due in times):
                    self._lock.notify_all()  # the scheduler may have a new earliest check
            time.sleep(0)  # let other threads have the interpreter between batches
        return True
