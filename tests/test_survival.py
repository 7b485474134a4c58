"""The survival curve and the check plan built on it (pure arithmetic)."""

from __future__ import annotations

import random

import pytest

from vidu_nb.client.survival import estimate


def test_nothing_finished_means_no_curve():
    assert estimate([], [30.0, 40.0]) is None
    assert estimate([(5.0, 2.0)]) is None  # an interval that ends before it starts


def test_a_plan_keeps_the_mean_delay_it_was_made_for():
    """Checks placed by the plan, for tasks drawn from the same times, notice the end after
    about ``lag`` of each task's time on average: the plan is calibrated on its own checks."""
    rng = random.Random(7)
    curve = estimate([(t, t) for t in (rng.uniform(20, 120) for _ in range(300))], [], 0.06)
    for lag in (0.02, 0.05):
        plan = curve.plan(lag)
        delays, checks = [], []
        for _ in range(2000):
            took, x, n = rng.uniform(20, 120), rng.uniform(0.5, 2.0), 0
            while x < took:
                x, n = plan.next(x), n + 1
            delays.append((x - took) / took)
            checks.append(n)
        assert sum(delays) / len(delays) == pytest.approx(lag, rel=0.25)
    assert sum(checks) / len(checks) < 15  # 5 %: fewer than one check per 7 s of 20-120 s


def test_checks_go_where_tasks_end_and_grow_geometric_past_them():
    curve = estimate([(40.0 + i / 10, 40.0 + i / 10) for i in range(40)])  # 40-44 s
    plan = curve.plan(0.045)
    x, seen = 1.0, []
    while x < 200:
        x = plan.next(x)
        seen.append(x)
    assert sum(1 for t in seen if t < 36) <= 1  # one sleep through the time nobody ends
    assert sum(1 for t in seen if 36 <= t <= 46) >= 2
    late = [t for t in seen if t > 60]
    ratios = [b / a for a, b in zip(late, late[1:], strict=False)]
    assert ratios and all(1.05 < r < 2.5 for r in ratios)  # past everything: paced by age


def test_running_tasks_are_lower_bounds():
    finished = [(20.0, 21.0), (22.0, 23.0), (25.0, 26.0)]
    alone = estimate(finished)
    with_running = estimate(finished, [60.0] * 6)
    assert alone.quantile(0.5) < 30 < 60 < with_running.quantile(0.6)
    assert with_running.survival(59.0) == pytest.approx(6 / 9, abs=0.1)
