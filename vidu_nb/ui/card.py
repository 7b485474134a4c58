"""``TaskCard``: one task's live state, progress, cost, failure reason, cancel and player.

Cards never poll: the background poller calls ``update()`` from its worker thread (ipywidgets 8
syncs trait changes from threads), and one shared ticker thread refreshes elapsed times once a
second while any card is unfinished. The HTML comes from ``card_html`` (pure, escaped).
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

import ipywidgets as w

from .. import states
from .card_judge import CardJudge
from .compare import show
from .rows import STEPS, TaskView, css_token, esc, fmt_seconds, judgment_text
from .shared import hbox, html, make, shared_layout, vbox
from .static import StillDisplay, sheet_img, still_of

_STEP_NAMES = STEPS[1:4]  # created, queueing, processing
#: States a task has in our log before the service gave it an id (any other state without an
#: id, including ones a later release adds, reads "no task id").
_LOCAL = {states.QUEUED: "waiting to be sent", states.SUBMITTING: "being sent"}


def bar_style(state: str) -> str:
    """The progress bar's colour: any state, including ones the service adds later, has one."""
    if states.is_success(state):
        return "success"
    if states.is_failed(state):
        return "danger"
    return "warning" if states.is_cancelled(state) else "info"


def step_names(state: str, done: bool, reached: int) -> list[str]:
    """The step names a card shows: created > queueing > processing > done. A waiting or
    working state the service names otherwise (``scheduled``, ``preparation``, a new one) is
    shown in the place of the step it stands for, as the service spelled it."""
    names = [*_STEP_NAMES, state if done else "done"]
    if not done and states.is_open(state) and state not in _STEP_NAMES and 1 <= reached <= 3:
        names[reached - 1] = state
    return names


def card_html(view: TaskView, now: float) -> dict[str, str]:
    """The card's HTML parts for a task; everything from the user or server is escaped."""
    state = view.state
    elapsed = fmt_seconds(view.elapsed_seconds(now))
    name = view.task_id or _LOCAL.get(states.norm(state), "no task id")
    header = (
        f"<b>{esc(name)}</b> "
        f"<span class='vidu-card-badge vidu-card-badge-{css_token(state)}'>{esc(state)}</span> "
        f"<span class='vidu-card-elapsed'>{esc(elapsed)}</span>"
    )
    reached, _total = view.progress()
    names = step_names(state, view.done, reached)
    steps = " \u203a ".join(
        f"<b>{esc(name)}</b>"
        if (i == len(names) - 1 and view.done) or (i < len(names) - 1 and i + 1 <= reached)
        else f"<span class='vidu-card-todo'>{esc(name)}</span>"
        for i, name in enumerate(names)
    )
    settings = [
        view.get("model", ""),
        f"{view.get('duration')} s" if view.get("duration") else "",
        view.get("resolution", ""),
        view.credits_text(),
        view.seed_text(),
    ]
    if view.get("off_peak"):
        settings.append("off-peak")
    settings.append(judgment_text(view))
    details = esc(" \u00b7 ".join(s for s in settings if s))
    prompt = view.get("prompt")
    if prompt:
        short = prompt if len(prompt) <= 200 else prompt[:199] + "\u2026"
        details += f"<br><i>{esc(short)}</i>"
    error = ""
    if states.is_failed(state) or states.norm(state) == states.UNCERTAIN or view.get("error"):
        code = view.get("err_code", "")
        message = view.get("error", "")
        error = (
            f"<span class='vidu-card-error-text'>{esc(state)}: <b>{esc(code)}</b> "
            f"{esc(message)}</span>"
        )
    return {"header": header, "steps": steps, "details": details, "error": error}


def card_still_html(view: TaskView, now: float) -> str:
    """The card where no widget runs: its header, steps, details and error as they are now,
    and the video's contact sheet once it succeeded (all escaped by ``card_html``)."""
    parts = card_html(view, now)
    still = still_of(view) if states.is_success(view.state) else None
    body = "<br>".join(parts[k] for k in ("header", "steps", "details") if parts[k])
    if parts["error"]:
        body += "<br>" + parts["error"]
    return (
        '<div class="vidu-card-still" style="border:1px solid #ddd;border-radius:4px;'
        f'padding:6px 8px;margin:6px 0;max-width:820px">{body}{sheet_img(still)}</div>'
    )


def card_still_text(view: TaskView) -> str:
    name = view.task_id or _LOCAL.get(states.norm(view.state), "no task id")
    lines = [f"TaskCard({name}: {view.state})"]
    if view.get("prompt"):
        lines.append(f"\u201c{' '.join(str(view.get('prompt')).split())[:200]}\u201d")
    error = f"{view.get('err_code', '')} {view.get('error', '')}".strip()
    if error:
        lines.append(error)
    return "\n".join(lines)


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

    def promoted(self, promotion: Any, session: Any) -> None:
        """Show the re-run this card promoted as a live card of its own, under this one."""
        from .live import card_for

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
