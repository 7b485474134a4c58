"""Pushed updates: what the poller does with the callbacks a ``CallbackReceiver`` verifies.

A poller guesses when a task ends; a callback is the service saying so. With callbacks in use
(``Poller.use_callbacks``) every request the poller sends carries the receiver's
``callback_url`` (unless it set its own), and a task whose callbacks are expected is not
polled on the normal schedule:

* ``processing`` (a callback) is recorded at once, and starts the task's forecast (``Timing``);
* a final state (a callback) triggers ONE confirming GET, then the download. Trust but
  verify: what the GET says is what gets recorded, so a body that is validly signed but wrong
  (a replay, a bug, a forgery with a leaked key) can never write a state or credits the
  service does not confirm;
* meanwhile the task has only a *safety check*: at its forecast's late edge plus a margin
  once it is processing, else after ``patience`` (doubling each time nothing new happened).

Callbacks get lost (a tunnel closes, an ingress changes, the service gives up after its
retries), so the poller falls back to the normal schedule when they stop arriving:

* a task whose safety check shows a state no callback reported (``processing`` or final)
  has *missed* a callback: it is polled normally from then on;
* two misses in a row with no delivery in between mean the channel is down: every task falls
  back (a single lost callback is not enough to give up on all of them);
* a receiver that stops (``CallbackReceiver.stop``) sends every task back at once.
Any verified delivery re-arms it all. A quiet receiver is no evidence by itself (nothing may
be changing), which is why a silence is measured in misses, not in seconds.

Deliveries come duplicated (final states are retried) and out of order: a state that is not
further along (``states.progress``) than what is known changes nothing. A delivery for a task
the poller does not follow is either an uncertain submission, settled from the body's
``payload`` (``TaskLog.reconcile_from_callback``, identity only; a GET fills the rest), or
early (its submit answer is still being recorded): kept briefly and applied when the task is
followed. Anything else (a finished task, another kernel's) is ignored.

The checks ask this module (``hold``, ``holds``) when they schedule a task, so it sits below
them: it is given the heap of due checks and the one call that reschedules a task, and never
reaches back into the checks themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ... import states
from ...client.config import is_loopback_url
from ...client.receiver import CallbackReceiver, Delivery
from ...client.schedule import PollSchedule
from ...client.task import Task
from ...client.timing import Timing
from ...errors import ValidationError, ViduError
from .due import DueChecks, Tracked
from .events import PollerEvent, Subscribers

if TYPE_CHECKING:
    from ..tasklog import TaskLog
    from .submissions import Queued

log = logging.getLogger("vidu_nb.poller")

#: Service seconds before the first safety check of a task without a forecast.
PATIENCE = 60.0
PATIENCE_CAP = 900.0
OFF_PEAK_PATIENCE_CAP = 3600.0
#: Past a forecast's late edge: at least this many service seconds, or a quarter of the window.
MARGIN = 5.0
#: How long a callback may take to arrive: service seconds, and real seconds at least (the
#: network and the receiver do not run faster with a fast simulator). A final callback says
#: the task was still processing this long before it came (a lower bound, for ``Timing``).
DELIVERY_LAG = 1.0
MIN_REAL_LAG = 0.25
#: Real seconds past a forecast's late edge at least, for the same reason.
MIN_REAL_MARGIN = 1.0
MISSES_TO_FALL_BACK = 2
EARLY_KEPT = 1000  # deliveries for tasks not followed yet, newest kept
PROCESSING = states.progress(states.PROCESSING)
FINAL = states.progress(states.SUCCESS)


@dataclass
class Expecting:
    """What the poller knows of one task's callbacks."""

    expect: bool  # callbacks are expected: the task is not polled on the normal schedule
    heard: int = 0  # ``states.progress`` of the furthest state a callback reported
    final: bool = False  # a final state was reported: its one confirming GET is due or done
    quiet: int = 0  # safety checks since the last news (the patience doubles with each)


@dataclass
class PushedCounts:
    """Diagnostics (``poller.pushed.counts``)."""

    deliveries: int = 0  # verified callbacks about tasks this poller follows
    confirms: int = 0  # final callbacks that started a confirming GET
    held: int = 0  # checks put off to a safety deadline instead of the schedule
    misses: int = 0  # a check showed a state no callback had reported
    fallbacks: int = 0  # times every task went back to polling
    reconciled: int = 0  # uncertain submissions settled by a callback
    disputed: int = 0  # a final callback the confirming GET did not confirm


class Pushed:
    """Pushed updates for one poller; every field is guarded by the poller's lock (``cond``)."""

    def __init__(
        self,
        client: object,
        tasklog: TaskLog,
        cond: threading.Condition,
        subscribers: Subscribers,
        *,
        due: DueChecks,
        schedule: PollSchedule,
        timing: Timing,
        reschedule: Callable[[Tracked], None],
        active: Callable[[], bool],
        track: Callable[[str], None],
    ) -> None:
        self.client = client
        self.log = tasklog
        #: The followed tasks (the checks' heap) and their schedule and forecasts.
        self.due, self.schedule, self.timing = due, schedule, timing
        self.counts = PushedCounts()
        self.receiver: CallbackReceiver | None = None
        self.url: str | None = None  # the callback_url requests are sent with
        self.patience = PATIENCE
        #: True while callbacks are taken to be lost: every task is polled normally.
        self.fallen_back = False
        self._cond = cond
        self._subscribers = subscribers
        self._active = active  # the poller is running (deliveries are ignored otherwise)
        self._track = track  # follow a task by id (a reconciled submission)
        self._reschedule = reschedule  # under the lock: its next check on the normal schedule
        self._misses = 0  # in a row, with no delivery in between
        self._expecting: set[str] = set()  # handles sent with our callback_url, not followed yet
        self._tasks: dict[str, Expecting] = {}
        self._followed: dict[str, Tracked] = {}
        self._early: OrderedDict[str, Delivery] = OrderedDict()
        self._unsubscribe: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        mode = "off" if self.receiver is None else "fallen back" if self.fallen_back else "on"
        return f"Pushed({mode}, url={self.url!r}, {self.counts})"

    # -- set-up (foreground) -------------------------------------------------------------
    def use(
        self, receiver: CallbackReceiver, public_url: str | None = None, patience: float = PATIENCE
    ) -> None:
        """Take updates from ``receiver``; requests sent from now on carry ``public_url``
        (default: the receiver's ``callback_url``)."""
        if not isinstance(receiver, CallbackReceiver):
            raise ValidationError("receiver", receiver, "must be a CallbackReceiver")
        url = public_url or receiver.callback_url
        if public_url is not None:
            _check_url(public_url)
        if url is None:
            why = "is not serving and has no public_url: call serve() or pass public_url="
            raise ValidationError("receiver", receiver, why)
        if is_loopback_url(url) and not getattr(self.client, "is_simulated", True):
            why = "is a loopback address the service cannot reach: give your ingress or tunnel"
            raise ValidationError("public_url", url, why)
        if isinstance(patience, bool) or not isinstance(patience, (int, float)) or patience <= 0:
            raise ValidationError("patience", patience, "must be service seconds > 0")
        with self._cond:
            for unsubscribe in self._unsubscribe:
                unsubscribe()
            self.receiver, self.url, self.patience = receiver, url, float(patience)
            self._unsubscribe = [
                receiver.subscribe(self.on_delivery, on_stop=self.fall_back),
                self._subscribers.add(self._checked),
            ]

    def address(self, items: Iterable[Queued]) -> None:
        """Put ``callback_url`` on requests that have none (before they are recorded), and
        remember which ones will call us back."""
        with self._cond:
            if self.url is None:
                return
            for item in items:
                if item.request.callback_url is None:
                    item.request = item.request.replace(callback_url=self.url)
                if item.request.callback_url == self.url:
                    self._expecting.add(item.handle)

    # -- the schedule's hook (called by ``Checks``, under the lock) -----------------
    def hold(self, tr: Tracked, retry_after: float | None = None) -> float | None:
        """The delay before ``tr``'s next check when callbacks stand in for polling (a safety
        check), or None for the normal schedule."""
        if self.receiver is None:
            return None
        self._followed[tr.task_id] = tr
        info = self._tasks.get(tr.task_id)
        if info is None:
            info = Expecting(expect=tr.handle in self._expecting)
            self._expecting.discard(tr.handle)
            self._tasks[tr.task_id] = info
            self._prune()
        early = self._early.pop(tr.task_id, None)
        if early is not None and self._apply(tr, info, early.task, early.at) and info.final:
            return 0.0  # its final state came before its submit answer was recorded
        if retry_after or tr.failures:
            return None  # a failing check backs off as the schedule says
        if info.final and not states.is_final(tr.state):
            # The confirming GET disagreed: that final state was not the service's (a replay,
            # a forgery). Nothing was recorded from it; the next final callback counts again.
            info.final, info.heard = False, states.progress(tr.state)
            self.counts.disputed += 1
            log.warning("task %s: a callback said it was final, the service says %r",
                        tr.task_id, tr.state)  # fmt: skip
        if not self.holds(tr):
            return None
        self.counts.held += 1
        scale = self.schedule.time_scale
        delay = None
        if states.progress(tr.state) >= PROCESSING and info.quiet == 0:
            f = self.timing.forecast(tr.watch, time.monotonic())
            if f is not None:
                delay = f.late + max(MARGIN * scale, (f.late - f.early) / 4, MIN_REAL_MARGIN)
        if delay is None or delay <= 0:
            cap = OFF_PEAK_PATIENCE_CAP if tr.off_peak else PATIENCE_CAP
            delay = min(cap, self.patience * 2 ** min(info.quiet, 10)) * scale
        info.quiet += 1
        return delay

    def holds(self, tr: Tracked) -> bool:
        """Under the lock, no side effect: whether ``tr`` waits for callbacks rather than
        the schedule (code that reschedules many tasks at once should leave these alone)."""
        if self.fallen_back or self.receiver is None or self.receiver.stopped:
            return False
        return self._expects(tr)

    def _expects(self, tr: Tracked) -> bool:
        """Callbacks are expected for ``tr`` (whether or not they are arriving)."""
        info = self._tasks.get(tr.task_id)
        return self.receiver is not None and info is not None and info.expect and not info.final

    # -- deliveries (the receiver's threads) ---------------------------------------------
    def on_delivery(self, delivery: Delivery) -> None:
        """A verified callback: use it for the task it reports (see the module docstring)."""
        if not self._active():
            return
        task = delivery.task
        emit: PollerEvent | None = None
        with self._cond:
            self._misses = 0
            if self.fallen_back:
                self.fallen_back = False
                log.info("callbacks arrive again: tasks are checked on callbacks")
            tr = self._followed.get(task.id)
            if tr is None or task.id not in self.due:
                tr = None
            else:
                self.counts.deliveries += 1
                info = self._tasks.setdefault(task.id, Expecting(expect=True))
                info.expect, info.quiet = True, 0
                old = tr.state
                if self._apply(tr, info, task, delivery.at):
                    if info.final:
                        self.counts.confirms += 1
                        self.due.at(tr, time.monotonic())  # the one confirming GET
                    else:
                        self._reschedule(tr)
                        shown = replace(tr.task, state=tr.state) if tr.task else Task(task.id)
                        emit = PollerEvent(tr.handle, task.id, old, tr.state, shown)
                    self._cond.notify_all()
        if tr is None:
            self._unknown(delivery)
        elif emit is not None:
            # Recorded without the body's other fields: only a GET writes credits and files.
            self.log.update(Task(id=task.id, state=emit.new_state))
            self._subscribers.emit(emit)

    def _apply(self, tr: Tracked, info: Expecting, task: Task, at: float) -> bool:
        """Under the lock: a reported state, in memory. True when it is news (further along
        than anything known); a final one is news once."""
        reached = states.progress(task.state)
        known = max(info.heard, states.progress(tr.state))
        info.heard = max(info.heard, reached)
        lag = max(DELIVERY_LAG * self.schedule.time_scale, MIN_REAL_LAG)
        if reached >= FINAL:
            if info.final:
                return False  # a retry of the same news
            info.final = True
            if tr.watch.started is not None and (tr.watch.unfinished or 0.0) < at - lag:
                tr.watch.seen(states.PROCESSING, at - lag)  # still processing just before
            return True
        if reached <= known:
            return False  # a duplicate, or late: a check already saw as much
        # Arrival is an honest upper bound on when the task started: sent after it started.
        tr.watch.seen(task.state, at)
        tr.state, tr.attempt = task.state, 0
        return True

    def _unknown(self, delivery: Delivery) -> None:
        """A delivery for a task this poller does not follow (see the module docstring)."""
        task = delivery.task
        try:
            row = self.log.get(task.id)
            if row is not None:
                with self._cond:  # ours, recorded an instant ago and about to be followed?
                    ours = row["client_ref"] in self._expecting
                if not ours:
                    return  # finished already (a retried delivery), or another kernel's task
            ref = task.payload
            if (
                row is None
                and ref
                and any(ref in (r["client_ref"], r["payload"]) for r in self.log.uncertain())
            ):
                # Identity only: the row gets its task id; the GET of track() fills the rest.
                self.log.reconcile_from_callback({"id": task.id, "payload": ref})
                with self._cond:
                    self.counts.reconciled += 1
                self._track(task.id)
                return
        except ViduError as exc:  # two uncertain rows with this payload: the user picks
            log.warning("callback for task %s not reconciled: %s", task.id, exc)
            return
        with self._cond:  # probably our own submission, its answer still being recorded
            self._early[task.id] = delivery
            self._early.move_to_end(task.id)
            while len(self._early) > EARLY_KEPT:
                self._early.popitem(last=False)

    # -- falling back ------------------------------------------------------------------------
    def _checked(self, event: PollerEvent) -> None:
        """Every poller event: a check that shows a state no callback reported is a miss."""
        if event.kind != "state" or not event.task_id or self.receiver is None:
            return
        reached = states.progress(event.new_state)
        with self._cond:
            info = self._tasks.get(event.task_id)
            if reached >= FINAL:
                self._tasks.pop(event.task_id, None)
                self._followed.pop(event.task_id, None)
            if info is None or not info.expect or reached <= info.heard or reached < PROCESSING:
                return
            info.expect = False  # this task is polled from now on
            self._misses += 1
            self.counts.misses += 1
            log.info("task %s: no callback reported %r; checked by polling now",
                     event.task_id, event.new_state)  # fmt: skip
            tr = self._followed.get(event.task_id)
            if tr is not None and event.task_id in self.due:
                self._reschedule(tr)
            if self._misses >= MISSES_TO_FALL_BACK and not self.fallen_back:
                log.warning("callbacks seem lost (%d tasks changed unreported): polling all",
                            self._misses)  # fmt: skip
                self.fall_back()

    def fall_back(self) -> None:
        """Check every task on the normal schedule again (the receiver stopped, or callbacks
        are lost); the next verified delivery undoes it."""
        with self._cond:
            waiting = [tr for tr in self._followed.values() if self._expects(tr)]
            self.fallen_back = True
            self.counts.fallbacks += 1
            for tr in waiting:
                if tr.task_id in self.due:
                    self._tasks[tr.task_id].quiet = 0
                    self._reschedule(tr)
            self._cond.notify_all()

    def _prune(self) -> None:
        """Forget tasks no longer followed (given up, or dropped) once they pile up."""
        if len(self._followed) > 2 * len(self.due) + 64:
            for task_id in [t for t in self._followed if t not in self.due]:
                self._followed.pop(task_id, None)
                self._tasks.pop(task_id, None)


def _check_url(url: str) -> None:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("public_url", url, "must be an http:// or https:// URL with a host")
