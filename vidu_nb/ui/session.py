"""The parts a view works with: a ``Workspace`` (given, or wired from what was given), plus the
two things only views share: the event hub and the account balance.

With nothing given, the workspace makes its parts on first use: the first submit starts the
default client (the embedded simulator when no key is set), the task log at its default path
and one background poller (``Poller.resume``: unfinished tasks of the log are followed too).
"""

from __future__ import annotations

import threading
from typing import Any

from ..errors import ValidationError
from ..workspace import Workspace
from .balance import Balance
from .hub import Hub


class Session:
    """A view's ``Workspace`` and what the views of one form share (hub, balance)."""

    def __init__(
        self,
        client: Any = None,
        log: Any = None,
        poller: Any = None,
        *,
        workspace: Workspace | None = None,
    ) -> None:
        if workspace is None:
            workspace = Workspace(client, log, poller=poller)
        elif not isinstance(workspace, Workspace):
            raise ValidationError("workspace", workspace, "must be a vidu_nb.Workspace")
        elif any(part is not None for part in (client, log, poller)):
            raise ValidationError(
                "workspace", workspace, "give a workspace or client/log/poller, not both"
            )
        self.workspace = workspace
        self._hub: Hub | None = None
        self._balance: Balance | None = None
        self._lock = threading.RLock()

    # The parts, typed loosely on purpose: views use what a ViduClient offers beyond the
    # protocols (base_url, is_simulated) where the client has it.
    @property
    def client(self) -> Any:
        return self.workspace.client

    @property
    def client_if_open(self) -> Any:
        """The client if one was given or started (views must not start one just to look)."""
        return self.workspace.client_if_open

    @property
    def log(self) -> Any:
        return self.workspace.log

    @property
    def log_if_open(self) -> Any:
        return self.workspace.log_if_open

    @property
    def poller(self) -> Any:
        return self.workspace.poller

    @property
    def poller_if_open(self) -> Any:
        """The poller if one was given or started (a view asking must not start one)."""
        return self.workspace.poller_if_open

    @property
    def has_poller(self) -> bool:
        return self.workspace.has_poller

    @property
    def balance(self) -> Balance:
        """The account balance this session's views show (fetched in the background)."""
        with self._lock:
            if self._balance is None:
                self._balance = Balance(self)
            return self._balance

    @property
    def hub(self) -> Hub:
        """The one router of poller events to this session's views (subscribes on first use)."""
        with self._lock:
            if self._hub is None:
                self._hub = Hub(self.poller)
            return self._hub

    def base_url_and_scheme(self) -> tuple[str, str]:
        """For the curl preview; does not start a client just to show it."""
        client = self.client_if_open
        if client is not None:
            return client.base_url, client.auth_scheme
        return "https://api.vidu.com", "Token"


def estimate(request: Any, log: Any = None) -> tuple[int, str]:
    """Expected credits and where the figure comes from (published, placeholder, learned)."""
    from ..tracking.ledger import estimate as ledger_estimate

    est = ledger_estimate(request, log)
    return est.credits, est.source
