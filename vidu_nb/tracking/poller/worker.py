"""The poller's scheduler: one daemon thread (``vidu-poller``) that picks what is due and hands
it to a bounded pool of HTTP workers (``vidu-http``); and ``wait_all``, waiting for it all.

One thread deciding and a few workers waiting on the network is what lets 200 followed tasks
cost one timer and a few threads, and a slow answer occupy one worker instead of delaying every
other check. What is due comes from the parts, in this order: the head of the submission queue
(``submissions``: sending comes first), then a search for an uncertain submission
(``recovery``), then the earliest due check, or several processing tasks due together read by
one listing (``checks``). Nothing is picked while a 429 pauses every request (``pause``) or
while this poller's leases may have run out (``Team.lapsed``). All of it is guarded by the
poller's lock, a ``Condition`` that also wakes the thread when something changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ...errors import ViduError
from .checks import Checks
from .downloads import Downloads
from .recovery import Recovery
from .submissions import Queued, Submissions
from .team import Team

log = logging.getLogger("vidu_nb.poller")
Job = tuple[str, Any]  # ("submit", Queued), ("find", search), ("poll", Tracked), ("list", [...])


class Worker:
    """The scheduler thread and its HTTP pool; every field is guarded by ``cond``."""

    def __init__(
        self,
        cond: threading.Condition,
        queue: Submissions,
        checks: Checks,
        recovery: Recovery,
        downloads: Downloads,
        team: Team,
        *,
        http_workers: int,
    ) -> None:
        self._cond = cond
        self._queue = queue
        self._checks = checks
        self._recovery = recovery
        self._downloads = downloads  # waited for by ``wait_all``; it has a pool of its own
        self._team = team
        self.http_workers = http_workers
        self.http = ThreadPoolExecutor(http_workers, thread_name_prefix="vidu-http")
        self.inflight: set[Future[None]] = set()
        self.not_before = 0.0  # a 429 pauses every request until then (monotonic)
        self.stopping = False
        self.shut = False  # the pool was shut down by ``halt``; ``reopen`` makes a new one
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Started and not stopping (what is delivered meanwhile is ignored)."""
        return self.thread is not None and not self.stopping

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def pause(self, until: float) -> None:
        """A 429: no request goes out before ``until`` (monotonic); the limit is per key."""
        with self._cond:
            self.not_before = max(self.not_before, until)

    def spawn(self, fn: Callable[..., None], *args: Any) -> None:
        """Under the lock: run ``fn(*args)`` on an HTTP worker, counted as in flight."""
        fut = self.http.submit(fn, *args)
        self.inflight.add(fut)
        fut.add_done_callback(self._done)

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until every submission is sent, every task finished, downloaded and its video
        measured (``log.measure``; unless ``measure=False``), and every uncertain submission
        searched for once on the service (a task found is followed to the end; one not found
        yet is searched again in the background while its window lasts: see
        ``log.uncertain()``). False on timeout. (This one waits on purpose; nothing else in
        the foreground does.)"""
        if self.thread is None:
            raise ViduError("the poller is not started; call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (
                self._queue or self._checks.due or self.inflight or self._downloads
                or self._recovery.unsearched
            ):  # fmt: skip
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 1.0)
        return True

    # -- the lifecycle (the poller's, under its lock) ------------------------------------------
    def reopen(self) -> bool:
        """Under the lock, before ``start``: a new pool when ``halt`` shut the last one down;
        True when it did (the poller's other pools are reopened with it)."""
        shut = self.shut
        if shut:
            self.http = ThreadPoolExecutor(self.http_workers, thread_name_prefix="vidu-http")
            self.shut = False
        self.stopping = False
        return shut

    def start(self) -> None:
        """Under the lock: start the scheduler thread."""
        self.thread = threading.Thread(target=self._run, name="vidu-poller", daemon=True)
        self.thread.start()

    def halt(self, deadline: float) -> list[Future[None]]:
        """After ``stopping`` is set: wait for the thread (until ``deadline``, monotonic), shut
        the pool down (jobs not begun are cancelled) and return the jobs still running."""
        if self.thread is not None:
            self.thread.join(max(0.0, deadline - time.monotonic()))
        self.http.shutdown(wait=False, cancel_futures=True)
        with self._cond:
            self.shut = True
            return list(self.inflight)

    # -- the scheduler -----------------------------------------------------------------------
    def _next_job(self) -> Job | None:
        """Under the lock: the next thing to do now, or None."""
        now = time.monotonic()
        if now < self.not_before or len(self.inflight) >= self.http_workers:
            return None
        if self._team.lapsed(now):  # our leases may have run out: renew before acting on them
            return None
        item = self._queue.take(now, len(self._checks.due))  # sending comes first
        if item is not None:
            return ("submit", item)
        search = self._recovery.pop_due(now)
        if search is not None:
            return ("find", search)
        due = self._checks.take(now)
        if not due:
            return None
        return ("poll", due[0]) if len(due) == 1 else ("list", due)

    def _sleep_for(self) -> float | None:
        """Under the lock: how long nothing can become due (None: until notified)."""
        if len(self.inflight) >= self.http_workers:
            return None  # a finishing job notifies
        if self._team.lapsed(time.monotonic()):
            return 0.05  # the team thread is renewing
        times = [
            self._checks.due.next_due(),
            self._queue.next_time(len(self._checks.due)),
            self._recovery.next_due(),
        ]
        known = [t for t in times if t is not None]
        if not known:
            return None
        return max(0.0, max(min(known), self.not_before) - time.monotonic())

    def _run(self) -> None:
        """Pick what is due, hand it to an HTTP worker, repeat until stopped."""
        while True:
            with self._cond:
                job: Job | None = None
                while not self.stopping:
                    job = self._next_job()
                    if job is not None:
                        break
                    self._cond.wait(self._sleep_for())
                if self.stopping or job is None:
                    return
                try:
                    self.spawn(self._execute, job)
                except RuntimeError:  # shut down under us: stopping
                    if job[0] == "submit":
                        self._queue.put_back(job[1])
                        self._queue.sending = False
                    return

    def _lapsed_since_picked(self, item: Any) -> bool:
        """Whether our leases may have run out between picking this check and its worker
        starting it (the process stopped in between: a laptop asleep, a debugger, SIGSTOP).
        Then the check waits, due at once, for the team thread's renewal, which drops the
        rows another poller took over meanwhile: a check of those is theirs to make."""
        if not self._team.lapsed(time.monotonic()):
            return False
        batch = item if isinstance(item, list) else [item]
        with self._cond:
            for tr in batch:
                if tr.task_id in self._checks.due:
                    self._checks.due.at(tr, time.monotonic())
            self._cond.notify_all()
        return True

    def _done(self, fut: Future[None]) -> None:
        with self._cond:
            self.inflight.discard(fut)
            self._cond.notify_all()

    # -- the jobs (an HTTP worker, no lock held) -----------------------------------------------
    def _execute(self, job: Job) -> None:
        kind, item = job
        if kind in ("poll", "list") and self._lapsed_since_picked(item):
            return
        if kind == "find":
            try:
                self._recovery.search(*item)
            except Exception:  # a bug must not leave the submission searched for ever
                log.exception("poller: unexpected error")
                self._recovery.end(item[0], "search for the task stopped by an internal error")
            return
        if kind == "list":
            try:
                self._checks.check_many(item)
            except Exception:  # a bug must not kill the worker; the tasks are retried later
                log.exception("poller: unexpected error")
                for tr in item:
                    self._checks.failed(tr)
            return
        if kind == "poll":
            try:
                self._checks.check(item)
            except Exception:  # a bug must not kill the worker; the task is retried later
                log.exception("poller: unexpected error")
                self._checks.failed(item)
            return
        again: Queued | None = None
        try:
            again = self._queue.send(item)
        except Exception:  # never drop a request silently: record it as failed
            log.exception("poller: unexpected error")
            try:
                self._queue.refuse(item, RuntimeError("internal error"))
            except Exception:
                log.exception("poller: cannot record a failed submission")
        finally:
            with self._cond:
                if again is not None:
                    self._queue.put_back(again)
                self._queue.sending = False
