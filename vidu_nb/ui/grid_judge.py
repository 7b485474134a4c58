"""The kernel side of judging in a grid: a star, a pick or a note clicked (or keyed) in a cell
goes to the task log, and the cell's judgment comes back in place.

The browser sends ``{"type": "judge", "key": <item key>, "stars": 4}`` (``"pick"``, ``"note"``)
or ``{"type": "promote", "key": ..., "change": {"resolution": "1080p"}, "confirm": false}``;
``GridJudge`` finds the cell's task by the key (a message never names a task itself, so a
hand-made one can only judge what the grid shows), writes through ``TaskLog.rate`` and sets the
grid's ``judgments`` trait, which the browser redraws without rebuilding a player. A refusal
(``ViduError``) comes back as a ``judge_error`` message the cell shows; nothing is raised into
the comm. The grid watches the log's ratings too: a task judged in another grid of this kernel,
or by ``log.rate`` in code, changes here as well, so two grids of a sweep never disagree; one
rated in another kernel on a shared log arrives the same way once this kernel's poller reads
it from the log's change feed (``LogWatcher``), and only the cells of that task are synced.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from .. import states
from ..errors import ViduError
from .judging import PromoteFn, change_of, judgment_state, promote_choices, rate_message
from .rows import TaskView

if TYPE_CHECKING:
    from ..tracking.promotion import Promotion
    from ..tracking.tasklog.judgments import Judgment
    from .session import Session

_log = logging.getLogger(__name__)


class JudgedGrid(Protocol):
    """What judging reads and sets of its grid (a ``VideoGrid``): the traits its browser side
    redraws the cells' bars from, and the message back to a cell."""

    judgments: dict[str, dict[str, Any]]
    choices: dict[str, list[dict[str, Any]]]
    promoted: dict[str, str]

    def hold_sync(self) -> AbstractContextManager[Any]: ...

    def send(self, content: Any, buffers: Any = None) -> None: ...


class GridJudge:
    """Judging for one ``VideoGrid``: which task each judged cell is, the log, the promoter."""

    def __init__(self, grid: JudgedGrid) -> None:
        self.grid = grid
        self.log: Any = None
        self.refs: dict[str, Any] = {}
        self.promoter: PromoteFn | None = None
        self.session: Session | None = None
        self.promotions: dict[str, Promotion] = {}
        self._watched: Any = None  # the log's ``Judgments`` this grid watches
        self._keys: dict[Any, list[str]] = {}

    def enable(
        self,
        log: Any,
        cells: Mapping[str, TaskView],
        *,
        promoter: PromoteFn | None = None,
        session: Session | None = None,
    ) -> None:
        """Judge the tasks of ``cells`` (item key -> view) in ``log``; ``promoter`` (with the
        ``session`` whose poller it submits through) adds the Promote control. A view that
        is not a row of the log is left without a bar."""
        self.log, self.promoter, self.session = log, promoter, session
        self.refs, judged, choices = {}, {}, {}
        for key, view in cells.items():
            ref = view.get("row_id") or view.task_id
            if not ref:
                continue
            if "rating" not in view.row:  # not a log row (a Task): ask the log
                try:
                    view = TaskView({**view.row, **log.judgment(ref)._asdict()})
                except ViduError:
                    continue
            self.refs[key] = ref
            judged[key] = judgment_state(view)
            if promoter is not None and states.is_success(view.state):
                choices[key] = promote_choices(view)
        with self.grid.hold_sync():
            self.grid.judgments, self.grid.choices, self.grid.promoted = judged, choices, {}
        self._keys = {}  # row id or task id -> its cells' keys
        for key, ref in self.refs.items():
            self._keys.setdefault(ref, []).append(key)
        self._watch(getattr(log, "judgments", None) if self.refs else None)

    # -- judgments made elsewhere in this kernel ---------------------------------------------
    def _watch(self, judgments: Any) -> None:
        if self._watched is not None:
            self._watched.unwatch(self._rated)
        self._watched = judgments if hasattr(judgments, "watch") else None
        if self._watched is not None:
            self._watched.watch(self._rated)

    def _rated(self, judged: Judgment) -> None:
        """A rating written through the log (here, another grid, code): redraw its cells."""
        # A lookup, not a scan: a teammate's sweep announces every row it changes.
        keys = [*self._keys.get(judged.row_id, ()), *self._keys.get(judged.task_id, ())]
        if not keys:
            return
        state = judgment_state({"rating": judged.rating, "pick": judged.pick, "note": judged.note})
        if all(self.grid.judgments.get(k) == state for k in keys):
            return  # the change feed says again what the cells show: nothing to sync
        self.grid.judgments = {**self.grid.judgments, **dict.fromkeys(keys, state)}

    # -- messages from the browser -----------------------------------------------------------
    def on_msg(self, content: Mapping[str, Any]) -> None:
        key = str(content.get("key"))
        ref = self.refs.get(key)
        if ref is None or self.log is None:
            self._refuse(key, "this cell cannot be judged here (no task log)")
            return
        try:
            if content.get("type") == "judge":
                self.judge(key, content)
            else:
                self.promote(key, content.get("change"), confirm=content.get("confirm") is True)
        except ViduError as exc:
            self._refuse(key, str(exc))

    def judge(self, key: str, content: Mapping[str, Any]) -> dict[str, Any]:
        """Write a judging message for the cell ``key``; its judgment as it is now."""
        state = rate_message(self.log, self.refs[key], content)
        self.grid.judgments = {**self.grid.judgments, key: state}
        return state

    def promote(self, key: str, change: Any, *, confirm: bool) -> Promotion:
        """The estimate of promoting the cell's task (sent back as a ``promotion`` message);
        with ``confirm`` also submitted, and followed in the cell's ``promoted`` line."""
        if self.promoter is None:
            raise _NoPromoter()
        changes = change_of(change)
        promotion = self.promoter(self.refs[key], confirm=confirm, **changes)
        self.grid.send(
            {
                "type": "promotion",
                "key": key,
                "text": str(promotion),
                "credits": promotion.credits,
                "submitted": promotion.submitted,
            }
        )
        if promotion.submitted:
            self.promotions[key] = promotion
            self._show_promoted(key)
            self._follow(key)
        return promotion

    # -- what became of a promotion -----------------------------------------------------------
    def _show_promoted(self, key: str) -> bool:
        """The cell's line about its promotion; ``False`` once the new task settled."""
        promotion = self.promotions[key]
        handle: Any = promotion.handle
        row = handle.row() if hasattr(handle, "row") else None
        state = str((row or {}).get("state") or states.QUEUED)
        r = promotion.request.resolved()
        what = f"{r['model']} {r['resolution']} {r['duration']} s"
        name = (row or {}).get("task_id") or f"row {(row or {}).get('row_id', '?')}"
        self.grid.promoted = {**self.grid.promoted, key: f"re-run ({what}) {name}: {state}"}
        return not (states.is_final(state) or state == states.UNCERTAIN)

    def _follow(self, key: str) -> None:
        session = self.session
        if session is None or not session.has_poller:
            return
        hub = session.hub

        def listener(_event: Any) -> None:
            try:
                going = self._show_promoted(key)
            except Exception as exc:  # a closed grid: stop following
                _log.debug("promotion line of %s: %s", key, exc)
                going = False
            if not going:
                hub.remove_listener(listener)

        hub.add_listener(listener)

    def _refuse(self, key: str, why: str) -> None:
        self.grid.send({"type": "judge_error", "key": key, "error": why})


class _NoPromoter(ViduError):
    def __init__(self) -> None:
        super().__init__("this grid cannot submit: compare(..., poller=...) or a sweep's grid")
