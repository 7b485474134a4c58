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
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ...client.core import TaskService, new_client_ref
from ...client.receiver import CallbackReceiver
from ...client.schedule import PollSchedule
from ...client.task import Creation, Task
from ...client.timing import Timing
from ...errors import ValidationError, ViduError
from ...request.spec import Img2VideoRequest
from ...states import UNCERTAIN, UNSENT_STATES
from ..cache import VideoCache
from ..tasklog import TaskLog, UncertainSubmissionsWarning
from ..tasklog.leases import LEASE_SECONDS, Held
from ..tasklog.owners import Owner
from ..tasklog.rows import public_url
from ..tasklog.search import CLOCK_SKEW, UNCERTAIN_WINDOW
from .arguments import check_labels, check_settings
from .checks import Checks
from .downloads import Downloads
from .events import PollerEvent, Stats, Subscribers
from .handle import Submission
from .pushed import PATIENCE, Pushed
from .recovery import Recovery, uncertain_note
from .submissions import (
    CREDIT_BACKOFF,
    DEFAULT_MAX_RUNNING,
    LIMIT_WAIT,
    Queued,
    Submissions,
)
from .team import Team
from .watcher import LogWatcher

log = logging.getLogger("vidu_nb.poller")
#: Seconds between looks at the log for other pollers' changes (``watcher``).
WATCH_SECONDS = 0.5
Job = tuple[str, Any]  # ("submit", Queued), ("poll", Tracked) or ("list", [Tracked, ...])


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
        # Proves to other kernels (and, on a server log, other machines) that we are alive.
        self._owner = Owner(log.owners_dir, log.owner_locks)
        self._owner_lock = threading.Lock()
        self._lifecycle = threading.RLock()  # one start() or stop() at a time
        self._queue = Submissions(
            client, log, self.stats, self._subscribers, policy=policy,
            max_running=max_running or DEFAULT_MAX_RUNNING, pause=self._pause, created=self._created, owner=self._hold,
            hold=self._hold_sending, credit_backoff=float(credit_backoff),
            uncertain=self._search, lease=self.lease,
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
        #: Where ``max_running`` comes from: ``"explicit"`` (the argument), ``"service"`` (its
        #: concurrency limit less what runs elsewhere, read at start) or ``"default"``.
        self.limit_source = "explicit" if max_running is not None else "default"
        self._limit_asked = max_running is not None  # an explicit limit wins: never asked
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
            client, log, self._cond, self._subscribers, due=self._checks.due,
            schedule=self.schedule, timing=self.timing, reschedule=self._checks.reschedule,
            track=self.track, active=lambda: self._thread is not None and not self._stopping,
        )  # fmt: skip
        self._checks.pushed = self.pushed
        #: Whether this poller takes over rows nobody holds (``Poller.resume`` turns it on).
        self.adopting = False
        self._searching: set[str] = set()  # uncertain rows this poller began searching for
        base_url = getattr(client, "base_url", None)
        watcher = None
        if watch is not None:  # the log stores the public form of the URL (``public_url``)
            known = public_url(base_url) if isinstance(base_url, str) else None
            watcher = LogWatcher(log, self._subscribers, self._hold,
                                 learn=self.timing.learn_history, base_url=known)  # fmt: skip
        #: Its leases and the other pollers' news (``team``): a thread while started.
        self.team = Team(
            log, lease=self.lease, watch=watch, owner=self._hold, renewed=self._renewed,
            adopt=self._adopt_free, watcher=watcher,
        )  # fmt: skip
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
        parent: Any = None,
    ) -> Submission:
        """Queue a request; returns its ``Submission`` handle (see ``submit_many``)."""
        if not isinstance(request, Img2VideoRequest):
            why = f"must be an Img2VideoRequest, not {type(request).__name__}"
            if isinstance(request, (list, tuple)):
                why += "; use submit_many() for several"
            raise ValidationError("request", request, why)
        return self.submit_many(
            [request], experiment=experiment, tags=tags, notes=notes, parent=parent
        )[0]

    def submit_many(
        self,
        requests: Iterable[Img2VideoRequest],
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        parent: Any = None,
    ) -> list[Submission]:
        """Queue requests in order; returns their ``Submission`` handles (each the
        ``client_ref`` in the request's payload, as text, with its log row).

        They are recorded in the log at once (state ``queued``) in ONE transaction, so a batch
        costs one sync to disk, and either all survive a kernel restart (``Poller.resume``
        sends them then) or, on a bad request, none is queued. ``task_id(handle)`` gives the
        task id once the service has answered. ``parent`` (a task id, row id or row of the
        log) is the task these re-run (``vidu_nb.promote``): their ``parent_row_id``."""
        if isinstance(requests, (str, bytes, Img2VideoRequest)) or not isinstance(
            requests, Iterable
        ):
            why = f"must be a list of Img2VideoRequest, not {type(requests).__name__}"
            if isinstance(requests, Img2VideoRequest):
                why += "; use submit() for one"
            raise ValidationError("requests", requests, why)
        tags = check_labels(experiment, tags, notes)
        requests = list(requests)
        for i, request in enumerate(requests):
            if not isinstance(request, Img2VideoRequest):
                why = f"must be an Img2VideoRequest, not {type(request).__name__}"
                raise ValidationError(f"requests[{i}]", request, why)
        parent_row_id = None
        if parent is not None:
            parent_row_id = self.log.judgments.row_id(parent, field="parent")
        if not requests:
            return []
        items = [Queued(new_client_ref(), r, experiment, tags, notes) for r in requests]
        self.pushed.address(items)  # callback_url on each request, when callbacks are in use
        row_ids = self.log.record_queued_many(
            [(item.request, item.handle) for item in items], owner=self._hold(),
            base_url=getattr(self.client, "base_url", None), parent_row_id=parent_row_id,
            lease=self.lease, **items[0].labels,
        )  # fmt: skip
        with self._cond:
            for item in items:
                self._queue.add(item)
            self._cond.notify_all()
        return [
            Submission(item.handle, row, self.log) for item, row in zip(items, row_ids, strict=True)
        ]

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

    def recover(self) -> int:
        """Take over what pollers that are gone left in the log (``Poller.resume`` calls
        this; so does the team thread while adopting): rows nobody holds any more (their
        lease ran out, or their poller is known dead on this machine). ``queued`` rows are
        sent again; ``submitting`` rows, whose POST may have arrived, become ``uncertain``
        and are not resent: they, and uncertain rows whose search is not over, are looked for
        on the service (``find_uncertain``); unfinished tasks are followed. Returns how many
        were re-queued."""
        owner = self._hold()
        queued, uncertain = self.log.take_over(owner, self.lease)
        searchable = set(self.log.searchable()) if self._recovery.enabled else set()
        free = [
            h for h in self.log.free_rows(owner)
            if (h.task_id and h.state not in UNSENT_STATES and h.state != UNCERTAIN)
            or (h.state == UNCERTAIN and h.client_ref in searchable)
        ]  # fmt: skip
        taken = self.log.claim(free, owner, self.lease)
        # Uncertain rows held now (claimed, or made uncertain by take_over), each searched
        # for once by this poller (``Recovery`` repeats a search itself while it is due).
        held = self.log.renew_leases(owner, self.lease) if uncertain or taken else []
        search = {
            h.client_ref for h in held
            if h.state == UNCERTAIN and h.client_ref in searchable
            and h.client_ref not in self._searching
        }  # fmt: skip
        with self._cond:
            for row, request in queued:
                labels = (row["experiment"], tuple(row["tags"]), row["notes"] or "")
                self._queue.add(Queued(row["client_ref"], request, *labels))
            for h in taken:
                if h.task_id and h.state != UNCERTAIN:
                    self._checks.track(h.task_id)
            for ref in sorted(search):
                self._searching.add(ref)
                self._recovery.add(ref)
            self._cond.notify_all()
        if uncertain:
            log.warning("%d submission(s) interrupted mid-send are now 'uncertain'", uncertain)
        if taken or queued:
            log.info("poller: took over %d task(s) and %d unsent request(s)", len(taken),
                     len(queued))  # fmt: skip
        return len(queued)

    def track(self, task_id: str) -> None:
        """Follow a task already submitted (e.g. found in the log after a restart)."""
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValidationError("task_id", task_id, "must be a non-empty task id string")
        task_id = task_id.strip()
        row = self.log.get(task_id)
        if row is not None and row.get("owner") != self._hold():
            free = [h for h in self.log.free_rows(self._hold()) if h.task_id == task_id]
            if not self.log.claim(free, self._hold(), self.lease) and row.get("owner"):
                return  # another live poller follows it: its changes reach us from the log
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

    def resume_sending(self) -> None:
        """Send the queued requests again now (say, after buying credits), not at the end of
        the pause a ``CreditInsufficient`` started."""
        with self._cond:
            self._queue.resume()
            self._cond.notify_all()

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
                self._ask_limit()
                self.team.start()
                self._thread = threading.Thread(target=self._run, name="vidu-poller", daemon=True)
                self._thread.start()
        return self

    def _ask_limit(self) -> None:
        """Under the lock, once: read the service's concurrency on an HTTP worker, holding the
        first submission a little (``LIMIT_WAIT``) so it is sent under the right limit."""
        credits = getattr(self.client, "credits", None)
        if self._limit_asked or self.policy != "queue" or not callable(credits):
            return
        self._limit_asked = True
        self._queue.limit_wait_until = time.monotonic() + LIMIT_WAIT
        fut = self._http.submit(self._learn_limit, credits)
        self._inflight.add(fut)
        fut.add_done_callback(self._job_done)

    def _learn_limit(self, read_credits: Callable[[], Any]) -> None:
        """``max_running`` from ``client.credits()``: the organisation's concurrency limit
        less what runs or waits there that this poller does not follow (another kernel,
        the web console). Any failure (no such endpoint, 404, a network error) keeps the
        default: the figure is an optimisation, never a reason to stop."""
        try:
            credits = read_credits()
            total = credits.concurrency_limit
            busy = (credits.current_concurrency or 0) + (credits.queue_count or 0)
            ours = self.log.in_flight()  # the whole team's: they share the limit
        except Exception as exc:  # noqa: BLE001 - any answer but figures means "not known"
            total, busy, ours = None, 0, 0
            log.info("poller: concurrency limit not known (%s: %s)", type(exc).__name__, exc)
        with self._cond:
            if isinstance(total, int) and total > 0:
                elsewhere = max(0, busy - ours)
                self._queue.max_running = max(1, total - elsewhere)
                self.limit_source = "service"
                log.info("poller: max_running %d (service limit %d, %d busy elsewhere)",
                         self._queue.max_running, total, elsewhere)  # fmt: skip
            self._queue.limit_wait_until = 0.0
            self._cond.notify_all()

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
        self.team.stop(max(0.0, deadline - time.monotonic()))
        with self._owner_lock:  # from now on other pollers (here or in another kernel, on
            try:  # any machine) may take over our rows: at once, not when the leases run out
                self.log.release_leases(self._owner.token)
            except Exception:  # a closed log: the leases run out by themselves
                log.debug("poller: cannot release the leases", exc_info=True)
            self._owner.release()
        if unsent:
            log.warning(
                "poller stopped with %d submission(s) not sent: they stay 'queued' in the log "
                "and Poller.resume(client, log) sends them (a running one on the log takes "
                "them over at once)", unsent,
            )  # fmt: skip

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until every submission is sent, every task finished, downloaded and its video
        measured (``log.measure``; unless ``measure=False``), and every uncertain submission
        searched for once on the service (a task found is followed to the end; one not found
        yet is searched again in the background while its window lasts: see
        ``log.uncertain()``). False on timeout. (This one waits on purpose; nothing else in
        the foreground does.)"""
        if self._thread is None:
            raise ViduError("the poller is not started; call start() first")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while (
                self._queue or self._checks.due or self._inflight or self._downloads
                or self._recovery.unsearched
            ):  # fmt: skip
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

    def _hold_sending(self, until: float, reason: str | None) -> None:
        """Hold the submission queue until ``until`` (monotonic), saying why; ``reason=None``
        ends a hold."""
        with self._cond:
            if reason is None:
                self._queue.resume()
            else:
                self._queue.held_until, self._queue.paused_reason = until, reason
            self._cond.notify_all()

    def _search(self, handle: str) -> None:
        """An uncertain submission: look for its task on the service."""
        with self._cond:
            self._searching.add(handle)
            self._recovery.add(handle)
            self._cond.notify_all()

    def _renewed(self, held: list[Held]) -> None:
        """The leases were renewed: stop following what this poller no longer holds (taken
        over after its lease ran out while it stalled); its new holder follows it."""
        ids = {h.task_id for h in held if h.task_id}
        refs = {h.client_ref for h in held if h.client_ref}
        with self._cond:
            followed = [tid for tid in self._checks.due.ids() if tid not in ids]
            waiting = [h for h in self._queue.handles() if h not in refs]
        # Not among the renewed: either another poller's now, or too new (or just finished)
        # to have been seen by the renewal: the row tells.
        mine = (None, self._owner.token)
        lost = [t for t in followed if (r := self.log.get(t)) and r.get("owner") not in mine]
        gone = [h for h in waiting if (r := self.log.get_by_ref(h)) and r.get("owner") not in mine]
        if not lost and not gone:
            with self._cond:
                self._cond.notify_all()  # leases valid again: the scheduler may act
            return
        with self._cond:
            for tid in lost:
                self._checks.due.drop(tid)
            for handle in gone:
                self._queue.cancel(handle)
            self._cond.notify_all()
        log.warning("poller: %d task(s) and %d request(s) were taken over by another poller "
                    "(this one stalled past its lease)", len(lost), len(gone))  # fmt: skip

    def _adopt_free(self) -> None:
        """The team thread's turn: take over rows nobody holds (when adopting)."""
        if self.adopting and not self._stopping:
            self.recover()

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
        if self.team.lapsed(now):  # our leases may have run out: renew before acting on them
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
        if len(self._inflight) >= self.http_workers:
            return None  # a finishing job notifies
        if self.team.lapsed(time.monotonic()):
            return 0.05  # the team thread is renewing
        times = [
            self._checks.due.next_due(),
            self._queue.next_time(len(self._checks.due)),
            self._recovery.next_due(),
        ]
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
