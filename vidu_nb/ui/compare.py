"""``show`` and ``compare``: players for one task or a labelled, synchronized grid of many.

Labels name only the parameters that vary among the tasks. With ``rows=``/``cols=`` naming
parameters (say ``rows="prompt", cols="seed"``) the grid is laid out as that table, one header
per row and per column, with an empty cell where a combination is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..request.sweep import LABEL_FIELDS, label_for
from .player import VideoGrid, entries_for
from .rows import TaskView, labels, with_judgment

#: What ``show`` and ``compare`` take, for the message that refuses anything else.
TAKES = (
    "a task id or submission handle recorded in log=, a Task, a log row (dict or DataFrame "
    "row), the log's DataFrame, a SweepRun, or a list of these"
)


def views_of(tasks: Any, log: Any = None) -> list[TaskView]:
    """Task views from a DataFrame, a sweep run, or an iterable of ids / rows / Tasks.

    A text is a task id (or the handle ``Poller.submit`` returned) that ``log`` holds: with
    no log, or one that never recorded it, there is nothing to show and it is refused (a task
    the log does not hold can be shown from the service: ``show(client.get(task_id))``).
    Give ``log`` also for a DataFrame of a log that is not in the working folder.
    Anything else raises ``ValidationError`` naming ``tasks``.
    """
    if tasks is None or isinstance(tasks, (bytes, int, float)):
        raise ValidationError("tasks", tasks, f"must be {TAKES}")
    if hasattr(tasks, "task_views"):  # a SweepRun or anything that knows its tasks
        return list(tasks.task_views())
    if hasattr(tasks, "iterrows"):  # the log's DataFrame keeps paths relative to the log
        base = Path(log.path).parent if log is not None else Path.cwd()
        views = [TaskView.of(row) for _i, row in tasks.iterrows()]
        for view in views:
            for col in ("video_path", "cover_path"):
                path = view.get(col)
                if path and not Path(path).is_absolute():
                    view.row[col] = str(base / path)
        return views
    if _is_single(tasks):
        tasks = [tasks]
    elif not isinstance(tasks, Iterable):
        raise ValidationError("tasks", tasks, f"must be {TAKES}")
    return [_view_of(t, log) for t in tasks]


def _view_of(item: Any, log: Any) -> TaskView:
    if isinstance(item, str):
        if log is None:
            raise ValidationError(
                "tasks", item, "a task id is looked up in the task log: give log= as well"
            )
        row = log.get(item) or log.get_by_ref(item)
        if row is None:
            raise ValidationError(
                "tasks",
                item,
                f"no such task id or handle in {log!r}; show a task from the service with "
                "show(client.get(task_id))",
            )
        return TaskView.of(row)
    if not _is_single(item):
        raise ValidationError("tasks", item, f"each item must be {TAKES}")
    return TaskView.of(item, log)


def _is_single(obj: Any) -> bool:
    if isinstance(obj, (str, TaskView, Mapping)) or hasattr(obj, "creations"):
        return True
    return hasattr(obj, "to_dict") and hasattr(obj, "index")  # one pandas row


@dataclass
class Arrangement:
    """Where each task goes in a grid, and the headers that name its rows and columns.

    ``cells`` is row-major (``None`` = empty); ``row_titles`` has one entry per grid row, ``""``
    where a row continues the group above (several tasks share a combination); either list of
    titles is empty when the grid has no such header. ``in_headers`` are the parameters the
    headers name, so cell labels leave them out.
    """

    cells: list[TaskView | None]
    cols: int
    row_titles: list[str] = field(default_factory=list)
    col_titles: list[str] = field(default_factory=list)
    in_headers: tuple[str, ...] = ()


FIELD_HINT = ", ".join(LABEL_FIELDS[:5]) + ", experiment"


def arrange(
    views: Sequence[TaskView], rows: str | None = None, cols: str | int | None = None
) -> Arrangement:
    """Lay ``views`` out by parameter (``rows="prompt", cols="seed"``) or by a column count."""
    if isinstance(cols, int):
        return Arrangement(list(views), max(1, cols))
    if rows is None and cols is None:
        return Arrangement(list(views), min(3, max(1, len(views))))
    for name, wanted in (("rows", rows), ("cols", cols)):
        known = wanted in LABEL_FIELDS or any(wanted in v.row for v in views)
        if wanted and not known:  # a typo would silently make one "name: default" row
            raise ValidationError(name, wanted, f"not a field of these tasks; e.g. {FIELD_HINT}")
    row_keys = _distinct(v.get(rows) for v in views) if rows else [None]
    col_keys = _distinct(v.get(cols) for v in views) if cols else [None]
    by_cell: dict[tuple[Any, Any], list[TaskView]] = {}
    for v in views:
        key = (v.get(rows) if rows else None, v.get(cols) if cols else None)
        by_cell.setdefault(key, []).append(v)
    depth = max((len(group) for group in by_cell.values()), default=1)
    cells: list[TaskView | None] = []
    row_titles: list[str] = []
    for r in row_keys:
        for layer in range(depth):
            row_titles.append(header(rows, r) if rows and layer == 0 else "")
            for c in col_keys:
                group = by_cell.get((r, c), [])
                cells.append(group[layer] if layer < len(group) else None)
    return Arrangement(
        cells,
        len(col_keys),
        row_titles if rows else [],
        [header(cols, c) for c in col_keys] if cols else [],
        tuple(k for k in (rows, cols) if k),
    )


def header(key: str, value: Any) -> str:
    """A row or column title: the value of ``key`` as cell labels write it."""
    return label_for({key: value}, [key], prompt_chars=90)


def _distinct(values: Iterable[Any]) -> list[Any]:
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen, key=lambda x: (x is None, x))
    except TypeError:
        return seen


def client_of(tasks: Any) -> Any:
    """The client a ``Task`` (or a list of them) is bound to, if any."""
    if hasattr(tasks, "creations"):
        return getattr(tasks, "_client", None)
    if isinstance(tasks, (list, tuple)):
        return next((c for t in tasks if (c := client_of(t)) is not None), None)
    return None


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
) -> VideoGrid:
    """A synchronized grid of players for ``tasks`` labelled by what varies among them.

    With ``rows``/``cols`` naming parameters, each row and column gets a header with its value
    and the cell labels name only what else varies. No tasks give an empty grid that says so.
    ``where`` keeps only the tasks matching a pandas query over their columns, before the
    layout (``where="rating >= 4"``, ``"pick == True and seed != 3"``); one that pandas cannot
    evaluate raises ``ValidationError`` naming ``where``.

    ``client`` (default: the one the tasks are bound to) lets players refresh expired URLs;
    ``log`` receives the fresh URLs and the cached files.
    """
    views = selected(tasks, where, log)
    grid = grid or VideoGrid(client=client or client_of(tasks), log=log)
    if not views:
        with grid.hold_sync():
            grid.cols, grid.row_titles, grid.col_titles = 1, [], []
            grid.note = EMPTY_NOTE if where is None else f"{NO_MATCH} {where}"
            grid.set_players([])
        return grid
    plan = arrange(views, rows, cols)
    present = [v for v in plan.cells if v is not None]
    keys = [k for k in labels(present)[0] if k not in plan.in_headers]
    placeholder = TaskView({"task_id": "", "state": "empty"})
    filled = [v if v is not None else placeholder for v in plan.cells]
    text = [label_for(v.row, keys) if v is not None else "" for v in plan.cells]
    if not plan.in_headers:  # with headers an empty label is right: they say it all
        text = [t or v.task_id for t, v in zip(text, filled, strict=True)]
    text = [with_judgment(t, v) for t, v in zip(text, filled, strict=True)]
    entries = entries_for(filled, text)
    for (item, _src), cell in zip(entries, plan.cells, strict=True):
        if cell is None:  # a missing combination is no task: no state, credits or time line
            item["meta"] = []
    with grid.hold_sync():  # one message, one redraw in the browser
        grid.cols, grid.note = plan.cols, ""
        grid.row_titles, grid.col_titles = plan.row_titles, plan.col_titles
        grid.set_players(entries)
    return grid


def show(
    tasks: Any, *, log: Any = None, client: Any = None, label: bool = True, meta: bool = True
) -> VideoGrid:
    """Players (with native controls too) for a task id, log row or Task, or several in one
    widget: one grid costs the saved notebook far less than a widget per task.

    A task id (or a handle ``Poller.submit`` returned) must be in ``log``; anything that is
    not a task raises ``ValidationError`` naming ``tasks`` (see ``views_of``).

    ``label=False`` and ``meta=False`` leave out the label above each player and the line of
    state, credits and time under it (a task card already shows both).
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
    grid.set_players(entries_for(views, text, meta=meta))
    return grid
