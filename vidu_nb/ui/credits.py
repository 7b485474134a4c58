"""``credits_view(log)``: where the credits went, as a styled table and matplotlib charts."""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..errors import ValidationError
from ..tracking.ledger import ledger_for
from .rows import esc
from .static import StillDisplay, data_uri


def check_log(log: Any) -> None:
    """The credits views read a ``TaskLog``; anything else is refused by name, up front."""
    from ..tracking.tasklog import TaskLog

    if not isinstance(log, TaskLog):
        raise ValidationError(
            "log", log, "must be a TaskLog (vidu_nb.TaskLog(path) opens the log file)"
        )


#: The label of a group of tasks that lack the grouping column (no experiment, a task tracked
#: by id only, so no model or duration).
MISSING = "(none)"


def named_groups(totals: Any) -> Any:
    """``totals`` with every missing group label (NA, NaN, NaT, None) written ``MISSING``.

    pandas' Styler looks rows up by label to draw the credits bar, and a label holding NA
    (tasks recorded without an experiment, in a table by experiment and model) is never found:
    the table raised ``KeyError``. A label ``MISSING`` that a real value already uses gets
    a mark appended, so two groups never share one label.
    """
    import pandas as pd

    index = totals.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    if not any(level.isna().any() for level in levels):
        return totals
    arrays = []
    for level in levels:
        label = MISSING
        while label in set(level.dropna().astype(str)):
            label += "*"
        arrays.append([label if pd.isna(v) else v for v in level.astype(object)])
    out = totals.copy()
    out.index = pd.MultiIndex.from_arrays(arrays, names=index.names)
    if index.nlevels == 1:
        out.index = out.index.get_level_values(0)
    return out


def credits_table(log: Any, by: str | list[str] = "model", **filters: Any) -> Any:
    """Totals per group as a pandas Styler (credits bar, integers, per-second rate).

    Group labels (experiment names are free text) are HTML-escaped: Styler does not by default.
    Tasks without a value of a grouping column (say, recorded without an experiment) are one
    group labelled ``(none)``.
    """
    import pandas as pd

    check_log(log)
    totals = named_groups(ledger_for(log).totals(by, **filters))
    # All zero (only failed or pending tasks): pandas would divide by a zero range and warn.
    top = totals["credits"].max()
    vmax = 1 if pd.isna(top) or top <= 0 else None
    caption = f"Credits by {by if isinstance(by, str) else ', '.join(by)}"
    return (
        totals.style.format(
            {"credits_per_s": "{:.2f}", "credits": "{:,}", "pending_credits": "{:,}"},
            na_rep="\u2014",
            escape="html",
        )
        .format_index(escape="html", na_rep="\u2014")
        .bar(subset=["credits"], color="#8ab4f8", vmax=vmax)
        .set_caption(esc(caption))
    )


#: Each panel: the ledger grouping, its title and its x-axis label.
_PANELS = (
    ("model", "by model", "model"),
    ("resolution", "by resolution", "resolution"),
    ("duration", "by duration", "duration (s)"),
    ("day", "per day (UTC)", "day"),
)


def credits_figure(log: Any, **filters: Any) -> Any:
    """Four bar charts of credits: by model, resolution, duration, and per day.

    Bars everywhere (one day is one bar, not a lone dot), each labelled with its total.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no backend switch

    check_log(log)
    ledger = ledger_for(log)
    fig = Figure(figsize=(10, 6), layout="constrained")
    axes = fig.subplots(2, 2)
    for ax, (by, title, xlabel) in zip(axes.flat, _PANELS, strict=True):
        totals = named_groups(ledger.totals(by, **filters))["credits"].fillna(0).astype(float)
        labels = [str(i) for i in totals.index]
        bars = ax.bar(labels, totals.to_numpy(), color="#5b8def", width=0.6)
        ax.bar_label(bars, fmt="{:,.0f}", padding=2, fontsize=8)
        ax.set_title(f"credits {title}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("credits")
        ax.margins(y=0.15)  # room for the labels above the bars
        pad = max(0.0, (3 - len(labels)) / 2)  # one or two bars stay bar-wide, not panel-wide
        ax.set_xlim(-0.5 - pad, len(labels) - 0.5 + pad)
        ax.tick_params(axis="x", labelrotation=30 if by in ("model", "day") else 0)
        if not labels:
            ax.text(0.5, 0.5, "no tasks", ha="center", va="center", transform=ax.transAxes)
    return fig


class CreditsView(StillDisplay, w.VBox):
    """The table and the charts; its output also carries both as HTML and a PNG, for places
    where no widget runs."""

    def __init__(self, table_html: str, table_text: str, chart_png: bytes) -> None:
        self.table_html, self.table_text, self.chart_png = table_html, table_text, chart_png
        super().__init__([w.HTML(table_html), w.Image(value=chart_png, format="png")])
        self.add_class("vidu-credits")

    def still_parts(self) -> tuple[str, str]:
        chart = (
            f'<img class="vidu-credits-chart" src="{data_uri(self.chart_png, "image/png")}" '
            'alt="credits by model, resolution, duration and day" style="max-width:100%">'
        )
        html = f'<div class="vidu-credits-still">{self.table_html}{chart}</div>'
        return html, f"CreditsView\n{self.table_text}"


def credits_view(log: Any, by: str | list[str] = "model", **filters: Any) -> CreditsView:
    """The summary table and the charts in one widget (works in Lab, Notebook 7, Voila)."""
    import io

    check_log(log)
    styler = credits_table(log, by, **filters)
    out = io.BytesIO()
    credits_figure(log, **filters).savefig(out, format="png", dpi=80)
    return CreditsView(styler.to_html(), styler.data.to_string(), out.getvalue())
