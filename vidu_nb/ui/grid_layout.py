"""Which tasks a grid shows and where: the pure part of ``compare``, shared with the report.

``views_of`` turns what the user passed (a DataFrame, a sweep run, ids, rows, Tasks) into task
views; ``arrange`` lays them out by parameter. No widgets here, so a report written from the
command line never loads ipywidgets for its layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from ..request.sweep import LABEL_FIELDS, label_for
from .prompt_diff import diff_segments, partly_shared
from .rows import TaskView

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


#: Title fields whose rows or columns show what differs between them, word by word.
DIFFED = ("prompt",)

#: How row and column values are ordered when no explicit order is given.
ORDERS = ("plan", "sorted")


def arrange(
    views: Sequence[TaskView],
    rows: str | None = None,
    cols: str | int | None = None,
    *,
    order: str = "plan",
    row_order: Sequence[Any] | None = None,
    col_order: Sequence[Any] | None = None,
) -> Arrangement:
    """Lay ``views`` out by parameter (``rows="prompt", cols="seed"``) or by a column count.

    Rows and columns come in ``order``: ``"plan"``, the order the values first appear among
    the tasks (a sweep's plan order; a log's, the order they were submitted), or ``"sorted"``.
    ``row_order``/``col_order`` list values to put first, in that order (values no task has
    are left out; values not listed follow).
    """
    check_order(order, row_order, col_order, rows, cols)
    if isinstance(cols, int):
        return Arrangement(list(views), max(1, cols))
    if rows is None and cols is None:
        return Arrangement(list(views), min(3, max(1, len(views))))
    for name, wanted in (("rows", rows), ("cols", cols)):
        known = wanted in LABEL_FIELDS or any(wanted in v.row for v in views)
        if wanted and not known:  # a typo would silently make one "name: default" row
            raise ValidationError(name, wanted, f"not a field of these tasks; e.g. {FIELD_HINT}")
    row_keys = _distinct((v.get(rows) for v in views), order, row_order) if rows else [None]
    col_keys = _distinct((v.get(cols) for v in views), order, col_order) if cols else [None]
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


def check_order(
    order: Any, row_order: Any, col_order: Any, rows: Any = None, cols: Any = None
) -> None:
    """``ValidationError`` naming the argument for an order that cannot be followed."""
    if order not in ORDERS:
        raise ValidationError("order", order, f"must be one of {', '.join(map(repr, ORDERS))}")
    for name, given, axis in (("row_order", row_order, rows), ("col_order", col_order, cols)):
        if given is None:
            continue
        if isinstance(given, (str, bytes, Mapping)) or not isinstance(given, Iterable):
            raise ValidationError(name, given, "must be a list of values, e.g. [2, 1]")
        if axis is None or isinstance(axis, int):
            where = name.split("_")[0] + "s"
            raise ValidationError(name, given, f"orders the {where}: give {where}= a field too")


def _distinct(
    values: Iterable[Any], order: str = "plan", first: Sequence[Any] | None = None
) -> list[Any]:
    """The distinct values in ``order``, the ones listed in ``first`` before the others."""
    seen = list(dict.fromkeys(values))
    if order == "sorted":
        try:
            seen = sorted(seen, key=lambda x: (x is None, x))
        except TypeError:  # values of mixed kinds: keep the plan's order
            pass
    if first is None:
        return seen
    listed = [v for v in dict.fromkeys(first) if v in seen]
    return listed + [v for v in seen if v not in listed]


def title_parts(plan: Arrangement, rows: Any, cols: Any) -> dict[str, Any]:
    """The row and column titles as diff segments where they are prompts (see
    ``prompt_diff``); an axis whose titles share nothing, or are not prompts, has none."""
    out: dict[str, Any] = {}
    for axis, key, titles in (("rows", rows, plan.row_titles), ("cols", cols, plan.col_titles)):
        if key not in DIFFED or not titles:
            continue
        named = [t for t in titles if t]
        segments = iter(diff_segments(named))
        parts: list[list[list[Any]]] = [
            [list(s) for s in next(segments)] if t else [] for t in titles
        ]
        if partly_shared([[(str(a), bool(b)) for a, b in p] for p in parts if p]):
            out[axis] = parts
    return out


def client_of(tasks: Any) -> Any:
    """The client a ``Task`` (or a list of them) is bound to, if any."""
    if hasattr(tasks, "creations"):
        return getattr(tasks, "_client", None)
    if isinstance(tasks, (list, tuple)):
        return next((c for t in tasks if (c := client_of(t)) is not None), None)
    return None
