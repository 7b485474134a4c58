"""Pollers as a team on one log: leases renewed and taken over, other kernels' news passed on.

Every poller holds the rows it follows, sends or searches through a lease in the log
(``tasklog.leases``). A thread of its own (``vidu-team``) does, every third of the lease:

* renew: extend every lease this poller holds, in one statement, and stop following what it
  no longer holds (taken over while this process stalled past its lease: the new holder
  follows it now, so a task is never polled by two pollers at once);
* adopt (pollers started by ``Poller.resume``): take the rows nobody holds any more (their
  poller stopped, died, or its lease ran out), and follow, send or search each as it needs.

A poller acts only on leases it knows to be valid: when a third of the lease has gone by
without a renewal (a stalled process, a locked log), it sends and checks nothing until the
next renewal succeeds (``lapsed``), which also tells it what was taken over meanwhile.

Between those, every ``watch`` seconds, it asks the log whether anything changed
(``TaskLog.version``: one cheap statement) and turns other pollers' row changes into the
``PollerEvent``\\ s this poller's subscribers get for its own (``watcher``): a card in one
kernel follows a task another kernel's poller follows, without a request to the service.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .watcher import LogWatcher

if TYPE_CHECKING:
    from ..tasklog import TaskLog
    from ..tasklog.leases import Held

log = logging.getLogger("vidu_nb.poller")


class Team:
    """The ``vidu-team`` thread of one poller; the poller's methods do the work under its own
    lock (``renewed`` drops what was lost, ``adopt`` takes what is free)."""

    def __init__(
        self,
        tasklog: TaskLog,
        *,
        lease: float,
        watch: float | None,
        owner: Callable[[], str],
        renewed: Callable[[list[Held]], None],
        adopt: Callable[[], object] | None,
        watcher: LogWatcher | None,
    ) -> None:
        self.log = tasklog
        self.lease = lease
        self.watch = watch
        self._owner = owner
        self._renewed = renewed
        self._adopt = adopt
        self.watcher = watcher
        self._stop = threading.Event()
        self._wake = threading.Event()  # tick now (the leases lapsed), or stop
        self._thread: threading.Thread | None = None
        #: Until when (monotonic) every lease this poller holds is surely valid.
        self.valid_until = 0.0
        #: Renewals done (for a look at the team's work; tests count them).
        self.renewals = 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        # Every lease it holds was taken or renewed from now on: valid for a lease at least.
        self.valid_until = time.monotonic() + self.lease
        if self.watcher is not None:
            self.watcher.start()
        self._thread = threading.Thread(target=self._run, name="vidu-team", daemon=True)
        self._thread.start()

    def lapsed(self, now: float) -> bool:
        """Whether this poller's leases may have run out (no renewal for two thirds of a
        lease): then it must not act on them; the team thread is woken to renew."""
        if now < self.valid_until - self.lease / 3:
            return False
        self._wake.set()
        return now >= self.valid_until - self.lease / 6

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        every = self.lease / 3
        next_renewal = time.monotonic() + every
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_renewal or self._wake.is_set():
                self._wake.clear()
                next_renewal = now + every
                self.tick()
            if self.watcher is not None:
                try:
                    self.watcher.poll()
                except Exception:  # the log busy or closed: try at the next beat
                    log.debug("poller: watching the log failed", exc_info=True)
            wait = next_renewal - time.monotonic()
            if self.watch is not None:
                wait = min(wait, self.watch)
            self._wake.wait(max(0.0, wait))

    def tick(self) -> None:
        """Renew this poller's leases, then (when adopting) take what is free."""
        try:
            began = time.monotonic()
            held = self.log.renew_leases(self._owner(), self.lease)
            self._renewed(held)  # first drop what was taken over, then act again
            self.valid_until = began + self.lease
            self.renewals += 1
        except Exception:  # a locked or closed log: the leases last a while yet
            log.warning("poller: cannot renew the leases", exc_info=True)
        if self._adopt is not None:
            try:
                self._adopt()
            except Exception:
                log.warning("poller: cannot take over free rows", exc_info=True)
