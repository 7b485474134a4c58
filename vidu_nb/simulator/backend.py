"""``Backend``: what the HTTP front (``server``) asks of the simulator it serves.

``Simulator`` builds its ``SimHTTPServer`` and hands itself over; the server and its handler
know it only as this: the settings that shape an answer, the fault plan, the URL signer, and
one call per route. Named on its own, so the server never imports the simulator that owns it
(the two would import each other) and the simulator's other parts (tests' views, balances,
forced states) stay out of the handler's reach.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .api import Endpoint
from .engine import SimTask
from .faults import Faults
from .files import UrlSigner


class Backend(Protocol):
    """The simulator as its HTTP handler sees it (``Simulator`` is the one)."""

    @property
    def verbose(self) -> bool: ...  # log every request, as http.server does

    @property
    def prefix(self) -> str: ...  # the base URL's path ("" or "/something")

    @property
    def auth_scheme(self) -> str | None: ...  # None: "Token" and "Bearer" both pass

    @property
    def api_key(self) -> str: ...

    @property
    def cancel_answer(self) -> str: ...  # the body of a successful cancel, sent as it is

    @property
    def faults(self) -> Faults: ...

    @property
    def signer(self) -> UrlSigner: ...

    def record(self, method: str, path: str, status: int, agent: str = "") -> None:
        """A request was answered with ``status`` (0: dropped without an answer)."""

    def submit(self, endpoint: Endpoint, body: Any, path: str) -> SimTask: ...

    def query(self, task_id: str) -> dict[str, Any]: ...

    def cancel(self, task_id: str, body: bytes = b"") -> None: ...

    def list_tasks(self, query: str) -> dict[str, Any]: ...

    def credits(self, query: str) -> dict[str, Any]: ...

    def file_for(self, task_id: str, name: str) -> Path | None:
        """A result file of a finished task (``video.mp4``, ...), or None."""
