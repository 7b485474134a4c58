"""``PollSchedule``: how long to wait before checking a task again (pure, no I/O).

Generations take tens of seconds to minutes, off-peak ones up to 48 hours, so a fixed fast
poll wastes requests and a fixed slow one adds lag. The schedule checks soon after a submit
(early failures such as policy violations come back quickly), but not before ``first_check``:
a task usually takes a couple of seconds to be created and leave the queue, and a check
before that only says "still waiting" (of 200 tasks sent together, one GET each of about six
spent for nothing); then it backs off from ``first`` by ``factor`` toward ``cap``; the caller
restarts ``attempt`` at 0 whenever the state changes, so a task that starts ``processing`` is
watched closely again. For long waits the cap grows with the
elapsed time so the detection lag stays a small fraction (``lag_fraction``) of the wait.
A server ``Retry-After`` is always honoured (it is real time, never scaled). A state it does not
know (``scheduled``, ``preparation``, anything new) is paced like waiting; only a final state
(see ``states``) stops the checks.

A task processing with nothing known of how long tasks take explores: the backoff's delays
are spread by up to ``explore_jitter`` octaves either way, so tasks started together do not
look at the same instants and the first end is seen soon after it happens; and only a few
tasks explore at that pace (see ``follows``): the first end any of them sees gives everyone a
forecast, and the poller then moves their checks earlier.

``time_scale`` multiplies every delay it computes, so a simulator running ``speed`` times
faster than real is polled with ``PollSchedule.for_speed(speed)``.

With a ``Forecast`` (``expected=``, from ``Timing``) the schedule stops guessing: it follows
the check plan of the learned curve (``survival``), made for a mean detection delay of
``finish_lag`` of the processing time: one long sleep while tasks of the setting never end
(still a check every ``sparse_cap``), dense checks (never closer than ``dense``) where they
usually do, a pace proportional to the age past anything seen. A blocking ``wait`` aims at
``wait_lag`` instead: its caller waits on the end, and its checks are one task's, not
hundreds'. A bare window (a ``Forecast`` without a curve) is checked every ``dense`` seconds
inside it, at most ``window_checks`` times, and in proportion to the overrun after it.
Without one it is the plain backoff above.

A poller that reads several processing tasks with one request (the task list: see the
poller's ``listing``) reads with the task due first those due within ``batch_ahead`` seconds
after it: a little early, which costs a check of no request of its own, and sees their ends
a little sooner. ``ViduClient.wait`` follows one task and never batches.

Whatever the forecast says, ``checks`` (answers so far for this task, when the caller passes
them) stays within a budget: ``budget_base`` checks plus ``budget_per_doubling`` for every
doubling of the task's age (in units of ``budget_unit`` seconds): about 30 for a two-minute
task, 60 for two days. A forecast that is wrong (a service that slowed down, a setting whose
every task "should have finished") can cost a task a few checks more, never a burst.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from typing import Any

from .. import states
from ..states import PROCESSING
from .timing import Forecast


@dataclass(frozen=True)
class PollSchedule:
    """Backoff policy shared by ``ViduClient.wait`` and the background poller.

    All durations are in seconds of the real API's time; ``time_scale`` converts them.
    """

    first: float = 1.5
    first_check: float = 2.5
    processing_first: float = 3.0
    factor: float = 2.0
    cap: float = 15.0
    lag_fraction: float = 0.05
    max_cap: float = 60.0
    off_peak_first: float = 5.0
    off_peak_cap: float = 300.0
    off_peak_max_cap: float = 900.0
    jitter: float = 0.15
    explore_jitter: float = 0.5
    leaders: int = 3
    leader_every: int = 8
    follow_factor: float = 3.0
    retry_after_cap: float = 300.0
    dense: float = 0.5
    window_checks: int = 30
    sparse_cap: float = 60.0
    overrun_fraction: float = 0.25
    finish_lag: float = 0.04
    batch_ahead: float = 0.5
    wait_lag: float = 0.02
    budget_base: float = 10.0
    budget_per_doubling: float = 3.0
    budget_unit: float = 1.0
    time_scale: float = 1.0
    min_delay: float = 0.01
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names: tuple[str, ...] = (
            "first",
            "first_check",
            "processing_first",
            "cap",
            "off_peak_first",
        )
        names += ("off_peak_cap", "dense", "finish_lag", "wait_lag", "budget_per_doubling")
        names += ("budget_unit",)
        for name in (*names, "sparse_cap", "window_checks"):
            if not getattr(self, name) > 0:
                raise ValueError(f"PollSchedule.{name} must be > 0")
        if not self.batch_ahead >= 0:
            raise ValueError("PollSchedule.batch_ahead must be >= 0")
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
        if attempt <= 0 and not off_peak and not processing:
            grown = max(grown, self.first_check)
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
        checks: int | None = None,
        rank: int | None = None,
        lag: float | None = None,
    ) -> float:
        """Seconds to sleep before the next check.

        ``elapsed``: real seconds since the task was submitted (or since waiting began);
        ``state``: the last state seen; ``attempt``: checks made since that state was first
        seen (0 right after a submit or a state change); ``retry_after``: the server's hint
        from the last response, if any; ``expected``: when the task should finish (real
        seconds from now), which replaces the backoff; ``checks``: answers this task has had
        so far, held to the budget; ``rank``: how many tasks were processing when it started
        (see ``follows``); ``lag``: the mean delay aimed at, as a fraction of the processing
        time (``finish_lag`` when None; ``ViduClient.wait`` asks for ``wait_lag``).
        """
        if states.is_final(state):
            return 0.0
        lag = self.finish_lag if lag is None else lag
        planned = None if expected is None else expected.next_check(lag)
        if expected is not None and planned is not None:
            delay = self._planned_delay(planned, elapsed, off_peak)
        elif expected is not None:
            delay = self._forecast_delay(expected, elapsed, state, off_peak)
        else:
            delay = self.base_delay(elapsed, state, attempt, off_peak=off_peak)
            if state == PROCESSING and self.follows(rank):
                longest = self.off_peak_max_cap if off_peak else self.sparse_cap
                delay = max(delay, min(delay * self.follow_factor, longest))
            if state == PROCESSING and self.jitter and self.explore_jitter:
                delay *= 2.0 ** self._rng.uniform(-self.explore_jitter, self.explore_jitter)
            elif self.jitter:
                delay *= self._rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
            delay *= self.time_scale
        if checks is not None:
            delay = max(delay, self.budget_wait(elapsed, checks))
        delay = max(self.min_delay, delay)
        if retry_after is not None and retry_after > 0:
            delay = max(delay, min(float(retry_after), self.retry_after_cap))
        return delay

    def follows(self, rank: int | None) -> bool:
        """Whether a task that started as the ``rank``-th one processing (0: none was) lets
        others explore: with nothing known of how long tasks take, only the first
        ``leaders`` and every ``leader_every``-th check at the plain pace, the rest
        ``follow_factor`` times slower; the first end any of them sees gives every setting
        a forecast and moves their checks earlier (the poller's ``pull_in``)."""
        if rank is None or self.leader_every < 1:
            return False
        return rank >= self.leaders and rank % self.leader_every != 0

    def budget_wait(self, elapsed: float, checks: int) -> float:
        """Real seconds until a task aged ``elapsed`` (real seconds since it was sent) may have
        its ``checks + 1``-th check within the budget (0 when it may now)."""
        doublings = (checks + 1 - self.budget_base) / self.budget_per_doubling
        if doublings <= 0:
            return 0.0
        age = self.budget_unit * (2.0 ** min(doublings, 60.0) - 1.0)  # nominal seconds
        return max(0.0, age * self.time_scale - max(0.0, elapsed))

    def _planned_delay(self, planned: float, elapsed: float, off_peak: bool) -> float:
        """Real seconds to sleep when the curve's plan says ``planned``: never closer than
        ``dense``, never longer than the sparse cap; jittered only downward (a herd of tasks
        started together spreads out, and none is checked later than planned)."""
        ts = self.time_scale
        longest = self.off_peak_max_cap if off_peak else self.sparse_cap
        delay = min(max(planned, self.dense * ts), longest * ts)
        return delay * (self._rng.uniform(1.0 - self.jitter, 1.0) if self.jitter else 1.0)

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
