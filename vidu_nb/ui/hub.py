"""Routing poller events to the views that show them (cards, sweep progress).

One subscription per session: the poller's worker thread calls ``Hub.on_event``, which finds
the cards of that submission (by handle or task id) and asks them to redraw from the log.
Views are held weakly, so a closed card is not kept alive by the poller.

The hub knows a card only as a ``Follower`` (what it reads and calls of one), so the session
that owns the hub sits below the cards it serves.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Protocol


class Follower(Protocol):
    """What the hub needs of a card: the keys it is found by, whether it still waits to be
    sent (a pause of sending concerns it), and its redraw. ``TaskCard`` is one."""

    handle: str | None

    @property
    def task_id(self) -> str: ...

    @property
    def waiting(self) -> bool: ...

    def update(self) -> None: ...


class Hub:
    """Fans poller events out to registered cards and listeners.

    Subscribed to the poller only while something is registered: a finished sweep removes
    its listener, so past sweeps cost the poller thread nothing.
    """

    def __init__(self, poller: Any) -> None:
        self._poller = poller
        self._cards: dict[str, weakref.WeakSet[Follower]] = {}
        self._listeners: list[Callable[[Any], object]] = []
        self._lock = threading.Lock()
        self._unsubscribe: Callable[[], None] | None = None
        self._subscribe()

    @property
    def subscribed(self) -> bool:
        return self._unsubscribe is not None

    def _subscribe(self) -> None:
        if self._unsubscribe is None:
            self._unsubscribe = self._poller.subscribe(self.on_event)

    def unsubscribe(self) -> None:
        with self._lock:
            stop, self._unsubscribe = self._unsubscribe, None
        if stop is not None:
            stop()

    def add_card(self, card: Follower) -> None:
        with self._lock:
            for key in (card.handle, card.task_id):
                if key:
                    self._cards.setdefault(key, weakref.WeakSet()).add(card)
            self._subscribe()

    def add_listener(self, callback: Callable[[Any], object]) -> None:
        with self._lock:
            self._listeners.append(callback)
            self._subscribe()

    def remove_listener(self, callback: Callable[[Any], object]) -> None:
        """Forget ``callback``; with nothing left to update, stop listening to the poller."""
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)
            idle = not self._listeners and not any(len(c) for c in self._cards.values())
        if idle:
            self.unsubscribe()

    def on_event(self, event: Any) -> None:
        """Called on the poller's thread; widget trait changes from threads are synced."""
        keys = [getattr(event, "handle", None), getattr(event, "task_id", None)]
        with self._lock:
            cards = {c for k in keys if k for c in self._cards.get(k, ())}
            if getattr(event, "kind", None) == "paused":
                # Sending paused (no credits): every card still waiting to be sent says why,
                # not only the one whose request was refused.
                cards |= {c for found in self._cards.values() for c in found if c.waiting}
            listeners = list(self._listeners)
        for card in cards:
            card.update()
            if card.task_id:
                self.add_card(card)  # also reachable by task id from now on
        for callback in listeners:
            callback(event)
