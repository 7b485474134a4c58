"""``duel``: blind duels of two videos made from the same start image, voted in the browser.

Two players side by side, one control playing both (the shared ``player.js`` draws them), no
label: the browser learns nothing of the pair but two opaque keys. Every video travels as bytes
from the kernel (a blob URL), even one with a live remote URL, because a creation URL names its
task; an expired URL is refreshed on the kernel's side first (``sources.Refresher``). Sides
are random (``duel_pairs``, or ``seed`` for pairs given), the order too, and the verdict goes
to the task log at once (``log.vote``), so it outlives the kernel and ``log.rankings`` counts
it. After the last pair the widget shows the standings and which video was which.

The front end is ``duel.js``/``duel.css`` in a hidden ``DuelCode`` widget saved once per
notebook, like the players' ``PlayerCode``; each duel's own module is the tiny ``LOADER``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any

import anywidget
import requests
import traitlets as t

from ..errors import ValidationError, ViduError
from ..tracking.duels import Pair, duel_pairs
from .duel_state import CHOICES, DuelRound, results, standings_html, standings_text
from .player import VideoGrid, _mime, frame_rate, player_code
from .rows import TaskView
from .shared import shared_layout
from .sources import Expired, Source, download, source_of
from .static import mark_stale

__all__ = ["Duel", "DuelCode", "duel", "duel_code"]

_log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
#: What ``duel`` takes for ``log``: something that records and ranks votes.
_LOG_NEEDS = ("vote", "unvote", "votes", "rankings", "judgments")


class DuelCode(anywidget.AnyWidget):
    """The duel's front-end code, held by one hidden widget per kernel (see ``PlayerCode``)."""

    _esm = (_HERE / "duel.js").read_text(encoding="utf-8")
    _css = (_HERE / "duel.css").read_text(encoding="utf-8")


_CODE: list[DuelCode] = []


def duel_code() -> DuelCode:
    """The one ``DuelCode`` of this kernel (a new one after ``Widget.close_all``)."""
    if not _CODE or _CODE[0].comm is None:
        _CODE[:] = [DuelCode(layout=shared_layout())]
    return _CODE[0]


class Duel(VideoGrid):
    """Two synchronized players of one pair, buttons and keys to judge it, then the results.

    The browser sends ``{"type": "vote", "choice": "left"|"right"|"tie", "pair": n}``,
    ``{"type": "skip", "pair": n}`` and ``{"type": "undo"}``; ``pair`` is the index the
    browser showed, so a second key press that arrives after the next pair loaded does not
    vote on a pair nobody saw. ``vote``/``skip``/``undo`` do the same from Python.
    """

    #: The shared ``PlayerCode`` whose ``render`` draws the two players.
    player = anywidget.WidgetTrait().tag(sync=True)
    #: The pair on screen (0-based) and how many there are: "3 of 12" in the browser.
    position = t.Int(0).tag(sync=True)
    total = t.Int(0).tag(sync=True)
    can_undo = t.Bool(False).tag(sync=True)
    done = t.Bool(False).tag(sync=True)
    #: A line about the last action (plain text, set with textContent).
    status = t.Unicode("").tag(sync=True)
    #: The standings and the reveal as tables of text (``title``, ``columns``, ``rows``);
    #: empty until every pair is judged.
    results = t.List(t.Dict()).tag(sync=True)
    # The grid's judging and titles, kept out of the state: a blind duel never sends the page
    # a rating, a pick or a prompt (its front end draws none of them either).
    judgments = t.Dict(t.Dict())
    choices = t.Dict(t.List(t.Dict()))
    promoted = t.Dict(t.Unicode())
    title_parts = t.Dict()
    # No A/B picking of cells (its front end draws none): no reference to the wipe's code.
    wipe_code = anywidget.WidgetTrait()
    wiped = t.List(t.Int())
    PAIRS = False

    def __init__(self, duel_round: DuelRound, *, client: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("code", duel_code())
        kwargs.setdefault("player", player_code())
        super().__init__(client=client, log=duel_round.log, cols=2, **kwargs)
        self.round = duel_round
        before = duel_round.already
        note = f"{before} pair{'s' * (before != 1)} voted on before: left out." if before else ""
        self._show(note)

    def __repr__(self) -> str:
        return f"Duel(by {', '.join(self.round.by)}: pair {self.round.progress()})"

    # -- what the user does -------------------------------------------------------------------
    def vote(self, choice: str) -> int:
        """Judge the pair on screen: ``"left"``, ``"right"`` or ``"tie"``; the vote's id."""
        vote_id = self.round.vote(choice)
        self._show(f"Saved: {'a tie' if choice == 'tie' else choice + ' is better'}.")
        return vote_id

    def skip(self) -> None:
        """Go on to the next pair without a vote."""
        self.round.skip()
        self._show("Skipped.")

    def undo(self) -> bool:
        """Back to the last pair judged or skipped; its vote is withdrawn from the log."""
        step = self.round.undo()
        if step is None:
            self._show("Nothing to undo.")
            return False
        self._show("Vote withdrawn." if step.vote_id is not None else "Back to the skipped pair.")
        return True

    def wipe(self, i: int, j: int, *, mode: str = "wipe", split: float = 0.5) -> Any:
        """Refused: a wipe labels A and B with what they are, which a blind duel must not show
        while it runs (``pairs`` and the results say it in the kernel)."""
        raise ValidationError("i", i, "a blind duel has no wipe: its labels would name the videos")

    @property
    def pairs(self) -> list[Pair]:
        """The pairs of this round, in order, as shown (left, right): kernel side only."""
        return list(self.round.pairs)

    # -- the browser's messages ---------------------------------------------------------------
    def _on_msg(self, widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind not in ("vote", "skip", "undo"):
            super()._on_msg(widget, content, buffers)
            return
        shown = content.get("pair")
        if kind != "undo" and shown is not None and shown != self.round.position:
            return  # a press meant for a pair that is gone already
        try:
            if kind == "vote":
                choice = content.get("choice")
                if choice not in CHOICES:
                    return
                self.vote(str(choice))
            elif kind == "skip":
                self.skip()
            else:
                self.undo()
        except ViduError as exc:  # the log refused: say so, keep the pair on screen
            _log.warning("duel: %s", exc)
            self.status = f"Not saved: {exc}"

    # -- what the browser sees ----------------------------------------------------------------
    def _show(self, status: str = "") -> None:
        duel_round = self.round
        pair = duel_round.current
        entries = [] if pair is None else self._entries(duel_round.position, pair)
        with self.hold_sync():
            self.set_players(entries)
            self.position, self.total = duel_round.position, duel_round.total
            self.can_undo, self.done = bool(duel_round.steps), pair is None
            self.results = results(duel_round) if pair is None else []
            self.status = status
        mark_stale(self)  # the saved still shows the standings after the next cell

    def _entries(self, index: int, pair: Pair) -> list[tuple[dict[str, Any], Source]]:
        out = []
        for side, row_id in zip("ab", pair, strict=True):
            view = TaskView.of(self.round.log.judgments.row(row_id))
            src = source_of(view)
            # Its frame rate, for frame steps: a number the page could read from the file too.
            fps = frame_rate(view, src.path("video"))
            item = {
                "key": f"{index}{side}",
                "label": "",
                "meta": [],
                "state": "success",
                "fps": fps,
            }
            out.append((item, src))
        return out

    def _public(self, item: dict[str, Any], src: Source) -> dict[str, Any]:
        """Everything through the kernel: a creation URL would name its task."""
        poster = bool(src.path("poster") or src.url("poster"))
        return {**item, "video_local": True, "video_url": "", "poster_local": poster,
                "poster_url": ""}  # fmt: skip

    def resolve(self, key: str, what: str, *, retry: bool = False) -> tuple[Any, str] | None:
        """As the grid's, but a fresh URL is downloaded here instead of handed to the page."""
        answer = super().resolve(key, what, retry=retry)
        if answer is None or answer[1] != "url":
            return answer
        try:
            data, mime = download(answer[0])
        except (Expired, requests.RequestException):
            return None
        return data, mime or _mime(answer[0], what)

    def still_parts(self) -> tuple[str, str]:
        return standings_html(self.round), standings_text(self.round)


def duel(
    df: Any,
    by: str | Iterable[str] = "prompt",
    log: Any = None,
    pairs: Iterable[Any] | None = None,
    seed: int | None = None,
    *,
    client: Any = None,
) -> Duel:
    """A blind duel over the tasks of ``df`` (rows of ``log.df``) that share a start image and
    differ in ``by`` (a column or several), pairs in random order with random sides
    (``seed`` makes both repeatable). Pairs already voted on in ``log`` are left out, so a duel
    opened again goes on where it stopped.

    Keys: Left arrow or ``1`` (left is better), Down arrow, ``t`` or ``0`` (tie), Right arrow
    or ``2`` (right is better), ``s`` (skip), ``u`` or Backspace (undo).

    ``log`` (default: the workspace's task log) stores the votes and must be the log ``df``
    came from. ``pairs`` gives the duels instead: ``(a, b)`` row ids or task ids, sides
    shuffled with ``seed``. ``client`` lets players refresh expired URLs. A ``by`` that is no
    column, or a ``df`` without any such pair, raises ``ValidationError`` naming it.
    """
    found = duel_pairs(df, by, seed=seed)  # checks df, by and seed first
    keys = [by] if isinstance(by, str) else list(by)
    log = _log_of(log)
    already = 0
    if pairs is None:
        if not found:
            why = (
                "no two succeeded tasks of df share a start image (image_sha256) and differ in "
                f"{', '.join(keys)}: nothing to duel"
            )
            raise ValidationError("by", by, why)
        voted = _voted(log)
        todo = [p for p in found if _unordered(p) not in voted]
        already = len(found) - len(todo)
    else:
        todo = _given(pairs, log, seed)
    _same_log(df, log, todo)
    log.rankings(by=keys)  # the end ranks by them: a column df has and the log lacks is named now
    return Duel(DuelRound(log, todo, keys, already=already), client=client)


def _log_of(log: Any) -> Any:
    if log is None:
        from ..workspace import Workspace

        return Workspace().log
    if not all(hasattr(log, name) for name in _LOG_NEEDS):
        raise ValidationError("log", log, "must be a TaskLog (it records the votes)")
    return log


def _unordered(pair: tuple[int, int]) -> tuple[int, int]:
    return (min(pair), max(pair))


def _voted(log: Any) -> set[tuple[int, int]]:
    votes = log.votes()
    rows = zip(votes["left_row_id"], votes["right_row_id"], strict=True)
    return {_unordered((int(a), int(b))) for a, b in rows}


def _given(pairs: Any, log: Any, seed: int | None) -> list[Pair]:
    """``pairs`` as row ids, each checked in ``log``, sides shuffled with ``seed``."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, Iterable):
        raise ValidationError("pairs", pairs, "must be (a, b) pairs of row ids or task ids")
    rng = random.Random(seed)
    out = []
    for pair in pairs:
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable):
            raise ValidationError("pairs", pair, "each must be two tasks: (a, b)")
        both = list(pair)
        if len(both) != 2:
            raise ValidationError("pairs", pair, "each must be two tasks: (a, b)")
        a, b = (log.judgments.row_id(x, field="pairs") for x in both)
        if a == b:
            raise ValidationError("pairs", pair, "a duel needs two different tasks")
        out.append(Pair(a, b) if rng.random() < 0.5 else Pair(b, a))
    if not out:
        raise ValidationError("pairs", pairs, "must give at least one pair")
    return out


def _same_log(df: Any, log: Any, pairs: list[Pair]) -> None:
    """The row ids of ``df`` must name the same tasks in ``log``: votes go by row id."""
    if "task_id" not in df.columns:
        return
    ids = df["row_id"] if "row_id" in df.columns else df.index.to_series()
    task_of: dict[Hashable, Any] = dict(zip(ids, df["task_id"], strict=True))
    for row_id in sorted({rid for pair in pairs for rid in pair}):
        expected = task_of.get(row_id)
        if expected is None or _missing(expected):
            continue
        in_log = log.judgments.row(row_id, field="log").get("task_id")
        if in_log != expected:
            raise ValidationError(
                "log", log, f"holds another task at row {row_id} than df: give the log df is from"
            )


def _missing(value: Any) -> bool:
    import pandas as pd

    return bool(pd.isna(value))
