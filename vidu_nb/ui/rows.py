"""One shape for "a task" in the UI, whatever it came from: a log row, a DataFrame row, a Task.

The views (cards, players, grids) read a ``TaskView``; this module is the only place that knows
the task log's column names. Pure logic (no widgets), tested directly.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from .. import states
from ..errors import ValidationError
from ..request.sweep import LABEL_FIELDS, label_for, varying_keys
from ..tracking.tasklog.frame import GENERATION_END, GENERATION_START

#: Progress steps a card moves through, and the fraction of the bar each one shows.
STEPS = ("submitted", states.CREATED, states.QUEUEING, states.PROCESSING, states.SUCCESS)


#: What the sweep progress calls a state: words a user tells apart (``queued`` is ours, held
#: before sending; ``queueing`` is the service's queue), in the order a task passes them.
#: States shown as data (cards, the DataFrame, ``SweepRun.counts()``) keep their raw names.
STATE_WORDS = {
    states.QUEUED: "waiting to send",
    states.SUBMITTING: "being sent",
    states.UNCERTAIN: "sent, answer lost",
    states.CREATED: "accepted",
    states.QUEUEING: "in the service's queue",
    states.PROCESSING: "generating",
    states.SUCCESS: "done",
    states.FAILED: "failed",
    states.CANCELLED: "cancelled",
}
_WORDS_ORDER = {state: i for i, state in enumerate(STATE_WORDS)}


def state_words(state: Any) -> str:
    """A state in words for progress lines; a state without words is shown as it is."""
    s = states.norm(state)
    if states.is_cancelled(s):
        s = states.CANCELLED
    return STATE_WORDS.get(s) or str(state)


def words_order(state: Any) -> tuple[int, str]:
    """Sort key: the order a task passes its states; others (unknown, undocumented) after
    ``queueing``, the step they stand for, by name."""
    s = states.norm(state)
    if states.is_cancelled(s):
        s = states.CANCELLED
    known = _WORDS_ORDER.get(s)
    return (known, "") if known is not None else (_WORDS_ORDER[states.QUEUEING], str(state))


def settled(state: Any) -> bool:
    """Nothing more will happen to the task by itself: a final state (any cancelled spelling
    included), or ``uncertain`` (the answer was lost: settling it needs the user)."""
    return states.is_final(state) or states.norm(state) == states.UNCERTAIN


def step_of(state: Any) -> int:
    """The index in ``STEPS`` a state has reached. Ours (queued, submitting, uncertain) and
    an empty state are "submitted"; a state the service may add is placed by
    ``states.progress`` (an unknown one counts as waiting, like ``queueing``)."""
    s = states.norm(state)
    if not s or (s in states.LOCAL_STATES and not states.is_cancelled(s)):
        return 0
    return 1 + states.progress(s)


def _clean(value: Any) -> Any:
    """pandas gives NaN/NaT/NA for missing values; the views want ``None``."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime(warn=False)
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return value.item()  # numpy scalar -> Python
        except (ValueError, AttributeError):
            return value
    return value


@dataclass
class TaskView:
    """The fields the UI shows for one task (``row`` keeps every column for labels)."""

    row: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, obj: Any, log: Any = None) -> TaskView:
        """From a task id (needs ``log``), a log row dict, a DataFrame row or a ``Task``."""
        if isinstance(obj, TaskView):
            return obj
        if isinstance(obj, str):
            row = log.get(obj) if log is not None else None
            return cls(_row(row) if row else {"task_id": obj, "state": "unknown"})
        if isinstance(obj, Mapping):
            return cls(_row(obj))
        if hasattr(obj, "to_dict") and hasattr(obj, "index"):  # pandas Series
            return cls(_row(obj.to_dict()))
        if hasattr(obj, "creations") and hasattr(obj, "state"):  # vidu_nb.Task
            base = dict(log.get(obj.id) or {}) if log is not None else {}
            base.update(_from_task(obj))
            return cls(base)
        raise ValidationError("task", obj, "must be a task id, a log row or a Task")

    def get(self, key: str, default: Any = None) -> Any:
        value = _clean(self.row.get(key))
        return default if value is None else value

    @property
    def task_id(self) -> str:
        return str(self.get("task_id", ""))

    @property
    def state(self) -> str:
        return str(self.get("state", "unknown"))

    @property
    def done(self) -> bool:
        return settled(self.state)

    def generation_seconds(self) -> float | None:
        """The log's ``generation_s`` (``tasklog.frame.GENERATION_START``): processing time,
        from submission when the log never saw the task processing."""
        starts = (epoch_of(self.get(col)) for col in GENERATION_START)
        start = next((t for t in starts if t is not None), None)
        end = epoch_of(self.get(GENERATION_END))
        if start is None or end is None:
            return None
        return max(0.0, end - start)

    def elapsed_seconds(self, now: float) -> float | None:
        start = epoch_of(self.get("submitted_at"))
        if start is None:
            return None
        end = epoch_of(self.get("finished_at")) if self.done else None
        return max(0.0, (end if end is not None else now) - start)

    def progress(self) -> tuple[int, int]:
        """(step reached, number of steps) along created -> queueing -> processing -> done.

        A row without a task id was never answered by the service: whatever its state says
        (a local one, or a state a later release adds), it has reached no service step."""
        reached = step_of(self.state)
        if not self.task_id and not states.is_final(self.state):
            reached = 0
        return reached, len(STEPS) - 1

    def credits_text(self) -> str:
        credits = self.get("credits")
        return "credits: \u2014" if credits is None else f"{int(credits):,} credits"

    def seed_text(self) -> str:
        seed = self.get("seed")
        return "seed: \u2014" if seed is None else f"seed {int(seed)}"


def _row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A log row's values for the views. ``seed`` is the one the service used; a request it
    has not answered (queued, being sent, uncertain) shows the seed it asks for, so grids and
    labels put it with the tasks of that seed, not under "seed: default"."""
    row = {k: _clean(v) for k, v in values.items()}
    if row.get("seed") is None and row.get("seed_requested") is not None:
        row["seed"] = row["seed_requested"]
    return row


def _from_task(task: Any) -> dict[str, Any]:
    req = dict(getattr(task, "request", {}) or {})
    row = {k: req.get(k) for k in LABEL_FIELDS if k in req}
    row.update(
        task_id=task.id,
        state=task.state,
        model=task.model or req.get("model"),
        seed=task.seed,
        credits=task.credits,
        err_code=task.err_code,
        video_url=task.video_url or None,
        cover_url=task.cover_url or None,
        off_peak=task.off_peak,
    )
    return row


def epoch_of(value: Any) -> float | None:
    value = _clean(value)
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return None


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "\u2014"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def is_loopback(url: str | None) -> bool:
    """A URL only the kernel's machine can reach (the browser may be elsewhere, e.g. Binder)."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")


def labels(views: list[TaskView]) -> tuple[list[str], list[str]]:
    """The parameters that vary among the tasks, and a plain-text label for each task (its
    stars and pick appended when judged)."""
    keys = varying_keys([v.row for v in views])
    return keys, [with_judgment(label_for(v.row, keys) or v.task_id, v) for v in views]


def judgment_text(view: TaskView) -> str:
    """A task's judgment, short and in words (the UI draws no emoji glyphs, which fonts render
    unevenly): ``"4/5 picked"``, ``"rejected"``, ``""``."""
    rating, pick = view.get("rating"), view.get("pick")
    parts = []
    if isinstance(rating, (int, float)) and not isinstance(rating, bool) and rating:
        parts.append(f"{int(rating)}/5")
    if pick is True or pick is False:
        parts.append("picked" if pick else "rejected")
    return " ".join(parts)


def with_judgment(label: str, view: TaskView) -> str:
    """``label`` followed by the task's judgment, when it has one."""
    judged = judgment_text(view)
    return f"{label} \u00b7 {judged}" if label and judged else label or judged


def css_token(value: Any) -> str:
    """A server-supplied word (a state) made safe as a CSS class suffix."""
    return re.sub(r"[^a-z0-9_-]+", "_", str(value).lower())[:40] or "unknown"


def esc(value: Any) -> str:
    """HTML-escape anything user- or server-controlled before it reaches an HTML widget."""
    return html.escape("" if value is None else str(value), quote=True)
