"""Finding the tasks of uncertain submissions without a callback, in the background.

A submit whose answer was lost (``SubmissionUncertain``), or a kernel killed mid-send, leaves
an ``uncertain`` row: the task may exist. The poller searches the service's task list around
the submission time for the task carrying the row's ``client_ref`` (``TaskLog.find_uncertain``)
soon after, then less and less often until the window has passed: a match is attached and
followed like any submitted task; no match leaves the row ``uncertain``, saying what was
searched. A request is never sent again. Without ``list_tasks`` on the client (or when the
service has no task list) nothing is searched and the rows wait for ``reconcile``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...client.task import Task
from ...errors import NotFound
from ..tasklog.search import CLOCK_SKEW, UNCERTAIN_WINDOW
from .events import PollerEvent, Stats, Subscribers

if TYPE_CHECKING:
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")
#: Seconds between searches for one submission: at once, then less and less often.
DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0)


class Recovery:
    """The uncertain submissions being searched for, by ``client_ref`` (guarded by ``lock``,
    the poller's), and the job that searches one."""

    def __init__(
        self,
        client: Any,
        tasklog: TaskLog,
        lock: threading.Condition,
        stats: Stats,
        subscribers: Subscribers,
        *,
        found: Callable[[str, Task], None],
        enabled: bool = True,
        window: float = UNCERTAIN_WINDOW,
        skew: float = CLOCK_SKEW,
    ) -> None:
        self.client = client
        self.log = tasklog
        self.stats = stats
        self.subscribers = subscribers
        self.window = window
        self.skew = skew
        self.enabled = enabled and callable(getattr(client, "list_tasks", None))
        self._lock = lock
        self._found = found  # called under the lock: follow the attached task
        self._due: dict[str, tuple[float, int, float]] = {}  # ref -> (due, attempt, give up at)
        self._busy: dict[str, int] = {}  # ref -> attempt, while a job searches

    # -- the set (caller holds the lock) ------------------------------------------------------
    def __len__(self) -> int:
        return len(self._due) + len(self._busy)

    @property
    def unsearched(self) -> int:
        """Submissions not searched for once yet (``wait_all`` waits for these: a task that
        was created is found at the first search; later ones only catch a late creation)."""
        due = sum(1 for _, attempt, _ in self._due.values() if attempt == 0)
        return due + sum(1 for attempt in self._busy.values() if attempt == 0)

    def add(self, client_ref: str) -> None:
        """Search for ``client_ref``'s task soon (no-op when disabled or already searching)."""
        if self.enabled and client_ref not in self._due and client_ref not in self._busy:
            give_up = time.time() + self.window + 2 * self.skew  # the row was sent before now
            self._due[client_ref] = (time.monotonic() + DELAYS[0], 0, give_up)

    def next_due(self) -> float | None:
        return min((due for due, _, _ in self._due.values()), default=None)

    def pop_due(self, now: float) -> tuple[str, int, float] | None:
        """The submission to search for now, if any (it is ``busy`` until the job ends)."""
        if not self._due:
            return None
        ref = min(self._due, key=lambda r: self._due[r][0])
        due, attempt, give_up = self._due[ref]
        if due > now:
            return None
        del self._due[ref]
        self._busy[ref] = attempt
        return ref, attempt, give_up

    # -- the job (an HTTP worker, no lock held) ----------------------------------------------
    def search(self, client_ref: str, attempt: int, give_up: float) -> None:
        self.stats.count("searches")
        try:
            result = self.log.find_uncertain(
                self.client, client_ref, window=self.window, skew=self.skew
            )
        except NotFound as exc:  # the service has no task list: nothing can be searched
            log.info("poller: the task list is not available (%s); uncertain submissions "
                     "wait for reconcile()", exc)  # fmt: skip
            with self._lock:
                self.enabled = False
                self._busy.pop(client_ref, None)
                self._due.clear()
                self._lock.notify_all()
            return
        except Exception as exc:  # noqa: BLE001 - a fault: search again later
            self.stats.note(exc)
            log.warning("poller: searching for %s failed: %s", client_ref, exc)
            if time.time() > give_up:
                self.end(client_ref, f"search for the task abandoned: {exc}")
            else:
                self._again(client_ref, attempt, give_up)
            return
        if result.status == "matched" and result.task is not None:
            task = result.task
            with self._lock:
                self._busy.pop(client_ref, None)
                self._found(client_ref, task)
                self._lock.notify_all()
            self.subscribers.emit(PollerEvent(client_ref, task.id, "uncertain", task.state, task))
        elif result.status == "waiting":
            self._again(client_ref, attempt, give_up)
        else:  # not found, ambiguous, or settled elsewhere
            self.end(client_ref, result.message if result.status != "settled" else "")

    def _again(self, client_ref: str, attempt: int, give_up: float) -> None:
        delay = DELAYS[min(attempt + 1, len(DELAYS) - 1)]
        with self._lock:
            self._busy.pop(client_ref, None)
            self._due[client_ref] = (time.monotonic() + delay, attempt + 1, give_up)
            self._lock.notify_all()

    def end(self, client_ref: str, message: str) -> None:
        with self._lock:
            self._busy.pop(client_ref, None)
            self._lock.notify_all()
        if message:
            self.subscribers.emit(
                PollerEvent(client_ref, None, "uncertain", "uncertain", kind="error", error=message)
            )


def uncertain_note(count: int, searching: bool) -> str:
    """What ``Poller.resume`` says about the uncertain submissions it found in the log."""
    if searching:
        how = (
            "the poller looks for each on the service (tasks created around its submission, "
            "matched by the client_ref in their payload) and follows the ones it finds; those "
            "not found stay in log.uncertain() with what was searched"
        )
    else:
        how = (
            "see log.uncertain(); find each task by its client_ref (in the task's payload) and "
            "call log.reconcile(client_ref, task_id) or log.reconcile_from_callback(body)"
        )
    return f"{count} uncertain submission(s): {how}"
