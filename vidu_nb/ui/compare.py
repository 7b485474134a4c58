"""``show`` and ``compare``: players for one task or a labelled, synchronized grid of many.

Labels name only the parameters that vary among the tasks. With ``rows=``/``cols=`` naming
parameters (say ``rows="prompt", cols="seed"``) the grid is laid out as that table, with an
empty cell where a combination is missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..sweep import label_for
from .player import VideoGrid, entries_for
from .rows import TaskView, labels


def views_of(tasks: Any, log: Any = None) -> list[TaskView]:
    """Task views from a DataFrame, a sweep run, or an iterable of ids / rows / Tasks.

    Give ``log`` for task ids, and for a DataFrame of a log that is not in the working folder.
    """
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
    return [TaskView.of(t, log) for t in tasks]


def _is_single(obj: Any) -> bool:
    if isinstance(obj, (str, TaskView, Mapping)) or hasattr(obj, "creations"):
        return True
    return hasattr(obj, "to_dict") and hasattr(obj, "index")  # one pandas row


def layout(
    views: Sequence[TaskView], rows: str | None = None, cols: str | int | None = None
) -> tuple[list[TaskView | None], int]:
    """Cells in row-major order (``None`` = empty) and the number of columns.

    ``cols`` may be a parameter name or a column count; ``rows`` a parameter name.
    """
    if isinstance(cols, int):
        return list(views), max(1, cols)
    if rows is None and cols is None:
        return list(views), min(3, max(1, len(views)))
    row_keys = _distinct(v.get(rows) for v in views) if rows else [None]
    col_keys = _distinct(v.get(cols) for v in views) if cols else [None]
    by_cell: dict[tuple[Any, Any], list[TaskView]] = {}
    for v in views:
        key = (v.get(rows) if rows else None, v.get(cols) if cols else None)
        by_cell.setdefault(key, []).append(v)
    depth = max(len(group) for group in by_cell.values())
    cells: list[TaskView | None] = []
    for r in row_keys:
        for layer in range(depth):
            for c in col_keys:
                group = by_cell.get((r, c), [])
                cells.append(group[layer] if layer < len(group) else None)
    return cells, len(col_keys)


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


def compare(
    tasks: Any,
    rows: str | None = None,
    cols: str | int | None = None,
    *,
    log: Any = None,
    client: Any = None,
    grid: VideoGrid | None = None,
) -> VideoGrid:
    """A synchronized grid of players for ``tasks`` labelled by what varies among them.

    ``client`` (default: the one the tasks are bound to) lets players refresh expired URLs;
    ``log`` receives the fresh URLs and the cached files.
    """
    views = views_of(tasks, log)
    cells, ncols = layout(views, rows, cols)
    present = [v for v in cells if v is not None]
    keys, _ = labels(present)
    placeholder = TaskView({"task_id": "", "state": "empty"})
    filled = [v if v is not None else placeholder for v in cells]
    text = [label_for(v.row, keys) if v is not None else "" for v in cells]
    text = [t or v.task_id for t, v in zip(text, filled, strict=True)]
    grid = grid or VideoGrid(client=client or client_of(tasks), log=log)
    grid.cols = ncols
    grid.set_players(entries_for(filled, text))
    return grid


def show(tasks: Any, *, log: Any = None, client: Any = None, label: bool = True) -> VideoGrid:
    """Players (with native controls too) for a task id, log row or Task, or several in one
    widget: one grid costs the saved notebook far less than a widget per task.

    ``label=False`` leaves out the label above each player (a task card already names it).
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
    grid.set_players(entries_for(views, text))
    return grid
