"""``PollSchedule``: how long to wait before checking a task again (pure, no I/O).

Generations take tens of seconds to minutes, off-peak ones up to 48 hours, so a fixed fast
poll wastes requests and a fixed slow one adds lag. The schedule checks soon after a submit
(early failures such as policy violations come back quickly), then backs off by ``factor``
toward ``cap``; the caller restarts ``attempt`` at 0 whenever the state changes, so a task
that starts ``processing`` is watched closely again. For long waits the cap grows with the
elapsed time so the detection lag stays a small fraction (``lag_fraction``) of the wait.
A server ``Retry-After`` is always honoured (it is real time, never scaled). A state it does not
know (``scheduled``, ``preparation``, anything new) is paced like waiting; only a final state
(see ``states``) stops the checks.

``time_scale`` multiplies every delay it computes, so a simulator running ``speed`` times
faster than real is polled with ``PollSchedule.for_speed(speed)``.

With a ``Forecast`` (``expected=``, from ``Timing``) the schedule stops guessing: it sleeps
until the predicted window opens (checking at least every ``sparse_cap``), checks every
``dense`` seconds inside it (the step widens when the window is wide, so it never costs more
than about ``window_checks`` checks), and backs off in proportion to the overrun when the task
is late. Without one it is the plain backoff above.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from .. import states
from .timing import Forecast


@dataclass(frozen=True)
class PollSchedule:
    """Backoff policy shared by ``ViduClient.wait`` and the background poller.

    All durations are in seconds of the real API's time; ``time_scale`` converts them.
    """

    first: float = 1.5
    processing_first: float = 2.0
    factor: float = 1.5
    cap: float = 15.0
    lag_fraction: float = 0.05
    max_cap: float = 60.0
    off_peak_first: float = 5.0
    off_peak_cap: float = 300.0
    off_peak_max_cap: float = 900.0
    jitter: float = 0.15
    retry_after_cap: float = 300.0
    dense: float = 0.5
    window_checks: int = 30
    sparse_cap: float = 60.0
    overrun_fraction: float = 0.25
    time_scale: float = 1.0
    min_delay: float = 0.01
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = ("first", "processing_first", "cap", "off_peak_first", "off_peak_cap", "dense")
        for name in (*names, "sparse_cap", "window_checks"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PollSchedule.{name} must be > 0")
        if self.factor < 1:
            raise ValueError("PollSchedule.factor must be >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("PollSchedule.jitter must be in [0, 1)")
        if not self.time_scale > 0:
            raise ValueError("PollSchedule.time_scale must be > 0")
        object.__setattr__(self, "_rng", random.Random(self.seed))

    @classmethod
    def for_speed(cls, speed: float, **kwargs: Any) -> PollSchedule:
        """A schedule for a simulator running ``speed`` times faster than the real service."""
        if not speed > 0:
            raise ValueError("speed must be > 0")
        return cls(time_scale=1.0 / speed, **kwargs)

    def scaled(self, time_scale: float) -> PollSchedule:
        """The same policy with another time scale."""
        return replace(self, time_scale=time_scale)

    def base_delay(
        self, elapsed: float, state: str, attempt: int, *, off_peak: bool = False
    ) -> float:
        """The delay before jitter, scaling and ``Retry-After``, in real-service seconds."""
        if states.is_final(state):
            return 0.0
        if off_peak:
            start, cap, max_cap = self.off_peak_first, self.off_peak_cap, self.off_peak_max_cap
        else:
            processing = states.norm(state) == states.PROCESSING
            start = self.processing_first if processing else self.first
            cap, max_cap = self.cap, self.max_cap
        nominal_elapsed = max(0.0, elapsed) / self.time_scale
        cap = max(cap, min(max_cap, nominal_elapsed * self.lag_fraction))
        # Avoid float overflow for absurd attempt counts: the cap is reached long before.
        grown = start * self.factor ** min(max(0, attempt), 200)
        return min(cap, grown)

    def next_delay(
        self,
        elapsed: float,
        state: str,
        attempt: int,
        *,
        off_peak: bool = False,
        retry_after: float | None = None,
        expected: Forecast | None = None,
    ) -> float:
        """Seconds to sleep before the next check.

        ``elapsed``: real seconds since the task was submitted (or since waiting began);
        ``state``: the last state seen; ``attempt``: checks made since that state was first
        seen (0 right after a submit or a state change); ``retry_after``: the server's hint
        from the last response, if any; ``expected``: when the task should finish (real
        seconds from now), which replaces the backoff (see the module docstring).
        """
        if states.is_final(state):
            return 0.0
        if expected is not None:
            delay = self._forecast_delay(expected, elapsed, state, off_peak)
        else:
            delay = self.base_delay(elapsed, state, attempt, off_peak=off_peak)
            if self.jitter:
                delay *= self._rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
            delay *= self.time_scale
        delay = max(self.min_delay, delay)
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(float(retry_after), self.retry_after_cap))
        return delay

    def _forecast_delay(self, f: Forecast, elapsed: float, state: str, off_peak: bool) -> float:
        """Real seconds to sleep given a finish window (see the module docstring)."""
        ts = self.time_scale
        step = max(self.dense * ts, (f.late - f.early) / self.window_checks)
        cap = self.base_delay(elapsed, state, 200, off_peak=off_peak) * ts
        if f.early > 0:  # before the window: one long sleep, jittered only downward
            sparse = min(f.early, self.sparse_cap * ts)
            return sparse * (self._rng.uniform(1.0 - self.jitter, 1.0) if self.jitter else 1.0)
        if f.late >= 0:
            return min(step, cap)
        return min(max(step, -f.late * self.overrun_fraction), max(cap, step))
