"""``Poller``: one background thread that submits, follows and downloads every task.

The notebook never waits on the network: ``submit`` and ``track`` only put work in memory and
return. A single daemon thread keeps a heap of due times and hands the tasks that are due to a
small bounded pool of HTTP workers (``http_workers``), so a slow answer does not delay the other
due checks, and 200 pending tasks are one scheduler and a few workers, not 200 threads.
Submissions are sent one at a time, in order. Checks follow the same ``PollSchedule`` as
``ViduClient.wait``, with a ``Timing`` learned from the log's finished tasks (so it survives a
kernel restart) and from every task seen finishing. Every state change is written to the
``TaskLog`` and sent to subscribers; succeeded videos go to the ``VideoCache`` through a small
download pool.

Concurrency policy (``policy``):

* ``"queue"`` (default): hold submissions locally and send one when fewer than
  ``max_running`` of this poller's tasks are unfinished, so the service's limit (5 running per
  organisation) is respected and nothing waits in the service's own queue.
* ``"submit_all"``: send everything at once and let the service queue it.

API faults never stop the worker: a 429 pauses all requests for its ``Retry-After``, other
errors back off per task and are recorded in the log as the task's last error.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .cache import VideoCache
from .client import new_client_ref
from .errors import (
    ConnectionFailed,
    NotFound,
    RateLimited,
    SubmissionUncertain,
    ValidationError,
    ViduError,
)
from .schedule import PollSchedule
from .task import FINAL_STATES, Creation, Task
from .tasklog import TaskLog
from .timing import Timing, Watch, history, make_key, task_key

log = logging.getLogger(__name__)
POLICIES = ("queue", "submit_all")
_MAX_SUBMIT_TRIES = 6
_MAX_NOT_FOUND = 5


@dataclass(frozen=True)
class PollerEvent:
    """Something happened to a task. ``kind`` is ``"state"`` (``old_state`` -> ``new_state``),
    ``"files"`` (video downloaded: ``video_path``) or ``"error"`` (``error`` says what)."""

    handle: str
    task_id: str | None
    old_state: str | None
    new_state: str
    task: Task | None = None
    kind: str = "state"
    error: str | None = None
    video_path: str | None = None
    cover_path: str | None = None


@dataclass
class _Queued:
    handle: str
    request: Any
    experiment: str | None
    tags: tuple[str, ...]
    notes: str
    tries: int = 0
    not_before: float = 0.0


@dataclass
class _Tracked:
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


@dataclass
class _Stats:
    polls: int = 0
    submits: int = 0
    errors: int = 0
    downloads: int = 0
    last_error: str | None = field(default=None)


class Poller:
    """Follow tasks in the background (see the module docstring); a context manager."""

    def __init__(
        self,
        client: Any,
        log: TaskLog,
        *,
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
        self.policy = policy
        self.max_running = max_running
        self.schedule = schedule or getattr(client, "schedule", None) or PollSchedule()
        self.cache = VideoCache(log.cache_dir) if cache is True else (cache or None)
        self.stats = _Stats()
        #: Processing times, learned from the log when the worker starts and from every
        #: task seen finishing (shared with the client's own waits when it has one).
        self.timing = timing or getattr(client, "timing", None) or Timing()
        self.http_workers = http_workers
        self._learned = False
        self._cond = threading.Condition()
        self._queue: deque[_Queued] = deque()
        self._tracked: dict[str, _Tracked] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._ids: dict[str, str] = {}
        self._subscribers: list[Callable[[PollerEvent], None]] = []
        self._downloads: set[Future[None]] = set()
        self._pool = ThreadPoolExecutor(download_workers, thread_name_prefix="vidu-download")
        self._http = ThreadPoolExecutor(http_workers, thread_name_prefix="vidu-http")
        self._inflight: set[Future[None]] = set()
        self._not_before = 0.0
        self._submitting = False  # one submission at a time, in queue order
        self._stopping = False
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return (
            f"Poller(policy={self.policy!r}, max_running={self.max_running}, "
            f"queued={len(self._queue)}, following={len(self._tracked)})"
        )

    # -- foreground API (never touches the network) --------------------------------------
    def submit(
        self,
        request: Any,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
    ) -> str:
        """Queue a request; returns its handle (the ``client_ref`` put in its payload).
        ``task_id(handle)`` gives the task id once the service has answered."""
        handle = new_client_ref()
        with self._cond:
            self._queue.append(_Queued(handle, request, experiment, tuple(tags), notes))
            self._cond.notify_all()
        return handle

    def track(self, task_id: str) -> None:
        """Follow a task already submitted (e.g. found in the log after a restart)."""
        with self._cond:
            if task_id not in self._tracked:
                self._follow(_Tracked(task_id, task_id, time.monotonic()), time.monotonic())
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
            return self._ids.get(handle, handle if handle in self._tracked else None)

    def cancel_queued(self, handle: str) -> bool:
        """Drop a submission that has not been sent yet; True when it was still queued."""
        with self._cond:
            for item in list(self._queue):
                if item.handle == handle:
                    self._queue.remove(item)
                    self._cond.notify_all()
                    return True
        return False

    def subscribe(self, callback: Callable[[PollerEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` from the worker thread on every event; returns a function
        that unsubscribes. Exceptions in callbacks are logged, never fatal."""
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @property
    def pending(self) -> int:
        """Submissions not yet sent plus tasks not yet finished (downloads not counted)."""
        with self._cond:
            return len(self._queue) + len(self._tracked) + (1 if self._submitting else 0)

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    @property
    def running(self) -> int:
        """Tasks sent and not finished (what ``max_running`` limits under ``"queue"``)."""
        with self._cond:
            return len(self._tracked)

    def start(self) -> Poller:
        if not self._learned:  # a local read of a few thousand rows at most: milliseconds
            self._learned = True
            self._learn_history()
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(target=self._run, name="vidu-poller", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker and the downloads (waiting at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            unsent = len(self._queue)
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self._http.shutdown(wait=False, cancel_futures=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._cond:
            running = list(self._inflight) + list(self._downloads)
        for fut in running:
            try:
                fut.result(max(0.0, deadline - time.monotonic()))
            except Exception:
                pass
        if unsent:
            log.warning("poller stopped with %d submission(s) never sent", unsent)

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until every submission is sent, every task finished and downloaded; False on
        timeout. (This one waits on purpose; nothing else in the foreground does.)"""
        if self._thread is None:
            raise ViduError("the poller is not started; call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._tracked or self._inflight or self._downloads:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left if left is not None else 1.0)
        return True

    def __enter__(self) -> Poller:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the worker ------------------------------------------------------------------------
    def _follow(self, tr: _Tracked, due: float) -> None:
        tr.due = due
        self._tracked[tr.task_id] = tr
        heapq.heappush(self._heap, (due, next(self._seq), tr.task_id))

    def _next_job(self) -> tuple[str, Any] | None:
        """Under the lock: the next thing to do now, or None (and how long to sleep)."""
        now = time.monotonic()
        if now < self._not_before:
            return None
        if len(self._inflight) >= self.http_workers:
            return None
        if self._queue and self._queue[0].not_before <= now and self._may_submit():
            return ("submit", self._queue.popleft())  # sending comes first
        while self._heap:
            due, _, tid = self._heap[0]
            tr = self._tracked.get(tid)
            if tr is None or tr.due != due:
                heapq.heappop(self._heap)  # stale entry
                continue
            if due <= now:
                heapq.heappop(self._heap)
                return ("poll", tr)
            break
        return None

    def _may_submit(self) -> bool:
        if self._submitting:
            return False
        return self.policy == "submit_all" or len(self._tracked) < self.max_running

    def _sleep_for(self) -> float | None:
        if len(self._inflight) >= self.http_workers:
            return None  # a finishing job notifies
        now = time.monotonic()
        times = [self._heap[0][0]] if self._heap else []
        if self._queue and self._may_submit():
            times.append(self._queue[0].not_before)
        if not times:
            return None
        return max(0.0, max(min(times), self._not_before) - now)

    def _run(self) -> None:
        """The scheduler: pick what is due, hand it to an HTTP worker, repeat."""
        while True:
            with self._cond:
                while not self._stopping:
                    job = self._next_job()
                    if job is not None:
                        break
                    self._cond.wait(self._sleep_for())
                if self._stopping:
                    return
                if job[0] == "submit":
                    self._submitting = True
                try:
                    fut = self._http.submit(self._execute, job)
                except RuntimeError:  # shut down under us: stopping
                    if job[0] == "submit":
                        self._queue.appendleft(job[1])
                    return
                self._inflight.add(fut)
                fut.add_done_callback(self._job_done)

    def _learn_history(self) -> None:
        base_url = getattr(self.client, "base_url", None)
        try:
            url = base_url if isinstance(base_url, str) else None
            for key, seconds in history(self.log.path, url):
                self.timing.observe(key, seconds)
        except Exception:  # learning is an optimisation; never fatal
            log.exception("poller: cannot learn timings from the log")

    def _job_done(self, fut: Future[None]) -> None:
        with self._cond:
            self._inflight.discard(fut)
            self._cond.notify_all()

    def _execute(self, job: tuple[str, Any]) -> None:
        try:
            if job[0] == "poll":
                self._poll(job[1])
            else:
                self._submit(job[1])
        except Exception:  # a bug must not kill the worker; the task is retried later
            log.exception("poller: unexpected error")
            if job[0] == "poll":
                with self._cond:
                    self._reschedule(job[1], failure=True)
            else:  # never drop a request silently: record it as failed
                try:
                    self._refused(job[1], RuntimeError("internal error"), None, {})
                except Exception:
                    log.exception("poller: cannot record a failed submission")
        finally:
            if job[0] == "submit":
                with self._cond:
                    self._submitting = False

    def _submit(self, item: _Queued) -> None:
        self.stats.submits += 1
        common: dict[str, Any] = dict(experiment=item.experiment, tags=item.tags, notes=item.notes)
        base_url = getattr(self.client, "base_url", None)
        try:
            task = self.client.submit(item.request, client_ref=item.handle)
        except SubmissionUncertain as exc:
            self._note(exc)
            self.log.record_uncertain(item.request, item.handle, exc, base_url=base_url, **common)
            self._emit(PollerEvent(item.handle, None, None, "uncertain", error=str(exc)))
            return
        except (RateLimited, ConnectionFailed) as exc:  # provably not created: send it later
            self._note(exc)
            item.tries += 1
            if item.tries < _MAX_SUBMIT_TRIES:
                delay = getattr(exc, "retry_after", None) or min(30.0, 0.5 * 2**item.tries)
                item.not_before = time.monotonic() + delay
                with self._cond:
                    if isinstance(exc, RateLimited):
                        self._not_before = max(self._not_before, item.not_before)
                    self._queue.appendleft(item)
                return
            self._refused(item, exc, base_url, common)
            return
        except ViduError as exc:  # refused (bad request, auth, credits...): recorded as failed
            self._note(exc)
            self._refused(item, exc, base_url, common)
            return
        self.log.record_submission(
            item.request, task, client_ref=item.handle, base_url=base_url, **common
        )
        now = time.monotonic()
        tr = _Tracked(task.id, item.handle, now, task, task.state, off_peak=bool(task.off_peak))
        tr.primed = True
        tr.watch = Watch(task_key(task))
        tr.watch.seen(task.state, now)
        with self._cond:
            self._ids[item.handle] = task.id
            self._follow(tr, now + self._delay(tr))
        self._emit(PollerEvent(item.handle, task.id, None, task.state, task))

    def _refused(self, item: _Queued, exc: BaseException, base_url: Any, common: dict) -> None:
        code = getattr(exc, "reason", "") or type(exc).__name__
        self.log.record_uncertain(
            item.request, item.handle, exc, state="failed", err_code=code, base_url=base_url,
            **common,
        )  # fmt: skip
        self._emit(PollerEvent(item.handle, None, None, "failed", error=str(exc)))

    def _poll(self, tr: _Tracked) -> None:
        if not tr.primed:  # a tracked task: count its age from its submission in the log
            tr.primed = True
            row = self.log.get(tr.task_id)
            if row is not None:
                tr.state, tr.off_peak = row["state"], bool(row.get("off_peak"))
                tr.handle = row.get("client_ref") or tr.handle
                tr.watch.key = make_key(
                    row.get("model"), row.get("resolution"), row.get("duration"), tr.off_peak
                )
                if row.get("submitted_at") is not None:
                    age = time.time() - row["submitted_at"].timestamp()
                    tr.started = time.monotonic() - max(0.0, age)
        with self._cond:
            self.stats.polls += 1
        sent = time.monotonic()
        try:
            task = self.client.get(tr.task or tr.task_id)
        except RateLimited as exc:
            if exc.retry_after:  # the limit is per key: pause every request, not just this one
                with self._cond:
                    self._not_before = max(self._not_before, time.monotonic() + exc.retry_after)
            self._fault(tr, exc, exc.retry_after)
            return
        except NotFound as exc:
            tr.not_found += 1
            if tr.not_found >= _MAX_NOT_FOUND:
                self._note(exc)
                self.log.note_error(tr.task_id, f"no longer followed: {exc}")
                with self._cond:
                    self._tracked.pop(tr.task_id, None)
                self._emit(PollerEvent(tr.handle, tr.task_id, tr.state, tr.state, tr.task,
                                       kind="error", error=str(exc)))  # fmt: skip
                return
            self._fault(tr, exc)
            return
        except (ViduError, OSError) as exc:
            self._fault(tr, exc, getattr(exc, "retry_after", None))
            return
        tr.failures = tr.not_found = 0
        answered = time.monotonic()
        tr.watch.key = tr.watch.key or task_key(task)
        tr.watch.seen(task.state, sent, answered)
        self.timing.learn(tr.watch, task.state, answered)
        changed = self.log.update(task)
        old, tr.task = tr.state, task
        tr.off_peak = bool(task.off_peak) if task.off_peak is not None else tr.off_peak
        if task.state != old:
            tr.state, tr.attempt = task.state, 0
        else:
            tr.attempt += 1
        if task.state in FINAL_STATES:
            with self._cond:
                self._tracked.pop(tr.task_id, None)
                if task.state == "success" and self.cache is not None:
                    self._start_download(tr.handle, task)
        else:
            with self._cond:
                self._reschedule(tr)
        if changed or task.state != old:
            self._emit(PollerEvent(tr.handle, task.id, old, task.state, task))

    def _fault(self, tr: _Tracked, exc: BaseException, retry_after: float | None = None) -> None:
        """A failed poll: remember the error, back off this task, keep going."""
        self._note(exc)
        tr.failures += 1
        try:
            self.log.note_error(tr.task_id, exc)
        except Exception:
            log.exception("poller: cannot record an error in the log")
        with self._cond:
            self._reschedule(tr, failure=True, retry_after=retry_after)

    def _delay(self, tr: _Tracked, *, retry_after: float | None = None) -> float:
        now = time.monotonic()
        attempt = tr.attempt + tr.failures
        expected = None  # failing checks back off as before; a forecast is for healthy ones
        if tr.state == "processing" and not tr.failures:
            expected = self.timing.forecast(tr.watch, now)
        return self.schedule.next_delay(
            now - tr.started,
            tr.state,
            attempt,
            off_peak=tr.off_peak,
            retry_after=retry_after,
            expected=expected,
        )

    def _reschedule(self, tr: _Tracked, *, failure: bool = False, retry_after=None) -> None:
        if failure and tr.task_id not in self._tracked:
            return
        self._follow(tr, time.monotonic() + self._delay(tr, retry_after=retry_after))

    def _start_download(self, handle: str, task: Task) -> None:
        """Under the lock: fetch a succeeded task's files on the download pool."""
        if self._stopping:
            return
        fut = self._pool.submit(self._download, handle, task)
        self._downloads.add(fut)

        def done(f: Future[None]) -> None:
            with self._cond:
                self._downloads.discard(f)
                self._cond.notify_all()

        fut.add_done_callback(done)

    def _download(self, handle: str, task: Task) -> None:
        assert self.cache is not None
        try:
            video, cover = self.cache.fetch(task, self.client, on_refresh=self.log.update)
            self.log.set_files(task.id, video, cover)
        except Exception as exc:
            self._note(exc)
            log.warning("task %s: download failed: %s", task.id, exc)
            try:
                self.log.note_error(task.id, exc)
            except Exception:
                log.exception("poller: cannot record a download error")
            self._emit(PollerEvent(handle, task.id, task.state, task.state, task,
                                   kind="error", error=str(exc)))  # fmt: skip
            return
        self.stats.downloads += 1
        self._emit(PollerEvent(handle, task.id, task.state, task.state, task, kind="files",
                               video_path=str(video), cover_path=str(cover) if cover else None))  # fmt: skip

    def _note(self, exc: BaseException) -> None:
        with self._cond:
            self.stats.errors += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"

    def _emit(self, event: PollerEvent) -> None:
        with self._cond:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                log.exception("poller subscriber %r failed", callback)
