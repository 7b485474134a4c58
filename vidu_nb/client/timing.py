"""``Timing``: how long tasks take to process, learned from the tasks already seen (pure).

A waiter that knows a generation takes about 40 s can sleep through most of it and check
densely only when the end is due: fewer requests *and* a shorter detection lag than a fixed
poller. Nothing is ever observed exactly: a check says only "not started / processing /
finished" at one instant. So each finished task yields an *interval* for its processing time:
started in ``(a, b]`` (last check before processing, first check in it), finished in
``(c, d]`` (last unfinished check, first final one), hence ``D`` in ``(c - b, d - a)``.
Intervals of one setting are intersected (robustly, by quantiles), which gets tight quickly
when the service is steady and stays honest (wide) when it is not.

Settings are keyed by ``(model, resolution, duration, off_peak)``. An unseen key is predicted
from the same model and resolution at other durations (a straight line through them), else
scaled from any known key by duration x pixels (a wide window open from the start, as the
guess may be far off), else not at all: then the schedule falls back to plain backoff.
Queueing time depends on everybody's load, so it is not predicted; the forecast starts once a
task is seen processing.

All times are in the caller's seconds (monotonic clock for live observations), so a fast
simulator simply yields short durations; nothing here knows about real-time scales.
"""

from __future__ import annotations

import math
import re
import statistics
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import states
from .task import Task

#: ``(model, resolution, duration, off_peak)``
Key = tuple[str, str, int, bool]


def task_key(task: Task | None) -> Key | None:
    """The timing key of a task from its submit echo, or None when the echo lacks it."""
    if task is None:
        return None
    req = task.request or {}
    return make_key(task.model or req.get("model"), req.get("resolution"), req.get("duration"),
                    task.off_peak if task.off_peak is not None else req.get("off_peak"))  # fmt: skip


def make_key(model: Any, resolution: Any, duration: Any, off_peak: Any) -> Key | None:
    try:
        seconds = int(duration)
    except (TypeError, ValueError):
        return None
    if not model or not resolution or seconds <= 0:
        return None
    return (str(model), str(resolution), seconds, bool(off_peak))


def pixels(resolution: str) -> float:
    """Frame pixels of ``"720p"``-style names (16:9), for scaling a known duration."""
    m = re.fullmatch(r"(\d+)p", resolution.strip().lower())
    height = int(m.group(1)) if m else 720
    return height * height * 16 / 9


@dataclass(frozen=True)
class Forecast:
    """When a task should finish, in seconds from now: between ``early`` and ``late``
    (negative ``late`` means it is overdue by that much)."""

    early: float
    late: float


@dataclass
class Watch:
    """What one waiter saw of one task: check instants by state (caller's clock)."""

    key: Key | None
    not_started: float | None = None  # last check that saw created/queueing
    started: tuple[float | None, float] | None = None  # processing began in (a, b]
    unfinished: float | None = None  # last check that saw an unfinished state

    def seen(self, state: str, sent: float, answered: float | None = None) -> None:
        """A check sent at ``sent`` and answered at ``answered`` said ``state``. (The server
        looked in between: "not yet" counts from the send, "already" from the answer.)"""
        answered = sent if answered is None else answered
        if states.is_final(state):
            return
        self.unfinished = sent
        # Waiting states (created, queueing, scheduled, an unknown one) count as not started.
        if states.progress(state) < states.progress(states.PROCESSING):
            self.not_started = sent
        elif self.started is None:
            self.started = (self.not_started, answered)

    def processing_interval(self, finished_at: float) -> tuple[float, float] | None:
        """Bounds of the processing time once the task is seen final at ``finished_at``."""
        if self.started is None or self.unfinished is None:
            return None
        a, b = self.started
        if a is None:
            return None
        return (max(0.0, self.unfinished - b), finished_at - a)


class Timing:
    """Recent processing-time intervals per key; thread-safe, kept in memory.

    ``window``: observations kept per key (recent ones describe today's service best);
    ``margin``: relative padding of every prediction.
    """

    def __init__(self, window: int = 20, margin: float = 0.03) -> None:
        if window < 1:
            raise ValueError("Timing.window must be >= 1")
        self.window = window
        self.margin = margin
        self._obs: dict[Key, deque[tuple[float, float]]] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Timing({len(self._obs)} settings known)"

    def __len__(self) -> int:
        with self._lock:
            return sum(len(v) for v in self._obs.values())

    def observe(self, key: Key | None, low: float, high: float | None = None) -> None:
        """Record that processing for ``key`` took between ``low`` and ``high`` seconds."""
        high = low if high is None else high
        if key is None or not 0 <= low <= high:
            return
        with self._lock:
            self._obs.setdefault(key, deque(maxlen=self.window)).append((low, high))

    def learn(self, watch: Watch, state: str, at: float) -> None:
        """Learn from a task seen ``state`` at ``at`` (only successes: failures end early)."""
        if states.is_success(state):
            bounds = watch.processing_interval(at)
            if bounds is not None:
                self.observe(watch.key, *bounds)

    def record(self, watch: Watch, task: Task, sent: float, answered: float) -> None:
        """A check sent at ``sent`` answered ``task`` at ``answered``: note what it said of the
        watched task and learn from it when it succeeded (shared by ``wait`` and the poller)."""
        watch.key = watch.key or task_key(task)
        watch.seen(task.state, sent, answered)
        self.learn(watch, task.state, answered)

    def learn_history(self, rows: Iterable[Sequence[Any]]) -> int:
        """Learn from a task log's successes (``TaskLog.timing_history`` rows, see
        ``history``); returns how many."""
        learned = history(rows)
        for key, seconds in learned:
            self.observe(key, seconds)
        return len(learned)

    def duration(self, key: Key | None) -> tuple[float, float] | None:
        """Likely processing time ``(low, high)`` for ``key``, or None when unknown."""
        if key is None:
            return None
        with self._lock:
            known = {k: _window(list(v)) for k, v in self._obs.items()}
        group = [
            (k[2], *w) for k, w in known.items() if (k[0], k[1], k[3]) == (key[0], key[1], key[3])
        ]
        line = _line(group, key[2]) if len({d for d, _, _ in group}) >= 2 else None
        span = known.get(key)
        if span is not None and line is not None:  # both: their overlap, when they agree
            both = (max(span[0], line[0]), min(span[1], line[1]))
            span = both if both[0] <= both[1] else span
        span = span or line
        if span is not None:
            pad = self.margin * (span[0] + span[1]) / 2
            return (max(0.0, span[0] - pad), span[1] + pad)
        if known:  # another resolution or model: scale by duration x pixels, widely
            mids = sorted((lo + hi) / 2 / (k[2] * pixels(k[1])) for k, (lo, hi) in known.items())
            guess = mids[len(mids) // 2] * key[2] * pixels(key[1])
            # A fixed overhead per task makes this several-fold off either way, so it sets
            # only the pace of checks, never a long sleep: the window opens at once.
            return (0.0, 1.5 * guess)
        return None

    def forecast(self, watch: Watch, now: float) -> Forecast | None:
        """When the watched task should finish, or None (not processing yet, or unknown)."""
        if watch.started is None:
            return None
        span = self.duration(watch.key)
        if span is None:
            return None
        a, b = watch.started
        early = (a if a is not None else b - span[1]) + span[0]
        return Forecast(max(early, b) - now, b + span[1] - now)


def _q(values: list[float], p: float) -> float:
    """The ``p`` quantile of sorted ``values`` (linear interpolation)."""
    pos = p * (len(values) - 1)
    i = int(pos)
    j = min(i + 1, len(values) - 1)
    return values[i] + (values[j] - values[i]) * (pos - i)


def _window(obs: list[tuple[float, float]]) -> tuple[float, float]:
    """Robust intersection of intervals; when they disagree, the spread of their centres."""
    lo = _q(sorted(o[0] for o in obs), 0.8)
    hi = _q(sorted(o[1] for o in obs), 0.2)
    if lo <= hi:
        return (lo, hi)
    mids = sorted((a + b) / 2 for a, b in obs)
    return (_q(mids, 0.1), _q(mids, 0.9))


def _line(points: list[tuple[int, float, float]], x: int) -> tuple[float, float]:
    """A line through duration -> ``(low, high)`` intervals, evaluated at ``x``, as a window.

    Weighted least squares on the centres (tight intervals count more); the window's half
    width is how far the line misses the intervals it was fitted on (robustly).
    """
    w = [1.0 / max(hi - lo, 1e-3 * max(hi, 1e-9), 1e-9) ** 2 for _, lo, hi in points]
    ys = [(lo + hi) / 2 for _, lo, hi in points]
    sw = sum(w)
    mx = sum(wi * p[0] for wi, p in zip(w, points, strict=True)) / sw
    my = sum(wi * y for wi, y in zip(w, ys, strict=True)) / sw
    sxx = sum(wi * (p[0] - mx) ** 2 for wi, p in zip(w, points, strict=True))
    sxy = sum(wi * (p[0] - mx) * (y - my) for wi, p, y in zip(w, points, ys, strict=True))
    slope = sxy / sxx if sxx > 0 else 0.0
    fits = [my + slope * (d - mx) for d, _, _ in points]
    misses = sorted(max(lo - f, f - hi, 0.0) for f, (_, lo, hi) in zip(fits, points, strict=True))
    miss = _q(misses, 0.9)
    guess = max(my + slope * (x - mx), 0.0)
    return (max(0.0, guess - miss), guess + miss)


def history(rows: Iterable[Sequence[Any]]) -> list[tuple[Key, float]]:
    """``(key, seconds)`` of recent successes, from a task log's rows ``(model, resolution,
    duration, off_peak, seconds)``, oldest first (``TaskLog.timing_history`` reads them, for
    one service: another service, or simulator speed, has other durations).

    The logged times are when the poller *saw* each state, a slight underestimate.
    """
    out: list[tuple[Key, float]] = []
    for model, resolution, duration, off_peak, seconds in rows:
        key = make_key(model, resolution, duration, off_peak)
        if key is not None and seconds is not None and 0 < seconds <= MAX_PROCESSING:
            out.append((key, float(seconds)))
    return _without_gaps(out)


#: Longer than any generation ("tens of seconds to minutes"): a watcher was away meanwhile.
MAX_PROCESSING = 3600.0
GAP_SLACK = 10.0


def _without_gaps(rows: list[tuple[Key, float]]) -> list[tuple[Key, float]]:
    """Drop times that span a kernel restart: seen processing before it, finished after.

    The log holds when a state was *seen*, so such a task looks as long as the restart took.
    Where a setting has 3 or more times, one over 3x their median (plus ``GAP_SLACK``, so the
    jitter of sub-second simulated runs is no gap) is taken for such a gap.
    """
    by_key: dict[Key, list[float]] = {}
    for key, seconds in rows:
        by_key.setdefault(key, []).append(seconds)
    limit = {k: 3 * statistics.median(v) + GAP_SLACK for k, v in by_key.items() if len(v) >= 3}
    return [(k, s) for k, s in rows if s <= limit.get(k, math.inf)]
