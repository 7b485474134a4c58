"""Checking followed tasks: one GET when due (or one listing for several: ``listing``), the
log updated, the next check scheduled.

Checks follow the same ``PollSchedule`` as ``ViduClient.wait``, with a ``Timing`` forecast once
a task is processing (``due.delay_for``); a task that ends sooner than its setting's forecast
allowed for (or the first of any) moves the checks of the tasks sleeping on that forecast
earlier (``DueChecks.pull_in``). Faults never stop the following: a 429 pauses every request
for its ``Retry-After`` (the limit is per key), other errors back off this task and are
recorded as its last error; a task the service keeps saying it does not know is given up after
a few tries.

The checks sit above the parts they use: ``listing`` (is a batch read possible, and the
request), ``pull_in`` (moving checks earlier on news) and ``pushed`` (callbacks standing in
for the schedule), each given what it needs; none of them imports this module.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ... import states
from ...client.schedule import PollSchedule
from ...client.task import Task
from ...client.timing import Timing, Watch, make_key, task_key
from ...errors import BadRequest, NotFound, RateLimited, ViduError
from ..tasklog.rows import public_url
from .due import DueChecks, Tracked, delay_for
from .events import PollerEvent, Stats, Subscribers, record_error
from .listing import LIST_MAX, Listing
from .pull_in import PullIn
from .pushed import Pushed

if TYPE_CHECKING:
    from ...client.core import TaskService
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")
MAX_NOT_FOUND = 5


class Checks:
    """The followed tasks (``due``, guarded by ``lock``) and the jobs that check one (a GET)
    or several (a listing)."""

    def __init__(
        self,
        client: TaskService,
        tasklog: TaskLog,
        schedule: PollSchedule,
        timing: Timing,
        lock: threading.Condition,
        stats: Stats,
        subscribers: Subscribers,
        *,
        pause: Callable[[float], None],
        succeeded: Callable[[str, Task], None],
    ) -> None:
        self.client = client
        self.log = tasklog
        self.schedule = schedule
        self.timing = timing
        self.due = DueChecks()
        self.stats = stats
        self.subscribers = subscribers
        self._lock = lock
        self._pause = pause  # stop every request until a monotonic time (a 429)
        self._succeeded = succeeded  # called under the lock: fetch the files
        #: Batched status reads (``listing``); off when the client cannot list tasks.
        self.listing = Listing(client)
        #: Pushed updates (``pushed``), set by the poller: tasks whose callbacks arrive get a
        #: safety check instead of the schedule. None: every task follows the schedule.
        self.pushed: Pushed | None = None
        #: Checks moved earlier when a task ends sooner than its forecast allowed for.
        self.pull_in = PullIn(self.due, schedule, timing, lock, left_alone=self._waits)

    # -- starting to follow (caller holds the lock) -------------------------------------------
    def track(self, task_id: str) -> bool:
        """Follow a task known only by id (its age is read from the log at the first check)."""
        if task_id in self.due:
            return False
        now = time.monotonic()
        self.due.at(Tracked(task_id, task_id, now), now)
        return True

    def follow_submitted(self, handle: str, task: Task) -> None:
        """Follow a task the service has just created."""
        now = time.monotonic()
        tr = Tracked(task.id, handle, now, task, task.state, off_peak=bool(task.off_peak))
        tr.primed = True
        tr.created = task.created_at.timestamp() if task.created_at else time.time()
        tr.watch = Watch(task_key(task), submitted=now)
        tr.watch.seen(task.state, now)
        self.due.at(tr, now + self._delay(tr))

    def learn_history(self) -> None:
        """Learn processing times from the log's finished tasks of this service."""
        base_url = getattr(self.client, "base_url", None)
        # The log stores the public form of the URL (host lowercased, no credentials).
        url = public_url(base_url) if isinstance(base_url, str) else None
        try:
            self.timing.learn_history(self.log.timing_history(url))
        except Exception:  # learning is an optimisation; never fatal
            log.exception("poller: cannot learn timings from the log")

    def take(self, now: float) -> list[Tracked]:
        """Under the lock: what is due at ``now``: one task (a GET), or several read together
        by one listing (the first due and the processing tasks due within ``batch_ahead``)."""
        if not self.listing.enabled:
            tr = self.due.pop_due(now)
            return [] if tr is None else [tr]
        ahead = self.schedule.batch_ahead * self.schedule.time_scale
        return self.due.pop_batch(now, ahead, LIST_MAX, lambda tr: self._batchable(tr, now))

    def _batchable(self, tr: Tracked, now: float) -> bool:
        if self._waits(tr):
            return False  # callbacks tell; its safety checks stay GETs
        return self.listing.takes(tr, now, self.schedule)

    def _waits(self, tr: Tracked) -> bool:
        """Under the lock: whether ``tr`` waits for callbacks rather than the schedule."""
        pushed = self.pushed
        return pushed is not None and pushed.holds(tr)

    def _pushed(self) -> bool:
        """Whether callbacks are in use: then ``pushed`` decides every next check."""
        return self.pushed is not None and self.pushed.receiver is not None

    # -- the job (an HTTP worker, no lock held) ----------------------------------------------
    def check(self, tr: Tracked) -> None:
        if not tr.primed:
            self._prime(tr)
        self.stats.count("polls")
        sent = time.monotonic()
        try:
            task = self.client.get(tr.task or tr.task_id)
        except RateLimited as exc:
            if exc.retry_after:  # the limit is per key: pause every request, not just this one
                self._pause(time.monotonic() + exc.retry_after)
            self._fault(tr, exc, exc.retry_after)
            return
        except NotFound as exc:
            tr.not_found += 1
            if tr.not_found >= MAX_NOT_FOUND:
                self._give_up(tr, exc)
                return
            self._fault(tr, exc)
            return
        except (ViduError, OSError) as exc:
            self._fault(tr, exc, getattr(exc, "retry_after", None))
            return
        tr.failures = tr.not_found = tr.listed = 0
        answered = time.monotonic()
        if tr.ended_at is not None and states.is_final(task.state):
            answered = min(answered, tr.ended_at)  # a listing saw the end first
        tr.ended_at = None
        if task.created_at is not None:
            tr.created = task.created_at.timestamp()
        news = self.timing.record(tr.watch, task, sent, answered)
        changed = self.log.update(task)
        old, tr.task = tr.state, task
        tr.off_peak = bool(task.off_peak) if task.off_peak is not None else tr.off_peak
        if task.state != old:
            tr.state, tr.attempt = task.state, 0
        else:
            tr.attempt += 1
        final = states.is_final(task.state)  # a cancelled spelling too; unknown ones are open
        now = time.monotonic()
        # The next check's arithmetic (a forecast, a curve rebuilt now and then) is done
        # without the lock, which only guards the heap; callbacks keep to the lock.
        pushed = self._pushed()
        delay = None if final or pushed else delay_for(tr, now, self.schedule, self.timing)
        with self._lock:
            if final:
                self.due.drop(tr.task_id)
                if states.is_success(task.state):
                    self._succeeded(tr.handle, task)
            elif delay is not None:
                self.due.at(tr, now + delay)
            else:
                self.reschedule(tr)
        if news:
            self.pull_in.news(tr.watch.key)
        if changed or task.state != old:
            self.subscribers.emit(PollerEvent(tr.handle, task.id, old, task.state, task))

    def check_many(self, batch: list[Tracked]) -> None:
        """The job that reads several due tasks with one listing (see ``listing``): those it
        lists ended are due for their confirming GET at once; the others are rescheduled as
        after a GET that said "processing". A fault puts them back on their schedule (a 429
        pauses every request); a listing the service refuses turns batching off and they get
        their GETs now."""
        self.stats.count("listings")
        sent = time.monotonic()
        try:
            ended = self.listing.ended(batch)
        except RateLimited as exc:
            if exc.retry_after:
                self._pause(time.monotonic() + exc.retry_after)
            self._unlisted(batch, exc, exc.retry_after)
            return
        except (BadRequest, NotFound, TypeError, AttributeError) as exc:  # not supported
            self.listing.failed(exc, refused=True)
            self._unlisted(batch, exc, None, now=True)
            return
        except (ViduError, OSError) as exc:
            self.listing.failed(exc, refused=False)
            self._unlisted(batch, exc, getattr(exc, "retry_after", None))
            return
        answered = time.monotonic()
        self.stats.count("listed", len(batch))
        pushed = self._pushed()
        later: list[tuple[Tracked, float | None]] = []
        for tr in batch:
            if tr.task_id in ended:
                tr.ended_at = answered
                continue
            tr.watch.seen(states.PROCESSING, sent, answered)
            self.timing.learn(tr.watch, states.PROCESSING, answered)
            tr.attempt += 1
            tr.listed += 1
            later.append((tr, None if pushed else delay_for(tr, answered, self.schedule,
                                                              self.timing)))  # fmt: skip
        with self._lock:
            for tr in batch:
                if tr.task_id in ended and tr.task_id in self.due:
                    self.due.at(tr, answered)  # the confirming GET, at once
            for tr, delay in later:
                if tr.task_id not in self.due:
                    continue  # dropped meanwhile (taken over by another poller)
                if delay is None:
                    self.reschedule(tr)
                else:
                    self.due.at(tr, answered + delay)
            self._lock.notify_all()

    def _unlisted(
        self, batch: list[Tracked], exc: BaseException, retry_after: float | None, *,
        now: bool = False,
    ) -> None:  # fmt: skip
        """A listing failed: note it once (the tasks themselves are fine, so their logs
        and backoff are left alone); check them again on schedule, or at once (``now``)."""
        self.stats.note(exc)
        with self._lock:
            for tr in batch:
                if tr.task_id not in self.due:
                    continue
                if now:
                    self.due.at(tr, time.monotonic())
                else:
                    self.reschedule(tr, failure=True, retry_after=retry_after)
            self._lock.notify_all()

    def failed(self, tr: Tracked) -> None:
        """A check ended in an unexpected error: try again later, as after a fault."""
        with self._lock:
            self.reschedule(tr, failure=True)

    def _prime(self, tr: Tracked) -> None:
        """A tracked task: count its age from its submission in the log, take its settings."""
        tr.primed = True
        row = self.log.get(tr.task_id)
        if row is None:
            return
        tr.state, tr.off_peak = row["state"], bool(row.get("off_peak"))
        tr.handle = row.get("client_ref") or tr.handle
        tr.watch.key = make_key(
            row.get("model"), row.get("resolution"), row.get("duration"), tr.off_peak
        )
        if row.get("submitted_at") is not None:
            tr.created = row["submitted_at"].timestamp()
            age = time.time() - tr.created
            tr.started = time.monotonic() - max(0.0, age)
            tr.watch.submitted = tr.started

    def _give_up(self, tr: Tracked, exc: NotFound) -> None:
        self.stats.note(exc)
        record_error(self.log, tr.task_id, f"no longer followed: {exc}")
        self.timing.forget(tr.watch)
        with self._lock:
            self.due.drop(tr.task_id)
        self.subscribers.emit(PollerEvent.failure(tr.handle, tr.task_id, tr.state, tr.task, exc))

    def _fault(self, tr: Tracked, exc: BaseException, retry_after: float | None = None) -> None:
        """A failed check: remember the error, back off this task, keep going."""
        self.stats.note(exc)
        tr.failures += 1
        record_error(self.log, tr.task_id, exc)
        with self._lock:
            self.reschedule(tr, failure=True, retry_after=retry_after)

    def _delay(self, tr: Tracked, *, retry_after: float | None = None) -> float:
        if self.pushed is not None:  # callbacks stand in for the schedule (see ``pushed``)
            held = self.pushed.hold(tr, retry_after)
            if held is not None:
                return held
        return delay_for(tr, time.monotonic(), self.schedule, self.timing, retry_after=retry_after)

    def reschedule(
        self, tr: Tracked, *, failure: bool = False, retry_after: float | None = None
    ) -> None:
        """Under the lock: the next check of ``tr`` (not when it was dropped meanwhile)."""
        if failure and tr.task_id not in self.due:
            return
        self.due.at(tr, time.monotonic() + self._delay(tr, retry_after=retry_after))
