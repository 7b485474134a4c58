"""``Durations``: how long the tasks of one setting take, and ``Plan``: when to check one (pure).

A task is checked to notice its end soon, and each check costs a request. Where a task is
unlikely to end (early on, when every task of its setting took longer) a check is wasted;
where many end (the usual finish) a sparse check means a long wait for the user. So the
checks follow the *hazard*: the chance that a task still running at ``x`` ends right after.

**Estimate.** Times are measured from a task's start (the middle of the checks that bracket
it). A finished task gives an interval for its end (its last "running" check to its first
final one); a task still running gives only a lower bound, "longer than ``x``" (censored).
Dropping the running ones would bias the estimate short: in a batch the quick tasks finish
first, so every task still running would look overdue. Where in its interval each task
ended is estimated from all of them (Turnbull's self-consistency: a wide interval puts its
weight where the narrow ones put theirs), smoothed a little, and the survival curve ``S(x)``
is the product-limit (Kaplan-Meier) estimate over a log grid, with a weak prior of ``ALPHA``
task whose hazard is ``KAPPA / x`` (no time scale: "as likely to end between x and 2x as
between 2x and 4x"), diluted twice by the tasks seen running at ``x``: as a pseudo-count
among them, and because each of them running on without an end is evidence of a low hazard.
So where many tasks were seen and none ended, the hazard is tiny (one long sleep). Past the
longest-running task (a batch started together has none ahead of the others) the hazard of
the ends seen lately goes on, weighed against the prior by their number; past everything,
only the prior is left: a task running longer than all before it is checked at a pace
proportional to its age, never in a burst.

**Plan.** Checking at density ``n(x)`` (checks per second) costs ``integral S n`` requests
per task and noticing an end at ``x`` takes about ``1 / (2 n(x))``. Minimising the requests
for a mean delay of ``lag`` of each task's processing time (Lagrange) gives
``n(x) = sqrt(L h(x) / 2x)`` with ``h`` the hazard and ``L`` set so the mean delay is
``lag``: few checks where tasks rarely end, dense ones near the usual finish, a geometric
pace (``c x``) in the prior's tail. The plan is the running sum ``N(x)`` of that density: a
check at ``x0`` is followed by one at ``N^-1(N(x0) + 1)``; its scale is then corrected by the
delay its actual checks give on the curve (with one or two checks where tasks end, the
continuous formula is well off).

All times are in the caller's seconds; nothing here knows about real-time scales.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

#: Weight of the prior, in tasks.
ALPHA = 1.0
#: The prior's hazard times age (1: as likely to end in (x, 2x) as to run longer).
KAPPA = 1.0
#: Grid step (ratio of neighbouring points) and the most points a curve has.
STEP = 1.02
MAX_POINTS = 400
#: Past the longest-running task, the hazard seen over its last ``RECENT``-fold of time
#: continues (when higher than the prior's): a batch started together has no task ahead of
#: the others to learn from, and the ends seen lately are the best guess of the ends to come.
RECENT = 1.3
#: Rounds of correcting a plan's scale by the mean delay its checks really give.
CALIBRATE = 2


class Plan:
    """Check instants for one ``Durations`` and delay target: ``next(x0)`` (see the module)."""

    __slots__ = ("xs", "cum", "tail")

    def __init__(self, xs: Sequence[float], cum: Sequence[float], tail: float) -> None:
        self.xs = xs
        self.cum = cum
        self.tail = tail  # past the grid: check every ``tail * x``

    def count(self, x: float) -> float:
        """Planned checks before ``x`` (``N(x)``)."""
        xs, cum = self.xs, self.cum
        if x <= xs[0]:
            return 0.0
        if x >= xs[-1]:
            return cum[-1] + math.log(x / xs[-1]) / math.log1p(self.tail)
        i = bisect.bisect_right(xs, x) - 1
        return cum[i] + (cum[i + 1] - cum[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])

    def at(self, count: float) -> float:
        """Where the plan's ``count``-th check goes (``N^-1``)."""
        xs, cum = self.xs, self.cum
        if count >= cum[-1]:
            return xs[-1] * (1.0 + self.tail) ** (count - cum[-1])
        i = max(0, bisect.bisect_right(cum, count) - 1)
        while cum[i + 1] <= cum[i]:  # a flat stretch: nothing ends there
            i += 1
        return xs[i] + (xs[i + 1] - xs[i]) * (count - cum[i]) / (cum[i + 1] - cum[i])

    def next(self, x0: float) -> float:
        """Where the check after one at ``x0`` goes (in the same time frame)."""
        if x0 >= self.xs[-1]:
            return x0 * (1.0 + self.tail)
        return max(self.at(self.count(x0) + 1.0), x0)


class Durations:
    """The survival curve ``S(x)`` of one setting's processing time on a log grid."""

    __slots__ = ("xs", "surv", "finished", "_plans")

    def __init__(self, xs: Sequence[float], surv: Sequence[float], finished: int) -> None:
        self.xs = tuple(xs)
        self.surv = tuple(surv)
        self.finished = finished  # how many finished tasks it rests on
        self._plans: dict[float, Plan] = {}

    def __repr__(self) -> str:
        q = [self.quantile(p) for p in (0.1, 0.5, 0.9)]
        return f"Durations(p10={q[0]:.3g}, p50={q[1]:.3g}, p90={q[2]:.3g}, n={self.finished})"

    def survival(self, x: float) -> float:
        """``P(D > x)``."""
        xs, s = self.xs, self.surv
        if x <= xs[0]:
            return 1.0
        if x >= xs[-1]:
            return s[-1] * (xs[-1] / x) ** KAPPA
        i = bisect.bisect_right(xs, x) - 1
        return s[i] + (s[i + 1] - s[i]) * (x - xs[i]) / (xs[i + 1] - xs[i])

    def quantile(self, p: float, alive: float = 0.0) -> float:
        """The ``p`` quantile of the processing time, given it is longer than ``alive``."""
        level = self.survival(alive) * (1.0 - p)
        xs, s = self.xs, self.surv
        if level <= s[-1]:
            return max(alive, xs[-1] * (s[-1] / max(level, 1e-300)) ** (1.0 / KAPPA))
        # s is non-increasing: find the first point at or below ``level``
        lo, hi = 0, len(s) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if s[mid] <= level:
                hi = mid
            else:
                lo = mid + 1
        if lo == 0:
            return max(alive, xs[0])
        a, b = s[lo - 1], s[lo]
        frac = (a - level) / (a - b) if a > b else 1.0
        return max(alive, xs[lo - 1] + (xs[lo] - xs[lo - 1]) * frac)

    def plan(self, lag: float) -> Plan:
        """Checks for a mean delay of ``lag`` times the processing time (cached)."""
        plan = self._plans.get(lag)
        if plan is None:
            plan = self._plans[lag] = _plan(self.xs, self.surv, lag)
        return plan


def estimate(
    finished: Sequence[tuple[float, float]], running: Sequence[float] = (), spread: float = 0.06
) -> Durations | None:
    """The curve from finished tasks' ``(low, high)`` intervals and running tasks' lower
    bounds; None without a finished task.

    Where in its interval each task ended is estimated from all of them (self-consistency,
    as Turnbull's estimator: a wide interval puts its weight where narrow ones put theirs),
    then smoothed by ``spread`` either way (a curve that follows every sample point plans
    checks around them, not around where the next task will end), never past the
    longest-running task, where the few tasks left would turn a small spill into a sure end.
    """
    censored = sorted(c for c in running if c > 0)
    front = censored[-1] if censored else math.inf
    events = [(max(0.0, lo), hi) for lo, hi in finished if hi > 0 and hi >= lo]
    if not events:
        return None
    start = 0.5 * min(max(lo, 0.2 * hi) for lo, hi in events) / (1.0 + spread)
    end = 2.0 * max(max(hi for _, hi in events), censored[-1] if censored else 0.0)
    cells = min(max(1, math.ceil(math.log(end / start) / math.log(STEP))), MAX_POINTS)
    ratio = (end / start) ** (1.0 / cells)
    xs = [start * ratio**k for k in range(cells + 1)]
    wall = bisect.bisect_left(xs, front) - 1  # the cell the longest-running task is in
    mass = _smooth(_turnbull(events, xs), round(math.log1p(spread) / math.log(ratio)), wall)
    surv, seen = [1.0], 0.0
    lately, risk, span = 0.0, 0.0, 0.0  # ends, hazard and time over the last RECENT-fold
    j = 0  # censored bounds below xs[k]
    for k in range(cells):
        while j < len(censored) and censored[j] < xs[k]:
            j += 1
        at_risk = len(events) - seen + len(censored) - j + ALPHA
        rate = mass[k] / at_risk
        seen += mass[k]
        width = xs[k + 1] - xs[k]
        hazard = KAPPA * math.log(ratio)  # the prior's, in this cell
        if xs[k] >= front and span > 0:  # past every running task: the pace seen lately,
            # as many ends as were seen lately against the prior's one
            hazard = (lately * risk / span * width + ALPHA * hazard) / (lately + ALPHA)
        elif xs[k + 1] > front / RECENT and xs[k] < front:
            lately, risk, span = lately + mass[k], risk + rate, span + width
        prior = ALPHA * hazard * ALPHA / at_risk  # diluted twice (see the module)
        step = (1.0 - min(rate, 1.0)) * math.exp(-prior / at_risk)
        surv.append(surv[-1] * step)
    return Durations(xs, surv, len(events))


def _turnbull(events: list[tuple[float, float]], xs: list[float], rounds: int = 4) -> list[float]:
    """How many tasks ended in each grid cell: each spread over its interval, re-weighted
    ``rounds`` times by the density the others give (an EM step of Turnbull's estimator)."""
    cells = len(xs) - 1
    shares = []  # per task: first cell, weights over its cells (uniform within its interval)
    for lo, hi in events:
        k0 = max(0, min(cells - 1, bisect.bisect_right(xs, lo) - 1))
        k1 = max(k0, min(cells - 1, bisect.bisect_left(xs, hi) - 1))
        if hi <= lo or k0 == k1:
            shares.append((k0, [1.0]))
            continue
        w = [(min(hi, xs[k + 1]) - max(lo, xs[k])) / (hi - lo) for k in range(k0, k1 + 1)]
        shares.append((k0, w))
    density = [0.0] * cells
    for k0, w in shares:
        for i, wi in enumerate(w):
            density[k0 + i] += wi
    for _ in range(rounds):
        new = [0.0] * cells
        for k0, w in shares:
            if len(w) == 1:
                new[k0] += 1.0
                continue
            part = [wi * density[k0 + i] for i, wi in enumerate(w)]
            total = sum(part)
            if total <= 0:
                part, total = w, 1.0
            for i, pi in enumerate(part):
                new[k0 + i] += pi / total
        density = new
    return density


def _smooth(mass: list[float], half: int, wall: int) -> list[float]:
    """A moving average over ``2 half + 1`` cells (less at the ends), keeping the total;
    what lies up to cell ``wall`` stays there."""
    if half <= 0:
        return list(mass)
    n, out = len(mass), [0.0] * len(mass)
    for k, m in enumerate(mass):
        if m:
            lo, hi = max(0, k - half), min(n - 1, k + half)
            if 0 <= k <= wall:
                hi = min(hi, wall)
            share = m / (hi - lo + 1)
            for i in range(lo, hi + 1):
                out[i] += share
    return out


def _plan(xs: Sequence[float], surv: Sequence[float], lag: float) -> Plan:
    """The Lagrange-optimal check density for a mean delay of ``lag`` (see the module), its
    scale corrected (``CALIBRATE`` times) by the mean delay its actual checks give on the
    curve: with one or two checks where tasks end, the continuous formula is well off."""
    cells = []
    weight = surv[-1] / math.sqrt(KAPPA)  # the tail past the grid, in closed form
    for k in range(len(xs) - 1):
        width, mid = xs[k + 1] - xs[k], math.sqrt(xs[k] * xs[k + 1])
        hazard = math.log(surv[k] / surv[k + 1]) if surv[k + 1] > 0 else 50.0
        hazard = min(hazard, 50.0)
        cells.append((width, mid, hazard))
        if hazard > 0:
            weight += (surv[k] - surv[k + 1]) * math.sqrt(width / (mid * hazard))
    root = max(weight, 1e-12) / (math.sqrt(2.0) * lag)  # sqrt of the multiplier L
    shape = [0.0]
    for width, mid, hazard in cells:
        shape.append(shape[-1] + math.sqrt(hazard * width / (2.0 * mid)))
    plan = Plan(xs, [root * c for c in shape], math.sqrt(2.0 / KAPPA) / root)
    for _ in range(CALIBRATE):
        got = _mean_delay(plan, surv)
        if got <= 0:
            break
        root *= got / lag
        plan = Plan(xs, [root * c for c in shape], math.sqrt(2.0 / KAPPA) / root)
    return plan


def _mean_delay(plan: Plan, surv: Sequence[float]) -> float:
    """Mean delay / processing time of ``plan``'s checks for tasks ending as ``surv`` says,
    averaged over a few phases (where a task's checks fall depends on its first one)."""
    xs, total, phases = plan.xs, 0.0, (0.2, 0.5, 0.8)
    for phase in phases:
        t = plan.at(phase)
        for k in range(len(xs) - 1):
            mid = math.sqrt(xs[k] * xs[k + 1])
            while t < mid:
                t = plan.next(t)
            total += (surv[k] - surv[k + 1]) * (t - mid) / mid
        total += surv[-1] * plan.tail / 2  # past the grid: geometric checks
    return total / len(phases)
