"""``Poller``: the public face of the background poller, and its scheduler loop.

The foreground methods never touch the network (``submit``/``submit_many`` record the requests
in the local log first, in one transaction, so nothing queued is lost with the kernel). One daemon thread picks what is due (the head of the
submission queue first, then the earliest due check) and hands it to a bounded pool of HTTP
workers; the pieces it coordinates live in ``submissions``, ``checks``, ``due`` and
``downloads``, all guarded by one lock (a re-entrant ``Condition`` that also wakes the loop).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..cache import VideoCache
from ..client import TaskService, new_client_ref
from ..errors import ValidationError, ViduError
from ..receiver import CallbackReceiver
from ..schedule import PollSchedule
from ..spec import Img2VideoRequest
from ..task import Creation, Task
from ..tasklog import TaskLog
from ..tasklog.owners import Owner
from ..timing import Timing
from .checks import Checks
from .downloads import Downloads
from .events import PollerEvent, Stats, Subscribers
from .pushed import PATIENCE, Pushed
from .submissions import POLICIES, Queued, Submissions

log = logging.getLogger("vidu_nb.poller")
Job = tuple[str, Any]  # ("submit", Queued) or ("poll", Tracked)


class Poller:
    """Follow tasks in the background (see the package docstring); a context manager."""

    def __init__(
        self,
        client: TaskService,
        log: TaskLog,
        *,
        callbacks: CallbackReceiver | None = None,
        cache: bool | VideoCache | None = True,
        max_running: int = 5,
        policy: str = "queue",
        schedule: PollSchedule | None = None,
        download_workers: int = 2,
        http_workers: int = 4,
        timing: Timing | None = None,
    ) -> None:
        if policy not in POLICIES:
            raise ValidationError("policy", policy, "must be one of " + ", ".join(POLICIES))
        if max_running < 1:
            raise ValidationError("max_running", max_running, "must be >= 1")
        if not 1 <= http_workers <= 32:
            raise ValidationError("http_workers", http_workers, "must be between 1 and 32")
        self.client = client
        self.log = log
        self.schedule = schedule or getattr(client, "schedule", None) or PollSchedule()
        self.cache = VideoCache(log.cache_dir) if cache is True else (cache or None)
        self.stats = Stats()
        #: Processing times, learned from the log when the worker starts and from every
        #: task seen finishing (shared with the client's own waits when it has one).
        self.timing = timing or getattr(client, "timing", None) or Timing()
        self.http_workers = http_workers
        self._cond = threading.Condition()
        self._subscribers = Subscribers()
        self._owner = Owner(log.owners_dir)  # proves to other kernels that we hold our rows
        self._owner_lock = threading.Lock()
        self._lifecycle = threading.RLock()  # one start() or stop() at a time
        self._queue = Submissions(
            client, log, self.stats, self._subscribers, policy=policy,
            max_running=max_running, pause=self._pause, created=self._created, owner=self._hold,
        )  # fmt: skip
        self._checks = Checks(
            client, log, self.schedule, self.timing, self._cond, self.stats, self._subscribers,
            pause=self._pause, succeeded=self._start_download,
        )  # fmt: skip
        self._downloads = Downloads(
            self.cache, client, log, self._cond, self.stats, self._subscribers,
            workers=download_workers,
        )  # fmt: skip
        self._http = ThreadPoolExecutor(http_workers, thread_name_prefix="vidu-http")
        self._inflight: set[Future[None]] = set()
        self._ids: dict[str, str] = {}
        self._not_before = 0.0  # a 429 pauses every request until then (monotonic)
        self._learned = False
        self._stopping = False
        self._shut = False  # the pools were shut down by stop(); start() makes new ones
        self._thread: threading.Thread | None = None
        #: Pushed updates (``pushed``): off until ``use_callbacks`` (or ``callbacks=``).
        self.pushed = Pushed(
            self._checks, log, self._cond, self._subscribers, track=self.track,
            active=lambda: self._thread is not None and not self._stopping,
        )  # fmt: skip
        self._checks.pushed = self.pushed
        if callbacks is not None:
            self.use_callbacks(callbacks)

    @property
    def policy(self) -> str:
        return self._queue.policy

    @property
    def max_running(self) -> int:
        return self._queue.max_running

    def __repr__(self) -> str:
        return (
            f"Poller(policy={self.policy!r}, max_running={self.max_running}, "
            f"queued={len(self._queue)}, following={len(self._checks.due)})"
        )

    # -- foreground API (never touches the network) --------------------------------------
    def submit(
        self,
        request: Img2VideoRequest,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
    ) -> str:
        """Queue a request; returns its handle (see ``submit_many``, which it calls)."""
        return self.submit_many([request], experiment=experiment, tags=tags, notes=notes)[0]

    def submit_many(
        self,
        requests: Iterable[Img2VideoRequest],
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
    ) -> list[str]:
        """Queue requests in order; returns their handles (the ``client_ref`` in each payload).

        They are recorded in the log at once (state ``queued``) in ONE transaction, so a batch
        costs one sync to disk, and either all survive a kernel restart (``TaskLog.resume``
        sends them then) or, on a bad request, none is queued. ``task_id(handle)`` gives the
        task id once the service has answered."""
        requests, tags = list(requests), (tags,) if isinstance(tags, str) else tuple(tags)
        for i, request in enumerate(requests):
            if not isinstance(request, Img2VideoRequest):
                why = f"must be an Img2VideoRequest, not {type(request).__name__}"
                raise ValidationError(f"requests[{i}]", request, why)
        if not requests:
            return []
        items = [Queued(new_client_ref(), r, experiment, tags, notes) for r in requests]
        self.pushed.address(items)  # callback_url on each request, when callbacks are in use
        self.log.record_queued_many(
            [(item.request, item.handle) for item in items], owner=self._hold(),
            base_url=getattr(self.client, "base_url", None), **items[0].labels,
        )  # fmt: skip
        with self._cond:
            for item in items:
                self._queue.add(item)
            self._cond.notify_all()
        return [item.handle for item in items]

    def recover(self) -> int:
        """Take over what pollers that are gone left unsent in the log (``TaskLog.resume``
        calls this): ``queued`` rows are sent again; ``submitting`` rows, whose POST may have
        arrived, become ``uncertain`` and are not resent. Returns how many were re-queued."""
        queued, uncertain = self.log.take_over(self._hold())
        with self._cond:
            for row, request in queued:
                labels = (row["experiment"], tuple(row["tags"]), row["notes"] or "")
                self._queue.add(Queued(row["client_ref"], request, *labels))
            self._cond.notify_all()
        if uncertain:
            log.warning("%d submission(s) interrupted mid-send are now 'uncertain'", uncertain)
        return len(queued)

    def track(self, task_id: str) -> None:
        """Follow a task already submitted (e.g. found in the log after a restart)."""
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValidationError("task_id", task_id, "must be a non-empty task id string")
        task_id = task_id.strip()
        with self._cond:
            if self._checks.track(task_id):
                self._cond.notify_all()

    def download(self, task_id: str) -> None:
        """Fetch the files of a succeeded task from the log (URLs refreshed when expired)."""
        row = self.log.get(task_id)
        if row is None or self.cache is None:
            return
        creation = Creation("", row.get("video_url") or "", row.get("cover_url") or "")
        task = Task(id=task_id, state="success", creations=(creation,) if creation.url else ())
        with self._cond:
            self._start_download(row.get("client_ref") or task_id, task)

    def task_id(self, handle: str) -> str | None:
        with self._cond:
            return self._ids.get(handle, handle if handle in self._checks.due else None)

    def cancel_queued(self, handle: str) -> bool:
        """Drop a submission that has not been sent yet (its row becomes ``cancelled``); True
        when it was still queued."""
        with self._cond:
            if not self._queue.cancel(handle):
                return False
            self._cond.notify_all()
        self.log.cancel_queued(handle, self._hold())
        self._subscribers.emit(PollerEvent(handle, None, "queued", "cancelled"))
        return True

    def subscribe(self, callback: Callable[[PollerEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` from the worker threads on every event; returns a function
        that unsubscribes. Exceptions in callbacks are logged, never fatal."""
        return self._subscribers.add(callback)

    @property
    def pending(self) -> int:
        """Submissions not yet sent plus tasks not yet finished (downloads not counted)."""
        with self._cond:
            return len(self._queue) + len(self._checks.due) + (1 if self._queue.sending else 0)

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def running(self) -> int:
        """Tasks sent and not finished (what ``max_running`` limits under ``"queue"``)."""
        with self._cond:
            return len(self._checks.due)

    def start(self) -> Poller:
        with self._lifecycle:
            return self._start()

    def _start(self) -> Poller:
        if not self._learned:  # a local read of a few thousand rows at most: milliseconds
            self._learned = True
            self._checks.learn_history()
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                if self._shut:
                    self._http = ThreadPoolExecutor(
                        self.http_workers, thread_name_prefix="vidu-http"
                    )
                    self._downloads.reopen()
                    self._shut = False
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="vidu-poller", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker and the downloads (waiting at most ``timeout`` seconds)."""
        with self._lifecycle:
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            unsent = len(self._queue)
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._http.shutdown(wait=False, cancel_futures=True)
        with self._cond:
            self._shut = True
            running = list(self._inflight)
        for fut in running + self._downloads.shutdown():
            try:
                fut.result(max(0.0, deadline - time.monotonic()))
            except Exception:
                pass
        with self._owner_lock:  # from now on resume() (here or in another kernel) may take
            self._owner.release()  # over our queued rows
        if unsent:
            log.warning(
                "poller stopped with %d submission(s) not sent: they stay 'queued' in the log "
                "and TaskLog.resume(client) sends them", unsent,
            )  # fmt: skip

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until every submission is sent, every task finished and downloaded; False on
        timeout. (This one waits on purpose; nothing else in the foreground does.)"""
        if self._thread is None:
            raise ViduError("the poller is not started; call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._checks.due or self._inflight or self._downloads:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 1.0)
        return True

    def use_callbacks(
        self,
        receiver: CallbackReceiver,
        *,
        public_url: str | None = None,
        patience: float = PATIENCE,
    ) -> None:
        """Take task updates from a ``CallbackReceiver`` instead of polling on a schedule.

        Requests sent from now on carry ``callback_url`` (``public_url``, default the
        receiver's ``callback_url``) unless they set their own. A final state reported by a
        callback is confirmed by one GET; a task whose callbacks stop arriving, or every task
        when the receiver stops, falls back to polling. ``patience``: service seconds before a
        task with no news and no forecast is checked anyway (doubling each time)."""
        self.pushed.use(receiver, public_url, patience)

    @property
    def callbacks(self) -> CallbackReceiver | None:
        """The receiver in use (``use_callbacks``), or None."""
        return self.pushed.receiver

    def __enter__(self) -> Poller:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- called by the parts -----------------------------------------------------------------
    def _hold(self) -> str:
        """This poller's owner token, its lock taken (again after a stop) when needed."""
        with self._owner_lock:
            return self._owner.hold()

    def _pause(self, until: float) -> None:
        with self._cond:
            self._not_before = max(self._not_before, until)

    def _created(self, handle: str, task: Task) -> None:
        with self._cond:
            self._ids[handle] = task.id
            self._checks.follow_submitted(handle, task)

    def _start_download(self, handle: str, task: Task) -> None:
        """Under the lock: fetch a succeeded task's files (not once stopping)."""
        if self.cache is not None and not self._stopping:
            self._downloads.start(handle, task)

    # -- the scheduler -----------------------------------------------------------------------
    def _next_job(self) -> Job | None:
        """Under the lock: the next thing to do now, or None."""
        now = time.monotonic()
        if now < self._not_before or len(self._inflight) >= self.http_workers:
            return None
        item = self._queue.take(now, len(self._checks.due))  # sending comes first
        if item is not None:
            return ("submit", item)
        tr = self._checks.due.pop_due(now)
        return None if tr is None else ("poll", tr)

    def _sleep_for(self) -> float | None:
        """Under the lock: how long nothing can become due (None: until notified)."""
        if len(self._inflight) >= self.http_workers:
            return None  # a finishing job notifies
        times = [self._checks.due.next_due(), self._queue.next_time(len(self._checks.due))]
        known = [t for t in times if t is not None]
        if not known:
            return None
        return max(0.0, max(min(known), self._not_before) - time.monotonic())

    def _run(self) -> None:
        """Pick what is due, hand it to an HTTP worker, repeat until stopped."""
        while True:
            with self._cond:
                job: Job | None = None
                while not self._stopping:
                    job = self._next_job()
                    if job is not None:
                        break
                    self._cond.wait(self._sleep_for())
                if self._stopping or job is None:
                    return
                try:
                    fut = self._http.submit(self._execute, job)
                except RuntimeError:  # shut down under us: stopping
                    if job[0] == "submit":
                        self._queue.put_back(job[1])
                        self._queue.sending = False
                    return
                self._inflight.add(fut)
                fut.add_done_callback(self._job_done)

    def _job_done(self, fut: Future[None]) -> None:
        with self._cond:
            self._inflight.discard(fut)
            self._cond.notify_all()

    def _execute(self, job: Job) -> None:
        kind, item = job
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
