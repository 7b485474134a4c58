"""A task card's judging row: stars, pick or reject, a note, and Promote for a picked task.

The same controls as a grid cell's bar, as ipywidgets: each change is written to the task log
at once (``TaskLog.rate``) and the card redraws from the log, so its details line and every
other view reading the log agree; it watches the log's ratings too, so a judgment made in a
grid of the kernel or by ``log.rate`` in code shows on the card at once, and one made in another
kernel on a shared log as soon as this kernel's poller reads it from the log. Promote estimates
the chosen change first; the button then says the credits and a second click submits (lineage:
``parent_row_id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import ipywidgets as w

from .. import states
from ..errors import ViduError
from .judging import judgment_state, promote_choices, promote_task, rate_message
from .rows import TaskView, esc
from .session import Session
from .shared import hbox, html, make, vbox

if TYPE_CHECKING:
    from ..tracking.promotion import Promotion
    from ..tracking.tasklog.judgments import Judgment


class JudgedCard(Protocol):
    """What the judging row reads and calls of its card (a ``TaskCard``): the task as shown,
    where it is logged and sent, its redraw, and where a submitted re-run is shown."""

    view: TaskView
    task_log: Any
    client: Any
    poller: Any

    def update(self) -> None: ...

    def promoted(self, promotion: Promotion, session: Session) -> None: ...


_PICKS = (("\u2013", ""), ("Pick", "pick"), ("Reject", "reject"))


class CardJudge:
    """The judging widgets of one ``TaskCard`` (shown once its task is done and in a log)."""

    def __init__(self, card: JudgedCard) -> None:
        self.card = card
        self._drawing = False
        self.estimate: Promotion | None = None
        self._choices: list[dict[str, Any]] = []
        #: Empty until the task can be judged: a card still running (or without a log) saves
        #: no judging widgets with the notebook.
        self.box = vbox(cls="vidu-card-judge")
        self.built = False

    def _build(self) -> None:
        self.built = True
        self.stars = make(
            w.ToggleButtons,
            options=[("\u2013", 0), *((str(n), n) for n in range(1, 6))],
            value=0,
            tooltips=["no rating", *(f"{n} star{'s' * (n > 1)}" for n in range(1, 6))],
            style={"button_width": "28px"},
        )
        self.stars.add_class("vidu-card-stars")
        self.pick = make(w.ToggleButtons, options=list(_PICKS), value="")
        self.pick.add_class("vidu-card-pick")
        self.note = make(w.Text, placeholder="note", continuous_update=False)
        self.note.add_class("vidu-card-note")
        self.change = make(w.Dropdown, options=[], layout={"width": "140px"})
        self.promote_button = make(w.Button, description="Promote", icon="level-up")
        self.promote_button.add_class("vidu-card-promote")
        self.said = html(cls="vidu-card-judge-text")
        # Its own Layout: it is shown and hidden through it (shared ones never change).
        self.promote_box = make(
            w.HBox, [self.change, self.promote_button], layout=w.Layout(display="none")
        )
        self.stars.observe(lambda c: self._rate(stars=c["new"]), "value")
        self.pick.observe(lambda c: self._rate(pick=c["new"]), "value")
        self.note.observe(lambda c: self._rate(note=c["new"]), "value")
        self.change.observe(lambda _c: self._forget_estimate(), "value")
        self.promote_button.on_click(lambda _b: self.promote())
        self.box.children = (hbox([self.stars, self.pick, self.note]), self.promote_box, self.said)
        judgments: Any = getattr(self.card.task_log, "judgments", None)
        if hasattr(judgments, "watch"):
            judgments.watch(self._rated)

    def _rated(self, judged: Judgment) -> None:
        """A rating written through the log (here, a grid, code): redraw if it is this task."""
        view = self.card.view
        if judged.row_id == view.get("row_id") or (view.task_id and judged.task_id == view.task_id):
            shown = judgment_state(view)
            heard = judgment_state(
                {"rating": judged.rating, "pick": judged.pick, "note": judged.note}
            )
            if heard != shown:  # the change feed says again what this card shows: no redraw
                self.card.update()

    # -- drawing -----------------------------------------------------------------------------
    def draw(self) -> None:
        """Show the task's judgment (no writes while drawing)."""
        card = self.card
        view = card.view
        if card.task_log is None or not view.done or not view.task_id:
            return
        if not self.built:
            self._build()
        judged = judgment_state(view)
        self._drawing = True
        try:
            self.stars.value = judged["stars"]
            self.pick.value = {True: "pick", False: "reject"}.get(judged["pick"], "")
            self.note.value = judged["note"]
            can = judged["pick"] is True and card.poller is not None
            choices = promote_choices(view) if can and states.is_success(view.state) else []
            options = [(c["label"], i) for i, c in enumerate(choices)]
            if [o[0] for o in options] != [o[0] for o in self.change.options]:
                self.change.options = options
            self._choices = choices
            self.promote_box.layout.display = None if choices else "none"
        finally:
            self._drawing = False

    # -- writing -----------------------------------------------------------------------------
    def _rate(self, **change: Any) -> None:
        if self._drawing:
            return
        if "pick" in change:
            change["pick"] = {"pick": True, "reject": False}.get(change["pick"])
        try:
            rate_message(self.card.task_log, self.card.view.row, change)
        except ViduError as exc:  # shown on the card, not raised into the widget callback
            self.said.value = f"<span class='vidu-card-error-text'>{esc(exc)}</span>"
            return
        self.said.value = ""
        self.card.update()

    def _forget_estimate(self) -> None:
        if not self._drawing:
            self.estimate = None
            self.promote_button.description = "Promote"

    def promote(self) -> Promotion | None:
        """First click: the estimate of the chosen change; the next click submits it."""
        card = self.card
        if self.change.value is None or card.poller is None:
            return None
        change = self._choices[self.change.value]["change"]
        session = Session(card.client, card.task_log, card.poller)
        try:
            confirm = self.estimate is not None
            promotion = promote_task(session, card.view.row, confirm=confirm, **change)
        except ViduError as exc:
            self.said.value = f"<span class='vidu-card-error-text'>{esc(exc)}</span>"
            return None
        self.said.value = esc(promotion)
        if promotion.submitted:
            self.estimate = None
            self.promote_button.description = "Promote"
            card.promoted(promotion, session)
        else:
            self.estimate = promotion
            self.promote_button.description = f"Submit ({promotion.credits:,} credits)"
        return promotion
