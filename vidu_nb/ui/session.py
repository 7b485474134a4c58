"""The client, task log and poller a view works with, created on first use when not given.

With nothing given, the first submit starts the default client (the embedded simulator when
no key is set), the task log at its default path and one background poller.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .balance import Balance
    from .live import Hub


class Session:
    """Holds (and lazily creates) the client, log and poller shared by the form and cards."""

    def __init__(self, client: Any = None, log: Any = None, poller: Any = None) -> None:
        if poller is not None:
            client = client if client is not None else getattr(poller, "client", None)
            log = log if log is not None else getattr(poller, "log", None)
        self._client = client
        self._log = log
        self._poller = poller
        self._hub: Hub | None = None
        self._balance: Balance | None = None
        self._lock = threading.RLock()

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from ..client.core import ViduClient

                self._client = ViduClient()
            return self._client

    @property
    def client_if_open(self) -> Any:
        """The client if one was given or started (views must not start one just to look)."""
        return self._client

    @property
    def balance(self) -> Balance:
        """The account balance this session's views show (fetched in the background)."""
        with self._lock:
            if self._balance is None:
                from .balance import Balance

                self._balance = Balance(self)
            return self._balance

    @property
    def log(self) -> Any:
        with self._lock:
            if self._log is None:
                from ..tracking.tasklog import TaskLog

                self._log = TaskLog()
            return self._log

    @property
    def log_if_open(self) -> Any:
        return self._log

    @property
    def poller_if_open(self) -> Any:
        """The poller if one was given or started (a view asking must not start one)."""
        return self._poller

    @property
    def has_poller(self) -> bool:
        return self._poller is not None

    @property
    def poller(self) -> Any:
        with self._lock:
            if self._poller is None:
                from ..tracking.poller import Poller

                self._poller = Poller(self.client, self.log)
            return self._poller.start()  # idempotent: a given poller may not be started yet

    @property
    def hub(self) -> Hub:
        """The one router of poller events to this session's views (subscribes on first use)."""
        with self._lock:
            if self._hub is None:
                from .live import Hub

                self._hub = Hub(self.poller)
            return self._hub

    def base_url_and_scheme(self) -> tuple[str, str]:
        """For the curl preview; does not start a client just to show it."""
        if self._client is not None:
            return self._client.base_url, self._client.auth_scheme
        return "https://api.vidu.com", "Token"


def estimate(request: Any, log: Any = None) -> tuple[int, str]:
    """Expected credits and where the figure comes from (published, placeholder, learned)."""
    from ..tracking.ledger import estimate as ledger_estimate

    est = ledger_estimate(request, log)
    return est.credits, est.source
