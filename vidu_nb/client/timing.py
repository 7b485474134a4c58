"""``Timing``: how long tasks take to process, learned from the tasks already seen (pure).

A waiter that knows a generation takes 40 to 60 s can sleep through most of it and check
densely only where tasks usually end: fewer requests *and* a shorter detection delay than a
fixed poller. Nothing is ever observed exactly: a check says only "waiting / processing /
finished" at one instant. A task's start lies between its last waiting check and its first
processing one; its time is counted from the middle (``Watch.origin``). A finished task gives
an interval for its end (last unfinished check, first final one); a task still running gives
a lower bound, and counts as such: a batch's quick tasks finish first, and learning only from
them would make every task still running look overdue (``survival`` explains the estimate and
the check plan built from it).

Settings are keyed by ``(model, resolution, duration, off_peak)``; each keeps its ``window``
most recently started tasks, finished or running. An unseen key is predicted from the same
model and resolution at other durations (a straight line through their medians), else scaled
from any known key by duration x pixels (a wide window open from the start, as the guess may
be far off), else not at all: then the schedule falls back to plain backoff. Queueing time
depends on everybody's load, so it is not predicted; the forecast starts once a task is seen
processing. Only successes are learned: failed and cancelled tasks end early.

All times are in the caller's seconds (monotonic clock for live observations), so a fast
simulator simply yields short durations; nothing here knows about real-time scales.
"""

from __future__ import annotations

import math
import re
import statistics
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..states import is_final, is_success, progress
from .survival import Durations, estimate
from .task import Task

#: ``(model, resolution, duration, off_peak)``
Key = tuple[str, str, int, bool]
#: How many tasks a guess from other settings counts as.
GUESS_WEIGHT = 6


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
    """When a task should finish, in seconds from now: most likely between ``early`` and
    ``late`` (negative ``late``: overdue by that much). With ``durations`` (from ``Timing``)
    the schedule plans its checks on the whole curve (``next_check``); without, on the window.
    """

    early: float
    late: float
    durations: Durations | None = field(default=None, repr=False, compare=False)
    elapsed: float = 0.0  # processing time so far (from the middle of the start bracket)

    def next_check(self, lag: float) -> float | None:
        """Seconds from now to the next planned check for a mean delay of ``lag`` of the
        processing time, or None without a curve."""
        if self.durations is None:
            return None
        x = max(self.elapsed, 0.0)
        return self.durations.plan(lag).next(x) - x


@dataclass(eq=False)
class Watch:
    """What one waiter saw of one task: check instants by state (caller's clock).

    ``submitted``: when the task was sent, if known (bounds its start when no check saw it
    waiting); ``checks``: how many answers it has had (the schedule's per-task budget).
    """

    key: Key | None
    not_started: float | None = None  # last check that saw created/queueing
    started: tuple[float | None, float] | None = None  # processing began in (a, b]
    unfinished: float | None = None  # last check that saw an unfinished state
    submitted: float | None = None
    checks: int = 0
    rank: int | None = None  # tasks (of any setting) already processing when it started

    def seen(self, state: str, sent: float, answered: float | None = None) -> None:
        """A check sent at ``sent`` and answered at ``answered`` said ``state``. (The server
        looked in between: "not yet" counts from the send, "already" from the answer.)"""
        answered = sent if answered is None else answered
        self.checks += 1
        final = is_final(state)
        if not final and progress(state) < 2:
            self.not_started = sent
        elif not final and self.started is None:
            self.started = (self.not_started, answered)
        if not final:
            self.unfinished = sent

    @property
    def origin(self) -> float | None:
        """Where its processing time counts from: the middle of the start bracket (from the
        submission when no check saw it waiting), or None before it is seen processing."""
        if self.started is None:
            return None
        a, b = self.started
        a = a if a is not None else self.submitted
        return b if a is None else (a + b) / 2

    def processing_interval(self, finished_at: float) -> tuple[float, float] | None:
        """Bounds of its processing time (from ``origin``) once seen final at ``finished_at``;
        None when no check saw it waiting (its start is unknown)."""
        if self.started is None or self.unfinished is None or self.started[0] is None:
            return None
        origin = self.origin
        assert origin is not None
        return (max(0.0, self.unfinished - origin), finished_at - origin)

    def running_for(self) -> float | None:
        """Processing time it is known to have lasted (its last unfinished check)."""
        origin = self.origin
        if origin is None or self.unfinished is None:
            return None
        return self.unfinished - origin


class _Seen:
    """One task in a setting's window: its end interval, or its watch while it runs."""

    __slots__ = ("low", "high", "watch")

    def __init__(self, low: float, high: float, watch: Watch | None = None) -> None:
        self.low, self.high, self.watch = low, high, watch


class _Setting:
    """A key's tasks in the order they started: the ``window`` latest finished ones and every
    one started after them. (Kept by start, not by finish: the last tasks of a batch to
    finish are its longest, a window of them would be as biased as one of the first.) Its
    curve is rebuilt when that changed or its longest-running task has run 5 % longer since."""

    __slots__ = (
        "seen", "window", "version", "ends", "built", "built_at", "others", "reach", "curve",
        "guess",
    )  # fmt: skip

    def __init__(self, window: int) -> None:
        self.seen: list[_Seen] = []
        self.window = window
        self.version = 0
        self.ends = 0  # changes to its finished tasks (what a guess for other settings reads)
        self.built = -1
        self.built_at = 0.0
        self.others = -1
        self.reach = 0.0  # longest known running time of a running task
        self.curve: Durations | None = None
        self.guess: tuple[float, float] | None = None  # the guess the curve was built with

    def finished(self) -> int:
        return sum(1 for e in self.seen if e.watch is None)

    def middles(self) -> list[float]:
        """The middles of the finished tasks' intervals, sorted."""
        return sorted((e.low + e.high) / 2 for e in self.seen if e.watch is None)

    def mine(self, watch: Watch) -> _Seen | None:
        return next((e for e in self.seen if e.watch is watch), None)

    def add(self, entry: _Seen) -> None:
        """A task of the setting: a finished one changes the curve; one that has just started
        does not yet (it counts once it has run a while: see ``reach``)."""
        self.seen.append(entry)
        if entry.watch is None:
            self.changed(ends=True)
        self.trim()

    def changed(self, *, ends: bool) -> None:
        """Its curve must be rebuilt; ``ends``: its finished tasks changed too (which the
        guesses of other settings read)."""
        self.version += 1
        self.ends += ends

    def trim(self) -> None:
        """Drop the earliest started tasks while more than ``window`` finished ones started
        before the earliest still running, and only finished ones from the front: what is
        left is every task started since some instant, the quick and the slow alike, and
        while a batch runs, the one before it (which alone says how its slow tasks end).
        (Running tasks beyond ten windows are dropped too: watches abandoned before the end.)
        """
        done = next((i for i, e in enumerate(self.seen) if e.watch is not None), len(self.seen))
        if done > self.window:
            del self.seen[: done - self.window]
            self.changed(ends=True)
        running = len(self.seen) - self.finished() - 10 * self.window
        if running > 0:
            self.seen = [e for e in self.seen if e.watch is None or (running := running - 1) < 0]
            self.changed(ends=False)


class Timing:
    """Processing times per key, of the ``window`` most recently started tasks (finished or
    running); thread-safe, kept in memory. ``margin``: relative spread given to each time.
    """

    def __init__(self, window: int = 100, margin: float = 0.06) -> None:
        if window < 1:
            raise ValueError("Timing.window must be >= 1")
        self.window = window
        self.margin = margin
        self._keys: dict[Key, _Setting] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Timing({len(self._keys)} settings known)"

    def __len__(self) -> int:
        """How many finished tasks it has learned from (running ones are not counted)."""
        with self._lock:
            return sum(s.finished() for s in self._keys.values())

    def _setting(self, key: Key) -> _Setting:
        setting = self._keys.get(key)
        if setting is None:
            setting = self._keys[key] = _Setting(self.window)
        return setting

    def observe(self, key: Key | None, low: float, high: float | None = None) -> None:
        """Record that processing for ``key`` took between ``low`` and ``high`` seconds."""
        high = low if high is None else high
        if key is None or not 0 <= low <= high < math.inf:
            return
        with self._lock:
            self._setting(key).add(_Seen(low, high))

    def learn(self, watch: Watch, state: str, at: float) -> bool:
        """Learn from a task seen ``state`` at ``at``: a success's time; a task seen running,
        as a lower bound; a failed or cancelled one is forgotten (it ended early). True when a
        success came earlier than its setting's forecast allowed for (or it was the first):
        tasks of that setting sleeping on the old forecast should be looked at again."""
        key = watch.key
        if key is None or watch.started is None:
            return False
        with self._lock:
            setting = self._setting(key)
            mine = setting.mine(watch)
            if not is_final(state):
                if mine is None:  # started: counts as running from now on
                    watch.rank = sum(len(o.seen) - o.finished() for o in self._keys.values())
                    setting.add(_Seen(0.0, math.inf, watch))
                reach = watch.running_for()
                if reach is not None:
                    setting.reach = max(setting.reach, reach)
                return False
            bounds = watch.processing_interval(at) if is_success(state) else None
            if bounds is None:
                if mine is not None:
                    setting.seen.remove(mine)
                    setting.changed(ends=False)
                return False
            before = self._curve(key, setting)
            first = setting.finished() == 0
            if mine is None:
                setting.add(_Seen(*bounds))
            else:
                mine.low, mine.high, mine.watch = bounds[0], bounds[1], None
                setting.changed(ends=True)
                setting.trim()
            return first or before is None or bounds[1] < before.quantile(0.05)

    def forget(self, watch: Watch) -> None:
        """Stop counting a watched task that will not be followed to its end."""
        if watch.key is None:
            return
        with self._lock:
            setting = self._keys.get(watch.key)
            mine = setting.mine(watch) if setting else None
            if setting is not None and mine is not None:
                setting.seen.remove(mine)
                setting.changed(ends=False)

    def record(self, watch: Watch, task: Task, sent: float, answered: float) -> bool:
        """A check sent at ``sent`` answered ``task`` at ``answered``: note what it said of the
        watched task and learn from it (shared by ``wait`` and the poller); see ``learn``."""
        watch.key = watch.key or task_key(task)
        watch.seen(task.state, sent, answered)
        return self.learn(watch, task.state, answered)

    def learn_history(self, rows: Iterable[Sequence[Any]]) -> int:
        """Learn from a task log's successes (``TaskLog.timing_history`` rows, see
        ``history``); returns how many."""
        learned = history(rows)
        for key, seconds in learned:
            self.observe(key, seconds)
        return len(learned)

    def affects(self, learned: Key | None, key: Key | None) -> bool:
        """Whether news of ``learned`` changes the forecast of ``key``: its own, or a guess
        from it (``key`` has too few of its own, same off-peak flag)."""
        if learned is None or key is None:
            return False
        if key == learned:
            return True
        with self._lock:
            setting = self._keys.get(key)
            own = setting.finished() if setting is not None else 0
        return own < GUESS_WEIGHT and key[3] == learned[3]

    def knows(self, key: Key | None) -> bool:
        """Whether ``key`` has tasks of its own that finished (else its forecast is a guess
        from other settings, which any news changes)."""
        with self._lock:
            setting = self._keys.get(key) if key is not None else None
            return setting is not None and setting.finished() > 0

    def durations(self, key: Key | None) -> Durations | None:
        """The processing-time curve of ``key``: from its own tasks and, while it has fewer
        than ``GUESS_WEIGHT`` finished, a guess from other settings (see the module
        docstring); None when nothing is known."""
        if key is None:
            return None
        with self._lock:
            return self._curve(key, self._setting(key))

    def _curve(self, key: Key, setting: _Setting) -> Durations | None:
        own = setting.finished()
        # What the guess rests on: the other settings' finished tasks (not their running
        # ones: a batch of 200 starting would otherwise rebuild every guessed curve 200 times).
        others = -1
        if own < GUESS_WEIGHT:
            others = sum(s.ends for k, s in self._keys.items() if k != key and k[3] == key[3])
        stale = setting.built != setting.version or setting.reach > 1.05 * setting.built_at
        if not stale and others == setting.others:
            return setting.curve
        guess = self._guess(key) if own < GUESS_WEIGHT else None
        if not stale and _close(guess, setting.guess):
            setting.others = others  # the other settings' news moved the guess too little
            return setting.curve
        finished, running = [], []
        for e in setting.seen:
            if e.watch is None:
                finished.append((e.low, e.high))
            elif (reach := e.watch.running_for()) is not None:
                running.append(reach)
        if guess is not None:
            finished += [guess] * (GUESS_WEIGHT - own)
        setting.curve = estimate(finished, running, self.margin)
        setting.built, setting.built_at, setting.others = setting.version, setting.reach, others
        setting.guess = guess
        return setting.curve

    def _guess(self, key: Key) -> tuple[float, float] | None:
        """A wide interval for a key's time from the other keys' (it counts as up to
        ``GUESS_WEIGHT`` tasks, so the key's own ends soon outweigh it)."""
        known = {k: s.middles() for k, s in self._keys.items()
                 if k != key and k[3] == key[3] and s.finished()}  # fmt: skip
        if not known:  # (off-peak tasks are scheduled otherwise: never guessed from others)
            return None
        group = [(k[2], _q(m, 0.25), _q(m, 0.75)) for k, m in known.items()
                 if (k[0], k[1], k[3]) == (key[0], key[1], key[3])]  # fmt: skip
        if len({d for d, _, _ in group}) >= 2:
            low, high = _line(group, key[2])
            return (low / 1.1, high * 1.1)

        # From the nearest known setting in duration x pixels, by the square root of the
        # ratio: a fixed overhead per task makes time grow slower than the work, and the
        # window is wide as the guess may be well off either way.
        def work(k: Key) -> float:
            return k[2] * pixels(k[1])

        near = min(known, key=lambda k: (abs(math.log(work(k) / work(key))), k[0] != key[0]))
        guess = _q(known[near], 0.5) * math.sqrt(work(key) / work(near))
        return (guess / 1.25, guess * 1.25)

    def duration(self, key: Key | None) -> tuple[float, float] | None:
        """Likely processing time ``(low, high)`` for ``key`` (10 % and 90 % quantiles), or
        None when unknown."""
        curve = self.durations(key)
        return None if curve is None else (curve.quantile(0.1), curve.quantile(0.9))

    def forecast(self, watch: Watch, now: float) -> Forecast | None:
        """When the watched task should finish, or None (not processing yet, or unknown)."""
        origin = watch.origin
        if origin is None:
            return None
        curve = self.durations(watch.key)
        if curve is None:
            return None
        alive = max(0.0, watch.running_for() or 0.0)
        early, late = curve.quantile(0.05, alive), curve.quantile(0.95, alive)
        return Forecast(origin + early - now, origin + late - now, curve, now - origin)


#: A guess that moved less than this (relatively, at both ends) keeps the curve built on it:
#: with two dozen settings each first end would otherwise rebuild every guessed curve.
GUESS_TOLERANCE = 0.03


def _close(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    """Whether two guesses differ by less than ``GUESS_TOLERANCE`` at both ends."""
    if a is None or b is None:
        return a is b
    return all(abs(x - y) <= GUESS_TOLERANCE * max(x, y) for x, y in zip(a, b, strict=True))


def _q(values: list[float], p: float) -> float:
    """The ``p`` quantile of sorted ``values`` (linear interpolation)."""
    pos = p * (len(values) - 1)
    i = int(pos)
    j = min(i + 1, len(values) - 1)
    return values[i] + (values[j] - values[i]) * (pos - i)


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
    miss = misses[min(len(misses) - 1, int(0.9 * len(misses)))]
    guess = max(my + slope * (x - mx), 0.0)
    half = max(miss, (sum(hi - lo for _, lo, hi in points) / len(points)) / 2)
    return (max(0.0, guess - half), guess + half)


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
