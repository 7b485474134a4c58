"""``show`` and ``compare``: players for one task or a labelled, synchronized grid of many.

Labels name only the parameters that vary among the tasks. With ``rows=``/``cols=`` naming
parameters (say ``rows="prompt", cols="seed"``) the grid is laid out as that table, one header
per row and per column, with an empty cell where a combination is missing. Rows and columns
come in the order of the tasks (a sweep's plan order), or sorted, or in an order given.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import partial
from typing import Any

from ..errors import ValidationError
from ..request.sweep import label_for
from .grid_layout import (
    ORDERS,
    TAKES,
    Arrangement,
    arrange,
    check_order,
    client_of,
    header,
    title_parts,
    views_of,
)
from .judging import PromoteFn, promote_task
from .player import VideoGrid, entries_for
from .rows import TaskView, labels, with_judgment
from .session import Session
from .static import stills_for

#: ``compare``'s orders: the layout's, and the rankings of the duel votes.
COMPARE_ORDERS = (*ORDERS, "ranking")

__all__ = ["ORDERS", "TAKES", "Arrangement", "arrange", "compare", "header", "show", "views_of"]


#: What an empty grid says (a filter that matched nothing, a sweep with every combination skipped).
EMPTY_NOTE = "Nothing to compare: no tasks were given (an empty selection or sweep)."
NO_MATCH = "Nothing to compare: no task matches where="


def selected(tasks: Any, where: str | None, log: Any = None) -> list[TaskView]:
    """The views of ``tasks`` (see ``views_of``) whose rows match the pandas query ``where``
    (all of them when it is None). A DataFrame is queried as it is, with its dtypes; other
    tasks through a frame of their views' rows (a missing value is NaN there, so a
    comparison with it is false)."""
    if where is None:
        return views_of(tasks, log)
    if not isinstance(where, str) or not where.strip():
        raise ValidationError("where", where, "must be a pandas query string, e.g. 'rating >= 4'")
    import pandas as pd

    if hasattr(tasks, "query") and hasattr(tasks, "iterrows"):
        return views_of(_query(tasks, where), log)
    views = views_of(tasks, log)
    if not views:
        return views
    rows = pd.DataFrame([v.row for v in views], index=range(len(views)))
    return [views[i] for i in _query(rows, where).index]


def _query(df: Any, where: str) -> Any:
    try:
        result = df.query(where)
    except Exception as exc:  # pandas raises many kinds: all mean the expression is unusable
        raise ValidationError(
            "where", where, f"not a usable row filter ({type(exc).__name__}: {exc})"
        ) from None
    if not hasattr(result, "index") or not hasattr(result, "columns"):
        raise ValidationError("where", where, "must select rows (a condition such as 'a > 1')")
    return result


def compare(
    tasks: Any,
    rows: str | None = None,
    cols: str | int | None = None,
    *,
    where: str | None = None,
    log: Any = None,
    client: Any = None,
    grid: VideoGrid | None = None,
    order: str = "plan",
    row_order: Sequence[Any] | None = None,
    col_order: Sequence[Any] | None = None,
    poller: Any = None,
    session: Session | None = None,
    promote: PromoteFn | None = None,
) -> VideoGrid:
    """A synchronized grid of players for ``tasks`` labelled by what varies among them.

    With ``rows``/``cols`` naming parameters, each row and column gets a header with its value
    and the cell labels name only what else varies. No tasks give an empty grid that says so.
    ``where`` keeps only the tasks matching a pandas query over their columns, before the
    layout (``where="rating >= 4"``, ``"pick == True and seed != 3"``); one that pandas cannot
    evaluate raises ``ValidationError`` naming ``where``.
    Rows and columns follow the order of the tasks (``order="plan"``: a sweep's plan, a log's
    submissions) or ``order="sorted"``; ``row_order=[...]``/``col_order=[...]`` put the listed
    values first, in that order.

    ``order="ranking"`` puts the best-ranked values first: ``log.rankings(by=...)`` of the
    rows' (and the columns') field, fitted to the duel votes; values no vote ranked follow.

    ``client`` (default: the one the tasks are bound to) lets players refresh expired URLs;
    ``log`` receives the fresh URLs and the cached files.

    With ``log``, each cell shows its task's judgment and judges it: stars (keys 1-5, 0
    clears), pick and reject (``p``, ``x``) and a note, written to the log on each click.
    With a ``poller`` (or a ``session``) too, a picked cell has a Promote control: the
    estimate of the chosen change first, then the submission, whose ``parent_row_id`` is the
    cell's task (``promote`` replaces how it is submitted: ``SweepRun.promote`` for a sweep).
    """
    if log is None and (session is not None or poller is not None):
        log = session.log if session is not None else getattr(poller, "log", None)
    if order == "ranking":
        row_order, col_order = ranked_orders(log, rows, cols, row_order, col_order)
        order = "plan"
    elif order not in COMPARE_ORDERS:
        raise ValidationError(
            "order", order, f"must be one of {', '.join(map(repr, COMPARE_ORDERS))}"
        )
    check_order(order, row_order, col_order, rows, cols)  # before anything is built
    views = selected(tasks, where, log)
    grid = grid or VideoGrid(client=client or client_of(tasks), log=log)
    if not views:
        with grid.hold_sync():
            grid.cols, grid.row_titles, grid.col_titles = 1, [], []
            grid.note = EMPTY_NOTE if where is None else f"{NO_MATCH} {where}"
            grid.set_players([])
            grid.judge.enable(None, {})
        return grid
    plan = arrange(views, rows, cols, order=order, row_order=row_order, col_order=col_order)
    present = [v for v in plan.cells if v is not None]
    keys = [k for k in labels(present)[0] if k not in plan.in_headers]
    placeholder = TaskView({"task_id": "", "state": "empty"})
    filled = [v if v is not None else placeholder for v in plan.cells]
    text = [label_for(v.row, keys) if v is not None else "" for v in plan.cells]
    if not plan.in_headers:  # with headers an empty label is right: they say it all
        text = [t or v.task_id for t, v in zip(text, filled, strict=True)]
    bare = text
    text = [with_judgment(t, v) for t, v in zip(text, filled, strict=True)]
    entries = entries_for(filled, text)
    for (item, _src), cell, base in zip(entries, plan.cells, bare, strict=True):
        if cell is None:  # a missing combination is no task: no state, credits or time line
            item["meta"] = []
        item["label_base"] = base  # the label before the judgment, redrawn as that changes
    headings = cell_headings(plan, text)
    parts = title_parts(plan, rows, cols)
    with grid.hold_sync():  # one message, one redraw in the browser
        grid.cols, grid.note = plan.cols, ""
        grid.row_titles, grid.col_titles = plan.row_titles, plan.col_titles
        grid.title_parts = parts
        grid.set_players(
            entries, stills_for(plan.cells, headings, heading_parts(plan, parts, text))
        )
        if log is not None:
            cells = {
                item["key"]: view
                for (item, _src), view in zip(entries, plan.cells, strict=True)
                if view is not None
            }
            if promote is None and (session is not None or poller is not None):
                session = session or Session(client, log, poller)
                promote = partial(promote_task, session)
            grid.judge.enable(log, cells, promoter=promote, session=session)
        else:  # a grid drawn again without a log judges nothing it judged before
            grid.judge.enable(None, {})
    return grid


def heading_parts(
    plan: Arrangement, parts: dict[str, Any], text: list[str]
) -> list[list[tuple[str, bool]]] | None:
    """``cell_headings`` as segments ``(text, strong)`` for the stills' HTML: a prompt
    title's words that differ strong, the words the prompts share not; the rest of the
    heading strong as any heading. None when no title has differences."""
    if not parts:
        return None
    out: list[list[tuple[str, bool]]] = []
    row_parts: list[Any] = []
    for i, label in enumerate(text):
        row, col = divmod(i, plan.cols)
        if plan.row_titles and row < len(plan.row_titles) and plan.row_titles[row]:
            found = parts.get("rows", [])
            row_parts = found[row] if row < len(found) else [[plan.row_titles[row], True]]
        col_title = plan.col_titles[col] if col < len(plan.col_titles) else ""
        found = parts.get("cols", [])
        col_parts = found[col] if col < len(found) else [[col_title, True]]
        pieces = [p for p in (row_parts, col_parts if col_title else [], [[label, True]]) if p]
        pieces = [p for p in pieces if any(t for t, _d in p)]
        segments: list[tuple[str, bool]] = []
        for n, piece in enumerate(pieces):
            if n:
                segments.append((" \u00b7 ", True))
            segments += [(str(t), bool(d)) for t, d in piece]
        out.append(segments)
    return out


def ranked_orders(
    log: Any, rows: Any, cols: Any, row_order: Any, col_order: Any
) -> tuple[Any, Any]:
    """``row_order``/``col_order`` from the log's rankings of the rows' and the columns'
    fields (an order given explicitly is kept)."""
    if log is None:
        raise ValidationError("order", "ranking", "ranks by the task log's votes: give log=")
    if not isinstance(rows, str) and not isinstance(cols, str):
        raise ValidationError("order", "ranking", "ranks the values of rows= or cols=: give one")
    found = []
    for axis, given in ((rows, row_order), (cols, col_order)):
        if given is not None or not isinstance(axis, str):
            found.append(given)
            continue
        ranked = log.rankings(by=axis)
        values = list(ranked[axis]) if axis in ranked.columns and len(ranked) else []
        found.append([v.item() if hasattr(v, "item") else v for v in values])
    return found[0], found[1]


def cell_headings(plan: Arrangement, text: list[str]) -> list[str]:
    """Each cell's full name for its still, where no headers stand beside it: its row's and
    column's titles, then its own label."""
    out, row_title = [], ""
    for i, label in enumerate(text):
        row, col = divmod(i, plan.cols)
        if plan.row_titles and row < len(plan.row_titles) and plan.row_titles[row]:
            row_title = plan.row_titles[row]
        col_title = plan.col_titles[col] if col < len(plan.col_titles) else ""
        parts = (row_title if plan.row_titles else "", col_title, label)
        out.append(" \u00b7 ".join(p for p in parts if p))
    return out


def show(
    tasks: Any,
    *,
    log: Any = None,
    client: Any = None,
    label: bool = True,
    meta: bool = True,
    stills_later: bool = False,
) -> VideoGrid:
    """Players (with native controls too) for a task id, log row or Task, or several in one
    widget: one grid costs the saved notebook far less than a widget per task.

    A task id (or a handle ``Poller.submit`` returned) must be in ``log``; anything that is
    not a task raises ``ValidationError`` naming ``tasks`` (see ``views_of``).

    ``label=False`` and ``meta=False`` leave out the label above each player and the line of
    state, credits and time under it (a task card already shows both). ``stills_later=True``
    makes the players' stills on a thread of their own, for a caller that must not wait for a
    video to be decoded (a card redrawn by the poller's thread).
    """
    views = views_of(tasks, log)
    grid = VideoGrid(
        cols=min(3, max(1, len(views))),
        controls=True,
        client=client or client_of(tasks),
        log=log,
    )
    text = [v.task_id for v in views] if len(views) == 1 else None
    if not label:
        text = [""] * len(views)
    entries = entries_for(views, text, meta=meta)
    headings = [
        item["label"] or view.task_id for (item, _src), view in zip(entries, views, strict=True)
    ]
    if not stills_later:
        grid.set_players(entries, stills_for(views, headings))
        return grid
    grid.set_players(entries)
    threading.Thread(
        target=lambda: grid.set_stills(stills_for(views, headings)),
        name="vidu-stills",
        daemon=True,
    ).start()
    return grid
