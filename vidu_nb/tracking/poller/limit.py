"""``max_running`` read from the service: its concurrency limit less what runs elsewhere.

Under the ``"queue"`` policy a poller sends a request only while fewer than ``max_running`` of
the team's tasks are unfinished. The documented default (5 per organisation) is a guess when
the account has another limit or another kernel, or the web console, uses part of it; the
account endpoint says both. So, once, when the poller first starts (and not when the caller
gave a limit), it is asked on an HTTP worker, the first submission held a little
(``LIMIT_WAIT``) so it is sent under the right limit. Any failure keeps the default: the
figure is an optimisation, never a reason to stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .submissions import LIMIT_WAIT, Submissions

if TYPE_CHECKING:
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")


class ServiceLimit:
    """Where ``max_running`` comes from, and the one question to the service that sets it."""

    def __init__(
        self,
        client: Any,
        tasklog: TaskLog,
        cond: threading.Condition,
        queue: Submissions,
        *,
        explicit: bool,
    ) -> None:
        self.client = client
        self.log = tasklog
        self._cond = cond
        self._queue = queue
        #: ``"explicit"`` (the argument), ``"service"`` (its concurrency limit less what runs
        #: elsewhere, read at start) or ``"default"``.
        self.source = "explicit" if explicit else "default"
        self._asked = explicit  # an explicit limit wins: never asked

    def ask(self, spawn: Callable[..., None]) -> None:
        """Under the lock, once: read the service's concurrency with ``spawn`` (on an HTTP
        worker), holding the first submission a little (``LIMIT_WAIT``)."""
        credits = getattr(self.client, "credits", None)
        if self._asked or self._queue.policy != "queue" or not callable(credits):
            return
        self._asked = True
        self._queue.limit_wait_until = time.monotonic() + LIMIT_WAIT
        spawn(self._learn, credits)

    def _learn(self, read_credits: Callable[[], Any]) -> None:
        """``max_running`` from ``client.credits()``: the organisation's concurrency limit
        less what runs or waits there that this poller does not follow (another kernel,
        the web console). Any failure (no such endpoint, 404, a network error) keeps the
        default."""
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
                self.source = "service"
                log.info("poller: max_running %d (service limit %d, %d busy elsewhere)",
                         self._queue.max_running, total, elsewhere)  # fmt: skip
            self._queue.limit_wait_until = 0.0
            self._cond.notify_all()
