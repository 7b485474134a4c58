"""The logic of a blind duel, without widgets: which pair is up, votes, skips, undo, the results.

A ``DuelRound`` walks through its pairs (``tracking.duels.Pair``: row ids shown left and right)
and writes each verdict to the task log at once (``log.vote``), so a vote outlives the kernel and
another kernel's ``log.rankings`` sees it; an undo withdraws it (``log.unvote``). Nothing here
reaches the browser: the widget (``duel.py``) shows only what this object chooses to tell, and
the parameters of the pair stay on the kernel's side until the end, when ``results`` (tables of
text for the page) and ``results_html`` (the saved still) reveal which was which beside the
Bradley-Terry standings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..request.sweep import label_for
from ..tracking.duels import Pair
from .rows import esc

#: What a verdict may be: the left video is better, the right one, or neither.
CHOICES: tuple[str, ...] = ("left", "right", "tie")


@dataclass(frozen=True)
class Step:
    """One thing done in a round: the pair's index and the vote's id (``None``: skipped)."""

    index: int
    vote_id: int | None
    choice: str


class DuelRound:
    """A walk through ``pairs`` judged by ``by`` (the columns being compared), voting in ``log``.

    ``already`` counts the pairs of this kind voted on before the round began (left out of
    ``pairs``), for the progress line of a round taken up again.
    """

    def __init__(self, log: Any, pairs: list[Pair], by: list[str], *, already: int = 0) -> None:
        self.log = log
        self.pairs = list(pairs)
        self.by = list(by)
        self.already = already
        self.position = 0
        self.steps: list[Step] = []

    @property
    def total(self) -> int:
        return len(self.pairs)

    @property
    def done(self) -> bool:
        return self.position >= len(self.pairs)

    @property
    def current(self) -> Pair | None:
        return None if self.done else self.pairs[self.position]

    @property
    def votes_cast(self) -> int:
        return sum(step.vote_id is not None for step in self.steps)

    def progress(self) -> str:
        """ "3 of 12": the pair on screen (the last one once every pair is judged)."""
        if not self.pairs:
            return "0 of 0"
        return f"{min(self.position + 1, self.total)} of {self.total}"

    def vote(self, choice: str) -> int:
        """Record the verdict on the current pair in the log and move on; the vote's id."""
        if choice not in CHOICES:
            raise ValidationError("choice", choice, f"must be one of {', '.join(CHOICES)}")
        pair = self._current()
        winner = {"left": pair.left, "right": pair.right, "tie": None}[choice]
        vote_id = self.log.vote(pair.left, pair.right, winner=winner)
        self.steps.append(Step(self.position, int(vote_id), choice))
        self.position += 1
        return int(vote_id)

    def skip(self) -> None:
        """Move on without a vote (this pair is not shown again in this round)."""
        self._current()
        self.steps.append(Step(self.position, None, "skip"))
        self.position += 1

    def undo(self) -> Step | None:
        """Go back to the pair judged (or skipped) last, withdrawing its vote from the log;
        ``None`` when there is nothing to undo."""
        if not self.steps:
            return None
        step = self.steps.pop()
        if step.vote_id is not None:
            self.log.unvote(step.vote_id)
        self.position = step.index
        return step

    def _current(self) -> Pair:
        pair = self.current
        if pair is None:
            raise ValidationError("duel", self.progress(), "every pair was judged already")
        return pair

    # -- results ------------------------------------------------------------------------------
    def standings(self) -> Any:
        """``log.rankings(by)``: the Bradley-Terry fit over every vote in the log."""
        return self.log.rankings(by=self.by)


def standings_frame(standings: Any) -> Any:
    """The rankings as shown: rank, the ``by`` values, rounded scores, the 95 % interval, wins,
    losses, ties and duels (text, for the page and for the HTML)."""
    shown = standings.copy()
    shown["score"] = [f"{v:+.2f}" for v in standings["score"]]
    shown["se"] = [f"{v:.2f}" for v in standings["se"]]
    shown["95% interval"] = [
        f"{lo:+.2f} to {hi:+.2f}"
        for lo, hi in zip(standings["ci_low"], standings["ci_high"], strict=True)
    ]
    shown = shown.drop(columns=["ci_low", "ci_high", "strength"], errors="ignore")
    shown = shown.rename(columns={"n": "duels"})
    shown.insert(0, "rank", range(1, len(shown) + 1))
    return shown


def standings_table(standings: Any) -> str:
    """The rankings as an HTML table, every value escaped (pandas' ``to_html`` escapes)."""
    if standings is None or not len(standings):
        return "<div><i>No votes yet.</i></div>"
    shown = standings_frame(standings)
    return str(shown.to_html(index=False, escape=True, border=0, classes="vidu-duel-ranking"))


def reveal_rows(duel_round: DuelRound) -> list[tuple[str, str, str]]:
    """Which was which, pair by pair in the order judged: left's and right's values of ``by``
    (and task ids) and the verdict."""
    out = []
    for step in duel_round.steps:
        pair = duel_round.pairs[step.index]
        left, right = (_named(duel_round, rid) for rid in pair)
        verdict = {"left": "left better", "right": "right better", "skip": "skipped"}.get(
            step.choice, step.choice
        )
        out.append((left, right, verdict))
    return out


def _named(duel_round: DuelRound, row_id: int) -> str:
    try:
        row = duel_round.log.judgments.row(row_id)
    except ValidationError:  # deleted from the log since: its row id is all there is
        return f"row {row_id}"
    return f"{label_for(row, duel_round.by)} ({row.get('task_id') or f'row {row_id}'})"


REVEAL_COLUMNS = ["#", "left", "right", "verdict"]


def ranking_caption(duel_round: DuelRound, count: int) -> str:
    return (
        f"Ranking by {', '.join(duel_round.by)} (Bradley-Terry, ties as half wins; "
        f"duels counted from the whole log: {count})"
    )


def results(duel_round: DuelRound) -> list[dict[str, Any]]:
    """The end of a round as plain tables of text (the page sets them with ``textContent``):
    the standings of every vote in the log, then which video was which."""
    standings = duel_round.standings()
    shown = standings_frame(standings)
    ranking = {
        "title": ranking_caption(duel_round, int(standings.attrs.get("duels", 0))),
        "columns": [str(c) for c in shown.columns],
        "rows": [[_text(v) for v in row] for row in shown.itertuples(index=False, name=None)],
    }
    reveal = {
        "title": "Which was which",
        "columns": REVEAL_COLUMNS,
        "rows": [[str(i), *row] for i, row in enumerate(reveal_rows(duel_round), 1)],
    }
    return [ranking, reveal] if reveal["rows"] else [ranking]


def _text(value: Any) -> str:
    return "\u2014" if value is None else str(value)


def results_html(duel_round: DuelRound) -> str:
    """``results`` as escaped HTML (the still a saved notebook shows once the round is over)."""
    standings = duel_round.standings()
    parts = [
        f"<div class='vidu-duel-caption'><b>"
        f"{esc(ranking_caption(duel_round, int(standings.attrs.get('duels', 0))))}</b></div>",
        standings_table(standings),
    ]
    rows = reveal_rows(duel_round)
    if rows:
        body = "".join(
            f"<tr><td>{i}</td><td>{esc(a)}</td><td>{esc(b)}</td><td>{esc(v)}</td></tr>"
            for i, (a, b, v) in enumerate(rows, 1)
        )
        head = "".join(f"<th>{esc(c)}</th>" for c in REVEAL_COLUMNS)
        parts.append(
            "<div class='vidu-duel-caption'><b>Which was which</b></div>"
            f"<table class='vidu-duel-reveal'><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    return "".join(parts)


def standings_html(duel_round: DuelRound) -> str:
    """What a saved notebook shows without a kernel: the progress and the standings so far,
    never the pair on screen; once every pair is judged, the results with the reveal."""
    head = (
        f"<div><b>Blind duel by {esc(', '.join(duel_round.by))}</b>: pair "
        f"{esc(duel_round.progress())}, {duel_round.votes_cast} voted here</div>"
    )
    body = results_html(duel_round) if duel_round.done else standings_table(duel_round.standings())
    return f'<div class="vidu-duel-still">{head}{body}</div>'


def standings_text(duel_round: DuelRound) -> str:
    lines = [f"Duel(by {', '.join(duel_round.by)}: pair {duel_round.progress()})"]
    standings = duel_round.standings()
    for i, row in enumerate(standings.to_dict("records"), 1):
        values = " / ".join(str(row.get(c)) for c in duel_round.by)
        lines.append(f"{i}. {values}: score {row['score']:+.2f}, {row['n']} duels")
    return "\n".join(lines)
