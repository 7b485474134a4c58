"""``Poller``: the public face of the background poller, where its parts are wired.

The foreground methods never touch the network (``submit``/``submit_many`` record the requests
in the local log first, in one transaction, so nothing queued is lost with the kernel). The
work is done by parts, each a module: the scheduler thread and its HTTP workers (``worker``)
pick what is due from the submission queue (``submissions``), the searches for uncertain
submissions (``recovery``) and the followed tasks (``checks``, ``due``); ``downloads`` fetches
the videos, ``holdings`` takes rows over from other pollers and lets them go, ``team`` renews
the leases, ``limit`` reads the service's concurrency, ``pushed`` takes callbacks. All of them
are guarded by one lock (a re-entrant ``Condition`` that also wakes the scheduler). This class
makes them, passes each the calls it needs from the others, and answers the notebook.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from ...client.core import TaskService
from ...client.receiver import CallbackReceiver
from ...client.schedule import PollSchedule
from ...client.task import Creation, Task
from ...client.timing import Timing
from ..cache import VideoCache
from ..tasklog import TaskLog, UncertainSubmissionsWarning
from ..tasklog.leases import LEASE_SECONDS
from ..tasklog.rows import public_url
from ..tasklog.search import CLOCK_SKEW, UNCERTAIN_WINDOW
from .arguments import check_settings
from .checks import Checks
from .downloads import Downloads
from .events import PollerEvent, Stats, Subscribers
from .holdings import Holdings
from .intake import Intake
from .limit import ServiceLimit
from .pushed import PATIENCE, Pushed
from .recovery import Recovery, uncertain_note
from .submissions import CREDIT_BACKOFF, DEFAULT_MAX_RUNNING, Submissions
from .team import Team
from .watcher import LogWatcher
from .worker import Worker

log = logging.getLogger("vidu_nb.poller")
#: Seconds between looks at the log for other pollers' changes (``watcher``).
WATCH_SECONDS = 0.5
_P = ParamSpec("_P")
_R = TypeVar("_R")


def _to(
    part: str, method: Callable[Concatenate[Any, _P], _R]
) -> Callable[Concatenate[Any, _P], _R]:
    """A ``Poller`` method that is ``method`` of the part held in attribute ``part`` (same
    name, parameters, types and docstring; the facade idiom of ``TaskLog``)."""

    @functools.wraps(method)
    def delegate(poller: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(getattr(poller, part), *args, **kwargs)

    return delegate


class Poller:
    """Follow tasks in the background (see the package docstring); a context manager."""

    def __init__(
        self,
        client: TaskService,
        log: TaskLog,
        *,
        callbacks: CallbackReceiver | None = None,
        cache: bool | VideoCache | None = True,
        max_running: int | None = None,
        policy: str = "queue",
        schedule: PollSchedule | None = None,
        download_workers: int = 2,
        http_workers: int = 4,
        timing: Timing | None = None,
        credit_backoff: float = CREDIT_BACKOFF,
        find_uncertain: bool = True,
        uncertain_window: float = UNCERTAIN_WINDOW,
        clock_skew: float = CLOCK_SKEW,
        measure: bool = True,
        lease: float = LEASE_SECONDS,
        watch: float | None = WATCH_SECONDS,
    ) -> None:
        check_settings(
            client, log, cache=cache, policy=policy, max_running=max_running,
            http_workers=http_workers, download_workers=download_workers,
            credit_backoff=credit_backoff, find_uncertain=find_uncertain,
            uncertain_window=uncertain_window, clock_skew=clock_skew, measure=measure,
            lease=lease, watch=watch,
        )  # fmt: skip
        self.client = client
        self.log = log
        self.schedule = schedule or getattr(client, "schedule", None) or PollSchedule()
        self.cache = VideoCache(log.cache_dir) if cache is True else (cache or None)
        self.stats = Stats()
        #: Processing times, learned from the log when the worker starts and from every
        #: task seen finishing (shared with the client's own waits when it has one).
        # (``is None``: an empty Timing is falsy, having learned nothing yet)
        shared = getattr(client, "timing", None)
        self.timing = timing if timing is not None else shared if shared is not None else Timing()
        self.http_workers = http_workers
        #: Seconds each lease on the log lasts unless renewed (``tasklog.leases``).
        self.lease = float(lease)
        self._cond = threading.Condition()
        self._subscribers = Subscribers()
        self._lifecycle = threading.RLock()  # one start() or stop() at a time
        # (The lambdas reach parts made below: those need this queue.)
        self._queue = Submissions(
            client, log, self.stats, self._subscribers, policy=policy,
            max_running=max_running or DEFAULT_MAX_RUNNING, pause=self._pause,
            created=self._created, owner=self._hold, credit_backoff=float(credit_backoff),
            hold=lambda until, why: self._intake.hold(until, why),
            uncertain=lambda handle: self._holdings.search(handle), lease=self.lease,
        )  # fmt: skip
        self._recovery = Recovery(
            client, log, self._cond, self.stats, self._subscribers, found=self._created,
            enabled=find_uncertain, window=float(uncertain_window), skew=float(clock_skew),
        )  # fmt: skip
        self._checks = Checks(
            client, log, self.schedule, self.timing, self._cond, self.stats, self._subscribers,
            pause=self._pause, succeeded=self._start_download,
        )  # fmt: skip
        self._downloads = Downloads(
            self.cache, client, log, self._cond, self.stats, self._subscribers,
            workers=download_workers, measure=measure,
        )  # fmt: skip
        #: The rows this poller holds, takes over and loses (``holdings``).
        self._holdings = Holdings(
            log, self._cond, self._queue, self._checks, self._recovery, lease=self.lease
        )
        self._limit = ServiceLimit(client, log, self._cond, self._queue,
                                   explicit=max_running is not None)  # fmt: skip
        self._ids: dict[str, str] = {}
        self._learned = False
        #: Pushed updates (``pushed``): off until ``use_callbacks`` (or ``callbacks=``).
        self.pushed = Pushed(
            client, log, self._cond, self._subscribers, due=self._checks.due,
            schedule=self.schedule, timing=self.timing, reschedule=self._checks.reschedule,
            track=self.track, active=lambda: self._worker.running,
        )  # fmt: skip
        self._checks.pushed = self.pushed
        self._intake = Intake(client, log, self._cond, self._queue, self.pushed, self._subscribers,
                              owner=self._hold, lease=self.lease)  # fmt: skip
        #: Whether this poller takes over rows nobody holds (``Poller.resume`` turns it on).
        self.adopting = False
        base_url = getattr(client, "base_url", None)
        watcher = None
        if watch is not None:  # the log stores the public form of the URL (``public_url``)
            known = public_url(base_url) if isinstance(base_url, str) else None
            watcher = LogWatcher(log, self._subscribers, self._hold,
                                 learn=self.timing.learn_history, base_url=known)  # fmt: skip
        #: Its leases and the other pollers' news (``team``): a thread while started.
        self.team = Team(
            log, lease=self.lease, watch=watch, owner=self._hold,
            renewed=self._holdings.renewed, adopt=self._adopt_free, watcher=watcher,
        )  # fmt: skip
        self._worker = Worker(
            self._cond, self._queue, self._checks, self._recovery, self._downloads, self.team,
            http_workers=http_workers,
        )  # fmt: skip
        if callbacks is not None:
            self.use_callbacks(callbacks)

    @property
    def limit_source(self) -> str:
        """Where ``max_running`` comes from: ``"explicit"`` (the argument), ``"service"`` (its
        concurrency limit less what runs elsewhere, read at start) or ``"default"``."""
        return self._limit.source

    @property
    def _thread(self) -> threading.Thread | None:
        """The scheduler thread (``worker``), None until started."""
        return self._worker.thread

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
    submit = _to("_intake", Intake.submit)
    submit_many = _to("_intake", Intake.submit_many)
    cancel_queued = _to("_intake", Intake.cancel_queued)
    resume_sending = _to("_intake", Intake.resume_sending)
    recover = _to("_holdings", Holdings.recover)
    track = _to("_holdings", Holdings.track)
    wait_all = _to("_worker", Worker.wait_all)

    @classmethod
    def resume(cls, client: TaskService, log: TaskLog, **settings: Any) -> Poller:
        """A started poller that takes over ``log`` (after a kernel restart, or another
        poller's end): it follows every unfinished task no live poller holds, fetches the
        videos of succeeded tasks not cached yet, and sends what stopped or dead pollers left
        unsent (see ``recover``): ``queued`` rows are sent, ``submitting`` ones become
        ``uncertain`` and are looked for on the service (its task list, matched by the
        ``client_ref`` in ``payload``); an ``UncertainSubmissionsWarning`` says how many there
        are and what happens to them. It keeps doing so while it runs: rows whose poller
        stops or dies (its lease runs out) are taken over (``team``), so any number of kernels
        may resume one log and each task is still followed by one of them.
        ``settings`` are the constructor's keyword arguments."""
        poller = cls(client, log, **settings)
        poller.adopting = True
        poller.recover()
        uncertain = len(log.uncertain())  # before the poller starts finding them
        poller.start()
        if uncertain:
            message = uncertain_note(uncertain, poller.finds_uncertain)
            logging.getLogger("vidu_nb.poller").warning(message)
            warnings.warn(message, UncertainSubmissionsWarning, stacklevel=2)
        if poller.cache is not None:
            for task_id in log.missing_files():
                poller.download(task_id)
        return poller

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

    @property
    def finds_uncertain(self) -> bool:
        """Whether uncertain submissions are looked for on the service (the client can list
        tasks, and ``find_uncertain`` was not turned off)."""
        with self._cond:
            return self._recovery.enabled

    @property
    def paused_reason(self) -> str | None:
        """Why sending is paused (the balance ran out: ``CreditInsufficient``), or None.
        Requests stay queued meanwhile; status checks and downloads go on."""
        with self._cond:
            return self._queue.paused_reason

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
            if not self._worker.alive():
                if self._worker.reopen():  # stop() shut the pools down: new ones
                    self._downloads.reopen()
                self._limit.ask(self._worker.spawn)
                self.team.start()
                self._worker.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker and the downloads (waiting at most ``timeout`` seconds)."""
        with self._lifecycle:
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            self._worker.stopping = True
            self._cond.notify_all()
            unsent = len(self._queue)
        for fut in self._worker.halt(deadline) + self._downloads.shutdown():
            try:
                fut.result(max(0.0, deadline - time.monotonic()))
            except Exception:
                pass
        self.team.stop(max(0.0, deadline - time.monotonic()))
        self._holdings.release()
        if unsent:
            log.warning(
                "poller stopped with %d submission(s) not sent: they stay 'queued' in the log "
                "and Poller.resume(client, log) sends them (a running one on the log takes "
                "them over at once)", unsent,
            )  # fmt: skip

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
        return self._holdings.hold()

    def _adopt_free(self) -> None:
        """The team thread's turn: take over rows nobody holds (when adopting)."""
        if self.adopting and not self._worker.stopping:
            self.recover()

    def _pause(self, until: float) -> None:
        self._worker.pause(until)

    def _created(self, handle: str, task: Task) -> None:
        with self._cond:
            self._ids[handle] = task.id
            self._checks.follow_submitted(handle, task)

    def _start_download(self, handle: str, task: Task) -> None:
        """Under the lock: fetch a succeeded task's files (not once stopping)."""
        if self.cache is not None and not self._worker.stopping:
            self._downloads.start(handle, task)
