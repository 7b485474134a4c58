"""What the report says about each task and about all of them: a cell's line of figures, its
parameters table (the recipe written into the video, and how the task went), the subtitle and
the totals. Pure: task views in, texts out. A cell's files are known by what ``CellFiles``
names (``report_files.Files`` is one), so the files module may use the cells' texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from .. import states
from ..tracking.recipe import json_value, recipe_of
from .grid_layout import header, title_parts
from .report_page import Cell, Page
from .rows import TaskView, epoch_of, fmt_seconds


class CellFiles(Protocol):
    """What a cell links to: its video, poster and sheet as staged (``None``: none), and a
    note where there is no video."""

    video: Path | None
    poster: Path | None
    sheet: Path | None
    note: str


def page_of(
    plan: Any,
    texts: list[str],
    files: Sequence[CellFiles | None],
    link: Any,
    title: str,
    rows: Any,
    cols: Any = None,
) -> Page:
    present = [v for v in plan.cells if v is not None]
    cells: list[Cell | None] = []
    for view, text, found in zip(plan.cells, texts, files, strict=True):
        if view is None or found is None:
            cells.append(None)
            continue
        cells.append(
            Cell(
                task_id=view.task_id,
                state=view.state,
                label=text,
                meta=meta(view),
                note=found.note or _why_no_video(view),
                video=link(found.video),
                poster=link(found.poster),
                sheet=link(found.sheet),
                params=_params(view),
                recipe=recipe_of(view.row),
            )
        )
    head, totals = _totals(present, rows)
    return Page(
        title=title,
        subtitle=_subtitle(present),
        cols=plan.cols,
        cells=cells,
        row_titles=plan.row_titles,
        col_titles=plan.col_titles,
        title_parts=title_parts(plan, rows, cols),
        totals_head=head,
        totals=totals,
    )


def meta(view: TaskView) -> str:
    parts = [view.state, view.credits_text()]
    parts.append(f"generated in {fmt_seconds(view.generation_seconds())}")
    if view.get("seed") is not None:
        parts.append(view.seed_text())
    return " \u00b7 ".join(parts)


def _why_no_video(view: TaskView) -> str:
    if states.is_failed(view.state):
        return f"failed: {view.get('err_code', '')} {view.get('error', '')}".strip()
    if not states.is_success(view.state):
        return view.state
    return ""


#: Beyond the recipe, what the parameters table of a cell shows.
_MORE = ("state", "err_code", "error", "submitted_at", "processing_at")


def _params(view: TaskView) -> list[tuple[str, str]]:
    """The recipe (as written into the video) and how the task went, for the table."""
    values = recipe_of(view.row)
    for name in _MORE:
        value = json_value(view.get(name))
        if value not in (None, ""):
            values[name] = value
    seconds = view.generation_seconds()
    if seconds is not None:
        values["generation_time"] = fmt_seconds(seconds)
    traces = view.get("trace_ids")  # a list in a log row, "a,b" in the DataFrame
    if traces:
        values["trace_ids"] = traces.split(",") if isinstance(traces, str) else list(traces)
    return [(k, _text(v)) for k, v in values.items()]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _subtitle(views: list[TaskView]) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    from .. import __version__

    text = f"{len(views)} task{'s' if len(views) != 1 else ''}"
    starts = [t for v in views if (t := epoch_of(v.get("submitted_at"))) is not None]
    ends = [t for v in views if (t := epoch_of(v.get("finished_at"))) is not None]
    if starts and ends:
        text += f", {fmt_seconds(max(0.0, max(ends) - min(starts)))} from first sent to last done"
    return f"{text} \u00b7 written {when} by vidu-nb {__version__}"


TOTALS_HEAD = (
    "", "tasks", "succeeded", "failed", "other", "credits", "video seconds", "credits per s",
    "generation time", "per task",
)  # fmt: skip


def _totals(views: list[TaskView], rows: str | None) -> tuple[Sequence[str], list[list[str]]]:
    """One line per row of the grid (when rows name a parameter) and one for all tasks.

    Credits are what succeeded tasks were charged: failed and cancelled ones are refunded."""
    groups: dict[str, list[TaskView]] = {}
    if rows:
        for view in views:
            groups.setdefault(header(rows, view.get(rows)), []).append(view)
    lines = [_total_line(name, members) for name, members in groups.items()]
    if len(groups) != 1:
        lines.append(_total_line("all", views))
    return TOTALS_HEAD, lines


def _total_line(name: str, views: list[TaskView]) -> list[str]:
    ok = [v for v in views if states.is_success(v.state)]
    failed = sum(1 for v in views if states.is_failed(v.state))
    credits = sum(int(v.get("credits") or 0) for v in ok)
    seconds = sum(int(v.get("duration") or 0) for v in ok)
    times = [t for v in views if (t := v.generation_seconds()) is not None]
    per = f"{credits / seconds:.1f}" if seconds else "\u2014"
    mean = fmt_seconds(sum(times) / len(times)) if times else "\u2014"
    return [
        name, str(len(views)), str(len(ok)), str(failed), str(len(views) - len(ok) - failed),
        f"{credits:,}", str(seconds), per, fmt_seconds(sum(times)) if times else "\u2014", mean,
    ]  # fmt: skip
