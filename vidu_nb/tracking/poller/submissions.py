"""Requests waiting to be sent, the concurrency policy that releases them, and sending one.

Every request is in the log before it is sent (``queued``, written by ``Poller.submit``) and
moves to ``submitting`` in its own transaction right before the POST, so a process killed at
any moment leaves a row saying how far it got. A submit is never retried when it may have
reached the service (``SubmissionUncertain`` is recorded as such, to be reconciled); only
answers that prove nothing was created (429, a connection that failed before sending) put the
request back in the queue (row ``queued`` again), later. Any other refusal is recorded as a
failed row, so no request ever disappears silently.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...client.task import Task
from ...errors import (
    ConnectionFailed,
    CreditInsufficient,
    RateLimited,
    SubmissionUncertain,
    ViduError,
)
from ..tasklog.leases import LEASE_SECONDS
from .events import PollerEvent, Stats, Subscribers

if TYPE_CHECKING:
    from ...client.core import TaskService
    from ...request.spec import Img2VideoRequest
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")
POLICIES = ("queue", "submit_all")
MAX_SUBMIT_TRIES = 6
#: ``max_running`` when neither the caller nor the service says (the documented default
#: concurrency: 5 running tasks per organisation).
DEFAULT_MAX_RUNNING = 5
#: How long the first submission waits for the service's concurrency figures (seconds).
LIMIT_WAIT = 10.0
#: After a ``CreditInsufficient``, sending waits this long (seconds), doubling on each refusal
#: up to ``CREDIT_BACKOFF_CAP``, or until ``Poller.resume_sending()``: credits are bought by a
#: person, in minutes, so retrying sooner would only add refusals.
CREDIT_BACKOFF = 120.0
CREDIT_BACKOFF_CAP = 900.0
RECORD_TRIES = 4  # writes of a created task to the log before it is left uncertain
#: Seconds between looks at the log while the team's tasks fill the shared limit.
FULL_WAIT = 0.5


@dataclass
class Queued:
    """A request not sent yet; ``handle`` is the client reference put in its payload."""

    handle: str
    request: Img2VideoRequest
    experiment: str | None
    tags: tuple[str, ...]
    notes: str
    tries: int = 0
    not_before: float = 0.0

    @property
    def labels(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "tags": self.tags, "notes": self.notes}


class Submissions:
    """The submission queue (guarded by the poller's lock) and the job that sends its head.

    ``policy="queue"`` releases a request only while fewer than ``max_running`` followed tasks
    are unfinished; ``"submit_all"`` releases everything and lets the service queue it. Either
    way one request is in flight at a time, so tasks are created in the order submitted.
    """

    def __init__(
        self,
        client: TaskService,
        tasklog: TaskLog,
        stats: Stats,
        subscribers: Subscribers,
        *,
        policy: str,
        max_running: int,
        pause: Callable[[float], None],
        created: Callable[[str, Task], None],
        owner: Callable[[], str],
        hold: Callable[[float, str | None], None],
        uncertain: Callable[[str], None] = lambda handle: None,
        credit_backoff: float = CREDIT_BACKOFF,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.client = client
        self.lease = lease
        self.log = tasklog
        self.stats = stats
        self.subscribers = subscribers
        self.policy = policy
        self.max_running = max_running
        self.sending = False
        self._pause = pause  # stop every request until a monotonic time (a 429)
        self._created = created  # the service answered with a task: follow it
        self._owner = owner  # the token of the poller holding the queued rows
        self._hold = hold  # hold every submission until a monotonic time, saying why
        self._uncertain = uncertain  # a row became uncertain: look for its task
        self._items: deque[Queued] = deque()
        self.credit_backoff = credit_backoff
        #: Sending waits until this monotonic time (credits ran out), and why; None: it does not.
        self.held_until = 0.0
        self.paused_reason: str | None = None
        #: Sending waits until this monotonic time for the service's concurrency figures.
        self.limit_wait_until = 0.0
        self._credit_refusals = 0

    # -- the queue (caller holds the poller's lock) -----------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: Queued) -> None:
        self._items.append(item)

    def put_back(self, item: Queued) -> None:
        self._items.appendleft(item)

    def handles(self) -> list[str]:
        """The handles waiting in the queue, in order."""
        return [item.handle for item in self._items]

    def cancel(self, handle: str) -> bool:
        for item in self._items:
            if item.handle == handle:
                self._items.remove(item)
                return True
        return False

    @property
    def limit(self) -> int | None:
        """Tasks in flight the log may hold before this poller sends (None: no limit)."""
        return self.max_running if self.policy == "queue" else None

    def may_send(self, running: int) -> bool:
        if self.sending:
            return False
        return self.policy == "submit_all" or running < self.max_running

    def take(self, now: float, running: int) -> Queued | None:
        """The head of the queue when it may be sent now (then ``sending`` until ``done``)."""
        due = self.next_time(running)
        if due is not None and due <= now:
            self.sending = True
            return self._items.popleft()
        return None

    def next_time(self, running: int) -> float | None:
        """When the head may be sent, or None when nothing can be sent before a change."""
        if self._items and self.may_send(running):
            return max(self._items[0].not_before, self.held_until, self.limit_wait_until)
        return None

    def resume(self) -> None:
        """Send again at once after a pause for credits (caller holds the lock)."""
        self.held_until = 0.0
        self.paused_reason = None
        self._credit_refusals = 0

    # -- the job (an HTTP worker, no lock held) ----------------------------------------------
    def send(self, item: Queued) -> Queued | None:
        """Send ``item`` and record the outcome; returns it when it must be queued again."""
        owner = self._owner()
        limit = self.limit
        # A read first: while the team fills the limit, waiting costs no write transaction.
        full = limit is not None and self.log.in_flight() >= limit
        if full or not self.log.start_sending(item.handle, owner, limit=limit, lease=self.lease):
            row = self.log.get_by_ref(item.handle)
            if row is None or row["state"] != "queued" or row.get("owner") != owner:
                return None  # cancelled, or taken over by another poller: not ours
            item.not_before = time.monotonic() + FULL_WAIT  # the shared limit is reached
            return item
        self.subscribers.emit(PollerEvent(item.handle, None, "queued", "submitting"))
        self.stats.count("submits")
        base_url = getattr(self.client, "base_url", None)
        try:
            task = self.client.submit(item.request, client_ref=item.handle)
        except SubmissionUncertain as exc:
            self.stats.note(exc)
            self.log.record_uncertain(
                item.request, item.handle, exc, base_url=base_url, **item.labels
            )
            self.subscribers.emit(PollerEvent(item.handle, None, None, "uncertain", error=str(exc)))
            self._uncertain(item.handle)
            return None
        except (RateLimited, ConnectionFailed) as exc:  # provably not created: send it later
            self.stats.note(exc)
            item.tries += 1
            # Throttling is the service saying "later", never "no": it does not use up tries.
            throttled = isinstance(exc, RateLimited)
            if throttled or item.tries < MAX_SUBMIT_TRIES:
                backoff = min(30.0, 0.5 * 2 ** min(item.tries, 10))
                delay = getattr(exc, "retry_after", None) or backoff
                item.not_before = time.monotonic() + delay
                if throttled:
                    self._pause(item.not_before)
                if self.log.back_to_queue(item.handle, owner, exc):
                    self.subscribers.emit(PollerEvent(item.handle, None, "submitting", "queued"))
                    return item
                return None
            self.refuse(item, exc)
            return None
        except CreditInsufficient as exc:  # nothing was created: wait for credits, then resend
            self.stats.note(exc)
            return self._out_of_credits(item, owner, exc)
        except ViduError as exc:  # refused (bad request, auth...): recorded as failed
            self.stats.note(exc)
            self.refuse(item, exc)
            return None
        if self.paused_reason is not None or self._credit_refusals:
            self._hold(0.0, None)  # credits came back: the pause is over
        if not self._record_created(item, task, base_url):
            return None
        self._created(item.handle, task)
        self.subscribers.emit(PollerEvent(item.handle, task.id, None, task.state, task))
        return None

    def _out_of_credits(self, item: Queued, owner: str, exc: CreditInsufficient) -> Queued | None:
        """The balance cannot pay for ``item``: it and every request behind it stay queued,
        and sending pauses (a growing backoff, or ``Poller.resume_sending()``)."""
        self._credit_refusals += 1
        wait = min(CREDIT_BACKOFF_CAP, self.credit_backoff * 2 ** (self._credit_refusals - 1))
        at = time.strftime("%H:%M:%S", time.localtime(time.time() + wait))
        reason = (
            f"sending paused: the balance cannot pay for this task ({exc}); nothing was "
            f"created and the requests stay queued. Next try at {at}, or add credits and call "
            "poller.resume_sending()"
        )
        self._hold(time.monotonic() + wait, reason)
        if not self.log.back_to_queue(item.handle, owner, reason):
            return None
        event = PollerEvent(item.handle, None, "submitting", "queued", kind="paused", error=reason)
        self.subscribers.emit(event)
        log.warning("poller: %s", reason)
        return item

    def _record_created(self, item: Queued, task: Task, base_url: str | None) -> bool:
        """Record the task the service created for ``item``, retrying a failing write (a
        locked or full disk) a few times. The task exists and is charged, so it is never
        recorded as refused: when the log keeps failing, the row is made ``uncertain`` with
        the task id in its error, to ``reconcile(handle, task_id)`` later."""
        for attempt in range(RECORD_TRIES):
            try:
                self.log.record_submission(
                    item.request, task, client_ref=item.handle, base_url=base_url, **item.labels
                )
                return True
            except Exception as exc:
                error: Exception = exc
                log.warning(
                    "task %s was created but the log refused it (%s: %s); try %d of %d",
                    task.id, type(exc).__name__, exc, attempt + 1, RECORD_TRIES,
                )  # fmt: skip
                if attempt + 1 < RECORD_TRIES:
                    time.sleep(0.1 * 2**attempt)
        why = f"the service created task {task.id} but the log could not record it: {error}"
        self.stats.note(error)
        try:
            self.log.record_uncertain(
                item.request, item.handle, why, base_url=base_url, **item.labels
            )
        except Exception:  # the row stays 'submitting': resume makes it 'uncertain'
            log.exception("task %s: cannot record it in the log at all", task.id)
        self.subscribers.emit(PollerEvent(item.handle, None, None, "uncertain", error=why))
        self._uncertain(item.handle)
        return False

    def refuse(self, item: Queued, exc: BaseException) -> None:
        """Record a request that will never be sent as a failed row."""
        code = getattr(exc, "reason", "") or type(exc).__name__
        self.log.record_uncertain(
            item.request, item.handle, exc, state="failed", err_code=code,
            base_url=getattr(self.client, "base_url", None), **item.labels,
        )  # fmt: skip
        self.subscribers.emit(PollerEvent(item.handle, None, None, "failed", error=str(exc)))
