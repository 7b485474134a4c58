"""``TaskCard``: one task's live state, progress, cost, failure reason, cancel and player.

Cards never poll: the background poller calls ``update()`` from its worker thread (ipywidgets 8
syncs trait changes from threads), and one shared ticker thread refreshes elapsed times once a
second while any card is unfinished. The HTML comes from ``card_html`` (pure, escaped).
``card_for`` makes a card that follows a submission through the session's ``Hub``.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

import ipywidgets as w

from .. import states
from ..client.task import Task
from ..tracking.poller import Submission
from .card_html import bar_style, card_html, card_still_html, card_still_text
from .card_judge import CardJudge
from .compare import show
from .rows import STEPS, TaskView, css_token, esc
from .session import Session
from .shared import hbox, html, make, shared_layout, vbox
from .static import StillDisplay


class TaskCard(StillDisplay, w.VBox):
    """A live card for one task; ``update()`` is safe to call from any thread.

    Its output carries the card as HTML (with the contact sheet once the video is in) for
    places where no widget runs; it is rewritten when the task settles (see ``StillDisplay``).
    """

    def __init__(
        self,
        task: Any = None,
        *,
        log: Any = None,
        client: Any = None,
        handle: str | None = None,
        poller: Any = None,
    ) -> None:
        self.task_log = log
        self.client = client
        self.handle = handle
        self.poller = poller
        if task is None:
            self.view = TaskView({"task_id": "", "state": states.QUEUED, "client_ref": handle})
        else:
            self.view = TaskView.of(task, log)
        self._header = html()
        self._steps = html()
        self._bar = make(w.IntProgress, min=0, max=len(STEPS) - 1, layout={"width": "240px"})
        self._details = html()
        self._error = html()
        # Its own Layout: it is shown and hidden through it (shared ones never change).
        self._cancel = make(
            w.Button,
            description="Cancel",
            icon="times",
            tooltip="cancel this task",
            layout=w.Layout(),
        )
        self._cancel.add_class("vidu-card-cancel")
        self._cancel.on_click(lambda _b: self.cancel())
        self._player_box = vbox()
        self._judge = CardJudge(self)
        self._promoted_box = vbox()
        self._player_key: tuple[Any, ...] | None = None
        self._cancel_error = ""  # why the last Cancel click failed (kept across redraws)
        self._state_class = ""
        self._still_key: tuple[Any, ...] | None = None
        super().__init__(
            [
                self._header,
                hbox([self._bar, self._steps]),
                self._details,
                self._error,
                self._cancel,
                self._player_box,
                self._judge.box,
                self._promoted_box,
            ],
            layout=shared_layout(),
        )
        self.add_class("vidu-card")
        self._lock = threading.Lock()
        self.render()
        if not self.view.done:
            _TICKER.add(self)

    @property
    def task_id(self) -> str:
        return self.view.task_id

    def update(self, task: Any = None) -> None:
        """Re-read the task (from the log when there is one) and redraw."""
        with self._lock:
            row = None
            if self.task_log is not None:
                if self.handle:
                    row = self.task_log.get_by_ref(self.handle)
                if row is None and self.task_id:
                    row = self.task_log.get(self.task_id)
            if row is not None:
                self.view = TaskView.of(row)
            elif task is not None:
                self.view = TaskView.of(task)
            self.render()

    def render(self, now: float | None = None) -> None:
        view = self.view
        parts = card_html(view, time.time() if now is None else now)
        self._header.value = parts["header"]
        self._steps.value = parts["steps"]
        self._details.value = parts["details"]
        note = self._cancel_error if not view.done else ""
        self._error.value = parts["error"] + note + self._paused_note()
        reached, _ = view.progress()
        self._bar.value = reached
        self._bar.bar_style = bar_style(view.state)
        queued = (
            states.norm(view.state) == states.QUEUED
            and self.poller is not None
            and bool(self.handle)
        )
        off_peak = bool(view.get("off_peak")) and not view.done and self.client is not None
        cancellable = (queued or off_peak) and bool(self.task_id or queued)
        self._cancel.layout.display = None if cancellable else "none"
        self._set_state_class(f"vidu-card-state-{css_token(view.state)}")
        self._judge.draw()
        self._show_player()
        self._settle_still()

    def still_parts(self) -> tuple[str, str]:
        return card_still_html(self.view, time.time()), card_still_text(self.view)

    def _settle_still(self) -> None:
        """Rewrite the shown outputs once the task settled, and again when its files came
        (not on every step: each rewrite makes the front end draw the card anew)."""
        view = self.view
        if not view.done:
            return
        key = (view.state, view.get("video_path"), view.get("cover_path"))
        if key != self._still_key:
            self._still_key = key
            self.still_changed()

    @property
    def waiting(self) -> bool:
        """Not sent yet: still in the poller's queue."""
        return states.norm(self.view.state) == states.QUEUED

    def _paused_note(self) -> str:
        """Why a queued request is not sent: the poller paused sending because the balance
        cannot pay (``CreditInsufficient``). The refused request's row already holds the
        reason (shown as its error); the others behind it in the queue say it here."""
        if not self.waiting or self.view.get("error") or self.poller is None:
            return ""
        reason = getattr(self.poller, "paused_reason", None)
        if not reason:
            return ""
        return f"<span class='vidu-warning'>not sent yet: {esc(reason)}</span>"

    def tick(self) -> bool:
        """Refresh the elapsed time; ``False`` once the task is finished."""
        self._header.value = card_html(self.view, time.time())["header"]
        return not self.view.done

    def cancel(self) -> None:
        """Ask the service to cancel (off-peak tasks only); the poller reports the outcome."""
        try:
            if not self.task_id and self.poller is not None and self.handle:
                if self.poller.cancel_queued(self.handle):
                    self.view = TaskView({**self.view.row, "state": states.CANCELLED})
                    self.render()
            else:
                self.client.cancel(self.task_id)
        except Exception as exc:  # shown on the card, not raised into the widget callback
            self._cancel_error = f"<span class='vidu-card-error-text'>cancel: {esc(exc)}</span>"
            self.render()
        else:
            self._cancel_error = ""
            self._cancel.disabled = True
            self._cancel.description = "Cancel requested"

    def promoted(self, promotion: Any, session: Session) -> None:
        """Show the re-run this card promoted as a live card of its own, under this one."""
        card = card_for(promotion.handle, session)
        self._promoted_box.children = (*self._promoted_box.children, card)

    def _set_state_class(self, cls: str) -> None:
        if cls != self._state_class:
            if self._state_class:
                self.remove_class(self._state_class)
            self.add_class(cls)
            self._state_class = cls

    def _show_player(self) -> None:
        view = self.view
        if not states.is_success(view.state):
            return
        key = (view.get("video_path"), view.get("video_url"), view.get("cover_path"))
        if key == self._player_key:
            return
        self._player_key = key
        self._player_box.children = (
            show(
                view,
                log=self.task_log,
                client=self.client,
                label=False,
                meta=False,
                stills_later=True,  # drawn on the poller's thread: no decoding here
            ),
        )


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
    session.hub.add_card(card)
    card.update()  # an event may have come before the card was registered
    return card


class _Ticker:
    """One daemon thread for all live cards' elapsed clocks (not one per card)."""

    def __init__(self, period: float = 1.0) -> None:
        self.period = period
        self._cards: weakref.WeakSet[TaskCard] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, card: TaskCard) -> None:
        with self._lock:
            self._cards.add(card)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="vidu-card-ticker")
                self._thread.daemon = True
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.period)
            with self._lock:
                cards = list(self._cards)
                if not cards:
                    self._thread = None
                    return
            for card in cards:
                try:
                    alive = card.tick()
                except Exception:  # a closed widget must not stop the others' clocks
                    alive = False
                if not alive:
                    self._cards.discard(card)


_TICKER = _Ticker()
