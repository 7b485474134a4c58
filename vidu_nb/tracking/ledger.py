"""Credit arithmetic over the task log, and estimates for a request before it is sent.

The ``credits`` the service reports are the truth; rates in ``models.py`` are only for
estimates. An estimate starts from the per-second rate, labelled with its basis (published in
today's credits, unverified: published before credits were re-denominated x10 and scaled, or a
placeholder guess), and is replaced by what was actually charged for the same model,
resolution, duration, off-peak and recommended-prompt settings once the log has such tasks.
Failed tasks are refunded by the service and count as 0; unfinished tasks are shown apart as
``pending_credits`` (quoted, not yet final).

The learned table is one ``GROUP BY`` query the first time, then kept up to date with the tasks
that succeeded since (a few indexed lookups), so a live form can ask for an estimate on every
keystroke while a poller writes to a big log.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import states
from ..errors import ValidationError
from ..request.models import IS_REC_CREDITS, ModelSpec, get_model, lookup_model

if TYPE_CHECKING:
    import pandas as pd

    from .tasklog import TaskLog

#: Grouping keys accepted by ``Ledger.totals``.
GROUPS = ("day", "experiment", "model", "resolution", "duration", "off_peak", "state", "user")
_KEY_FIELDS = ("model", "resolution", "duration", "off_peak", "is_rec")
Key = tuple[str, str, int, bool, bool]


@dataclass(frozen=True)
class Estimate:
    """Credits a request is expected to cost; ``source`` says where the figure comes from:
    ``"learned from N tasks"`` (what was charged), else the basis of the model's rate:
    ``"published rate"``, ``"unverified rate"`` (published before the x10 re-denomination of
    credits, scaled) or ``"placeholder rate"`` (a guess)."""

    credits: int
    source: str
    detail: str

    @property
    def learned(self) -> bool:
        return self.source.startswith("learned")

    def __str__(self) -> str:
        return f"~{self.credits} credits ({self.source})"


def settings_key(request_or_settings: Any) -> Key:
    """(model, resolution, duration, off_peak, is_rec) of a request or a settings mapping,
    with the model's defaults filled in."""
    return _settings(request_or_settings)[0]


def _settings(request_or_settings: Any) -> tuple[Key, ModelSpec]:
    """The settings key and the model's row (a request's own row when it allows an unknown
    model; a mapping may say ``allow_unknown_model`` too)."""
    if hasattr(request_or_settings, "resolved"):
        s: Mapping[str, Any] = request_or_settings.resolved()
        spec = request_or_settings.model_spec
    elif isinstance(request_or_settings, Mapping):
        s = request_or_settings
        allow = bool(s.get("allow_unknown_model"))
        spec = lookup_model(str(s.get("model") or "viduq3-pro"), allow)
    else:
        raise ValidationError(
            "request", type(request_or_settings).__name__, "must be a request or a mapping"
        )
    duration = s.get("duration")
    duration = int(duration) if duration is not None else spec.default_duration
    resolution = str(s.get("resolution") or spec.default_resolution_for(duration))
    key = (spec.name, resolution, duration, bool(s.get("off_peak")), bool(s.get("is_rec")))
    return key, spec


#: What each rate basis means for the user, after the row's own note.
_BASIS_TEXT = {
    "published": "",
    "unverified": "; unverified in today's credits: a cautious figure until tasks are charged",
    "placeholder": "; no published price for {model}: a guess until tasks are charged",
}


def rate_estimate(key: Key, spec: ModelSpec | None = None) -> Estimate:
    """The estimate from the per-second rate table alone (``spec``: the model's row, for a
    model absent from the table)."""
    model, resolution, duration, off_peak, is_rec = key
    if spec is None or spec.name != model:
        spec = get_model(model)
    rate = spec.estimate_rate(resolution, off_peak)
    credits = math.ceil(round(rate * duration, 6)) + (IS_REC_CREDITS if is_rec else 0)
    source = f"{spec.rate_basis} rate"
    detail = f"{rate:g} credits/s x {duration} s at {resolution}"
    if off_peak:
        detail += " (off-peak)"
    if is_rec:
        detail += f" + {IS_REC_CREDITS} for the recommended prompt"
    if spec.rate_note:
        detail += f" ({spec.rate_note})"
    detail += _BASIS_TEXT[spec.rate_basis].format(model=model)
    return Estimate(credits, source, detail)


def _median(histogram: list[tuple[int, int]]) -> float:
    """Median of values given as sorted (value, count) pairs."""
    total = sum(n for _, n in histogram)
    lo_i, hi_i = (total - 1) // 2, total // 2
    seen, lo, hi = 0, None, None
    for value, n in histogram:
        if lo is None and lo_i < seen + n:
            lo = value
        if hi_i < seen + n:
            hi = value
            break
        seen += n
    assert lo is not None and hi is not None
    return (lo + hi) / 2


class Ledger:
    """Credits from a task log: per task, totals by group, per second, and estimates."""

    def __init__(self, log: TaskLog) -> None:
        self.log = log
        self._lock = threading.Lock()
        self._version: object = None
        self._mark: tuple[int, int] | None = None
        self._charges: dict[Key, dict[int, int]] = {}  # credits -> tasks, per settings
        self._learned: dict[Key, tuple[int, int]] = {}
        #: The last ``per_task`` frame: (log version, filters, frame).
        self._per_task: tuple[object, str, pd.DataFrame] | None = None

    # -- estimates -----------------------------------------------------------------------
    def learned(self) -> dict[Key, tuple[int, int]]:
        """Charged credits per settings key: ``{key: (median credits rounded up, tasks)}``,
        cached until the log changes. After the first read only the tasks that succeeded
        since are read (``TaskLog.charged_since``), so a poller writing every few seconds
        does not make each keystroke in the form read the whole log again."""
        with self._lock:
            version = self.log.version
            if version != self._version:
                self._mark, full, rows = self.log.charged_since(self._mark)
                if full:
                    self._charges = {}
                keys: set[Key] = set()
                for *fields, credits, n in rows:
                    model, res, dur, off, rec = fields
                    key = (model, res, int(dur), bool(off), bool(rec))
                    counts = self._charges.setdefault(key, {})
                    counts[int(credits)] = counts.get(int(credits), 0) + int(n)
                    keys.add(key)
                learned = {} if full else dict(self._learned)
                for k in keys:
                    histogram = sorted(self._charges[k].items())
                    learned[k] = (math.ceil(_median(histogram)), sum(n for _, n in histogram))
                self._learned = learned
                self._version = version
            return self._learned

    def estimate(self, request_or_settings: Any) -> Estimate:
        key, spec = _settings(request_or_settings)
        from_rate = rate_estimate(key, spec)
        hit = self.learned().get(key)
        if hit is None:
            return from_rate
        credits, n = hit
        model, resolution, duration, off_peak, is_rec = key
        what = f"{model} {resolution} {duration} s" + (" off-peak" if off_peak else "")
        detail = f"median charge of {n} successful task{'s' if n != 1 else ''} with {what}"
        detail += f" (the {from_rate.source} gives {from_rate.credits})"
        return Estimate(credits, f"learned from {n} task{'s' if n != 1 else ''}", detail)

    # -- figures -------------------------------------------------------------------------
    def per_task(self, **filters: Any) -> pd.DataFrame:
        """One row per task: settings, state, charged credits and credits per video second."""
        key = repr(sorted(filters.items()))
        with self._lock:
            version = self.log.version
            if self._per_task is not None and self._per_task[:2] == (version, key):
                return self._per_task[2].copy()
        cols = ["task_id", "experiment", "model", "resolution", "duration", "off_peak"]
        cols += ["is_rec", "state", "submitted_at", "submitted_by"]
        df = self.log.to_frame(**filters, columns=[*cols, "credits"])
        out = df[cols].copy()
        # Failed and cancelled tasks are refunded (tasks.md: cancelled tasks are refunded),
        # whatever the service's spelling; an unknown state is still pending.
        state = _normal_states(df["state"])
        refunded = state.isin([states.FAILED, *states.CANCELLED_SPELLINGS])
        final = refunded | (state == states.SUCCESS)
        out["credits"] = df["credits"].where(final)
        out.loc[refunded, "credits"] = 0
        out["credits"] = out["credits"].astype("Int64")
        out["pending_credits"] = df["credits"].where(~final).astype("Int64")
        seconds = df["duration"].where(state == states.SUCCESS)
        out["credits_per_s"] = (out["credits"] / seconds).astype("Float64")
        with self._lock:  # the credits view asks five times: one table, four charts
            self._per_task = (version, key, out)
        return out.copy()

    def totals(self, by: str | Iterable[str] = "model", **filters: Any) -> pd.DataFrame:
        """Totals grouped by ``day`` (UTC), ``experiment``, ``model``, ``resolution``,
        ``duration``, ``off_peak``, ``state``, ``user`` (who asked: ``submitted_by``; one or
        several). ``filters`` are ``to_frame``'s (``user="ana"``: her tasks only)."""
        import pandas as pd

        keys = [by] if isinstance(by, str) else list(by)
        for k in keys:
            if k not in GROUPS:
                raise ValidationError("by", k, "must be one of " + ", ".join(GROUPS))
        tasks = self.per_task(**filters)
        tasks["day"] = tasks["submitted_at"].dt.tz_convert("UTC").dt.date
        tasks["user"] = tasks["submitted_by"]
        state = _normal_states(tasks["state"])
        tasks["succeeded"] = state == states.SUCCESS
        tasks["failed"] = state == states.FAILED
        tasks["video_s"] = tasks["duration"].where(tasks["succeeded"])
        for k in keys:
            if isinstance(tasks[k].dtype, pd.CategoricalDtype):
                tasks[k] = tasks[k].astype("string")
        grouped = tasks.groupby(keys, dropna=False, sort=True)
        out = grouped.agg(
            tasks=("state", "size"),
            succeeded=("succeeded", "sum"),
            failed=("failed", "sum"),
            credits=("credits", "sum"),
            pending_credits=("pending_credits", "sum"),
            video_s=("video_s", "sum"),
        )
        for col in out.columns:
            out[col] = out[col].astype("Int64")
        out["credits_per_s"] = (out["credits"] / out["video_s"].replace(0, pd.NA)).astype("Float64")
        return out

    def total(self, **filters: Any) -> int:
        """Credits charged by finished tasks."""
        return int(self.per_task(**filters)["credits"].sum())

    def credits_per_second(self, **filters: Any) -> float:
        """Charged credits per second of successfully generated video (NaN when none)."""
        t = self.per_task(**filters)
        seconds = t["duration"].where(_normal_states(t["state"]) == states.SUCCESS).sum()
        return float(t["credits"].sum() / seconds) if seconds else math.nan


def _normal_states(column: pd.Series) -> pd.Series:
    """``states.norm`` over a column: the raw text stays in the log, questions use this."""
    return column.astype("string").str.strip().str.lower()


_LEDGERS: weakref.WeakKeyDictionary[Any, Ledger] = weakref.WeakKeyDictionary()


def ledger_for(log: TaskLog) -> Ledger:
    """The shared ``Ledger`` of a log (so its learned table is cached once per log)."""
    led = _LEDGERS.get(log)
    if led is None:
        led = _LEDGERS[log] = Ledger(log)
    return led


def estimate(request_or_settings: Any, log: TaskLog | None = None) -> Estimate:
    """Expected credits for a request (or a mapping of its settings), learned from ``log``
    when it holds charged tasks with the same settings, else from the rate table."""
    if log is None:
        return rate_estimate(*_settings(request_or_settings))
    return ledger_for(log).estimate(request_or_settings)
