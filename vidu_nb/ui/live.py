"""Routing poller events to the views that show them (cards, sweep progress).

One subscription per session: the poller's worker thread calls ``Hub.on_event``, which finds
the cards of that submission (by handle or task id) and asks them to redraw from the log.
Views are held weakly, so a closed card is not kept alive by the poller.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any

from .. import states
from ..client.task import Task
from ..tracking.poller import Submission
from .card import TaskCard
from .rows import TaskView
from .session import Session


class Hub:
    """Fans poller events out to registered cards and listeners.

    Subscribed to the poller only while something is registered: a finished sweep removes
    its listener, so past sweeps cost the poller thread nothing.
    """

    def __init__(self, poller: Any) -> None:
        self._poller = poller
        self._cards: dict[str, weakref.WeakSet[TaskCard]] = {}
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

    def add_card(self, card: TaskCard) -> None:
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


def hub_for(session: Session) -> Hub:
    return session.hub


def card_for(item: Submission | Task | str, session: Session) -> TaskCard:
    """A live card for what ``Poller.submit`` returned (a ``Submission``), a ``Task``, or a
    text: a task id, or the handle of a submission kept as plain text."""
    log, client = session.log, session.client
    if isinstance(item, Submission):
        card = TaskCard(log=log, client=client, handle=item, poller=session.poller)
    elif not isinstance(item, str) or (log.get_by_ref(item) is None and log.get(item) is not None):
        card = TaskCard(item, log=log, client=client)  # a Task (or its row), or a task id
    else:
        card = TaskCard(log=log, client=client, handle=item, poller=session.poller)
    hub_for(session).add_card(card)
    card.update()  # an event may have come before the card was registered
    return card


def view_of(item: Submission | Task | str, session: Session) -> TaskView:
    """What the log knows of a submission (or a task, or a task id); "queued" before it is
    sent."""
    if not isinstance(item, str):  # a Task (or its row)
        return TaskView.of(item, session.log)
    if isinstance(item, Submission):
        row = item.row()
    else:
        row = session.log.get_by_ref(item) or session.log.get(item)
    return TaskView.of(row) if row else TaskView({"task_id": "", "state": states.QUEUED})


def task_id_of(item: Submission | Task | str, session: Session) -> str | None:
    """The task id of a submission (``None`` while it waits in the local queue)."""
    if not isinstance(item, str):  # a Task (or its row)
        return getattr(item, "id", None)
    tid = session.poller.task_id(item) if session.has_poller else None
    if tid:
        return tid
    if isinstance(item, Submission):
        return item.task_id()
    row = session.log.get_by_ref(item) or session.log.get(item)
    return row.get("task_id") if row else None
