"""The account's balance next to the Submit buttons: what is left before anything is spent.

``client.credits()`` is a round trip to the service, and a reseller may not offer the endpoint
at all, so the figure is fetched on a background thread (a form is built at once, whatever the
service does) and every view of it is a small ``HTML`` widget redrawn when the answer comes.
A missing endpoint (404) or any error becomes a short note, never an exception: the balance is
a convenience, the service still refuses a task it cannot charge (``CreditInsufficient``).
One ``Balance`` per session serves the form and the sweep panel alike.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as w

from ..errors import APIError, ConnectionFailed, NotFound
from .rows import esc
from .shared import html

if TYPE_CHECKING:
    from ..client.account import Credits

#: How old a fetched balance may be for ``run_sweep`` to compare an estimate with it.
MAX_AGE = 60.0


def balance_text(credits: Credits) -> str:
    """``balance 12,000 credits · running 2 of 5 · 3 queued`` (the figures the service gave)."""
    parts = [f"balance <b>{credits.total:,}</b> credits"]
    running, limit = credits.current_concurrency, credits.concurrency_limit
    if running is not None and limit is not None:
        parts.append(f"running {running:,} of {limit:,}")
    elif limit is not None:
        parts.append(f"at most {limit:,} at a time")
    if credits.queue_count:
        parts.append(f"{credits.queue_count:,} queued")
    return " \u00b7 ".join(parts)


def why_absent(exc: BaseException) -> str:
    """A short, plain note for a balance that could not be read."""
    if isinstance(exc, NotFound):
        return "balance: not offered by this service"
    if isinstance(exc, APIError):
        return f"balance unavailable (HTTP {exc.status})"
    if isinstance(exc, ConnectionFailed):
        return "balance unavailable (no connection)"
    return f"balance unavailable ({type(exc).__name__})"


class ClientHolder(Protocol):
    """Where a balance reads from (a ``Session``): the client, started if need be, and the one
    already started, if any (to say "simulated" without starting one)."""

    @property
    def client(self) -> Any: ...

    @property
    def client_if_open(self) -> Any: ...


class Balance:
    """The session's latest balance, fetched off the kernel's thread, and the views showing it.

    ``refresh()`` returns at once: one fetch runs at a time, and refreshes asked for meanwhile
    are served by one more fetch after it (a sweep's many submissions cost a few requests, not
    one each). A service without the endpoint (404) is not asked again in this session.
    """

    def __init__(self, session: ClientHolder) -> None:
        self._session = session
        self.credits: Credits | None = None
        self.fetched_at: float | None = None
        self.note = ""
        self.offered = True
        self.fetches = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._views: weakref.WeakSet[w.HTML] = weakref.WeakSet()
        self._listeners: list[weakref.WeakMethod[Any]] = []

    # -- reading ---------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        with self._lock:
            return self._thread is not None

    def fresh(self, max_age: float = MAX_AGE) -> Credits | None:
        """The balance if it was fetched less than ``max_age`` seconds ago, else ``None``."""
        if self.credits is None or self.fetched_at is None:
            return None
        return self.credits if time.monotonic() - self.fetched_at <= max_age else None

    def fetch(self) -> Credits | None:
        """Ask the service now (blocking); ``None`` with a ``note`` when it cannot say."""
        reader = getattr(self._session.client, "credits", None)
        if not callable(reader):
            self.offered, self.note = False, "balance: not offered by this client"
        else:
            try:
                credits = reader()
            except Exception as exc:  # a convenience: shown as a note, never raised
                self.note = why_absent(exc)
                self.offered = not isinstance(exc, NotFound)
            else:
                self.credits, self.fetched_at, self.note = credits, time.monotonic(), ""
        self.fetches += 1
        self._draw()
        return self.credits if not self.note else None

    # -- refreshing ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Fetch again on a background thread (never blocks; coalesces with a running fetch)."""
        with self._lock:
            if not self.offered:
                return
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="vidu-balance", daemon=True)
            thread = self._thread
        self._draw()
        thread.start()

    def _run(self) -> None:
        while True:
            self.fetch()
            with self._lock:
                if not self._again or not self.offered:
                    self._thread = None
                    break
                self._again = False
        self._draw()

    # -- showing ---------------------------------------------------------------------------
    def html(self) -> str:
        simulated = bool(getattr(self._session.client_if_open, "is_simulated", False))
        if self.note:
            return f"<span class='vidu-inactive'>{esc(self.note)}</span>"
        if self.credits is not None:
            text = balance_text(self.credits) + (" (simulated)" if simulated else "")
            return f"<span class='vidu-balance-figures'>{text}</span>"
        if self.busy:
            return "<span class='vidu-inactive'>balance: checking\u2026</span>"
        return ""

    def view(self) -> w.HTML:
        """A new widget showing the balance, kept current (held weakly: it may be closed)."""
        out = html(self.html(), "vidu-balance")
        self._views.add(out)
        return out

    def on_change(self, method: Any) -> None:
        """Call the bound ``method()`` after each fetch (held weakly, like the views)."""
        self._listeners.append(weakref.WeakMethod(method))

    def _draw(self) -> None:
        text = self.html()
        for view in list(self._views):
            if view.value != text:
                view.value = text
        for ref in list(self._listeners):
            method = ref()
            if method is None:
                self._listeners.remove(ref)
            elif not self.busy:
                method()
