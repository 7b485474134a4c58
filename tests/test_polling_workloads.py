"""The poller's check scheduling on whole workloads of 200 tasks, on a virtual clock (issue 9).

``virtual_poller`` runs the poller's own rule (``poller.due``: ``delay_for``, ``pull_in``) and
its ``Timing`` against tasks whose lives are drawn in advance, so every check is counted and
every detection delay is exact; nothing sleeps, nothing depends on the machine's speed. A
plain poller checking every second needs about one GET per second of a task's life.
"""

from __future__ import annotations

import math

from virtual_poller import mix_batch, run, settings_batch, uniform_batch

from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.timing import Timing


def budget(s: PollSchedule, age: float) -> float:
    """The most checks the schedule allows a task of that age (seconds since it was sent)."""
    return s.budget_base + s.budget_per_doubling * math.log2(1 + age / s.budget_unit)


def test_one_setting_with_times_from_20_to_120_s():
    """Issue 9's workload, where the poller sent more GETs than a 1 s poller (1.1-1.2x, one
    task 186): now at most a quarter of them, the end noticed within 5 % of the generation
    time on average, no task beyond its budget; cold, then warm with what it learned."""
    timing, schedule = Timing(), PollSchedule(seed=1)
    for seed in (1, 2):
        r = run(uniform_batch(200, 20, 120, seed=seed), schedule, timing)
        assert r.gets_per_task() <= 0.25 * r.fixed_gets_per_task()
        assert r.delay_fraction() <= 0.05
        assert r.max_checks() <= budget(schedule, 122)


def test_times_fixed_by_settings():
    """24 settings, each within +-10 % of its own time: once learned, few checks each."""
    timing, schedule = Timing(), PollSchedule(seed=1)
    cold = run(settings_batch(200, seed=1), schedule, timing)
    warm = run(settings_batch(200, seed=2), schedule, timing)
    assert warm.gets_per_task() <= 0.25 * warm.fixed_gets_per_task()
    assert cold.gets_per_task() <= 0.32 * cold.fixed_gets_per_task()  # learning costs some
    assert cold.delay_fraction() <= 0.05 and warm.delay_fraction() <= 0.05
    assert warm.max_checks() <= 12


def test_minutes_and_off_peak_hours():
    """Three in four tasks take minutes, one in four (off-peak) hours: a task of hours costs
    tens of checks, not thousands, and its end is still noticed within a few percent."""
    timing, schedule = Timing(), PollSchedule(seed=1)
    for seed in (1, 2):
        r = run(mix_batch(200, seed=seed), schedule, timing)
        off_peak = [o for o in r.outcomes if o.life.key[3]]
        assert r.gets_per_task() <= 0.02 * r.fixed_gets_per_task()
        assert r.delay_fraction() <= 0.05
        assert all(o.checks <= budget(schedule, o.span) for o in r.outcomes)
        assert max(o.checks for o in off_peak) <= 40


def test_a_batch_slower_than_the_history_is_not_checked_in_a_burst():
    """The service slowed down: everything learned says 20-40 s, the new batch takes 60-120 s.
    Every task "should have finished" long before it does; that costs each a few checks
    more, within its budget, and the new times are learned as they come."""
    timing, schedule = Timing(), PollSchedule(seed=1)
    run(uniform_batch(200, 20, 40, seed=1), schedule, timing)
    r = run(uniform_batch(200, 60, 120, seed=2), schedule, timing)
    assert r.max_checks() <= budget(schedule, 122)
    assert r.gets_per_task() <= 0.3 * r.fixed_gets_per_task()
    assert r.delay_fraction() <= 0.06
    again = run(uniform_batch(200, 60, 120, seed=3), schedule, timing)
    assert again.gets_per_task() < r.gets_per_task()


def test_the_first_ends_seen_move_the_others_checks_earlier():
    """Cold, most tasks wait long between checks until a few leaders see the first ends; then
    the others' checks are moved earlier, or the first ends would be noticed late."""
    with_pull = run(uniform_batch(200, 20, 120, seed=1), PollSchedule(seed=1), Timing())
    without = run(
        uniform_batch(200, 20, 120, seed=1), PollSchedule(seed=1), Timing(), pull_in=False
    )
    assert with_pull.moved > 0 and without.moved == 0
    first = sorted(with_pull.outcomes, key=lambda o: o.took)[:20]
    first_without = sorted(without.outcomes, key=lambda o: o.took)[:20]
    assert sum(o.delay for o in first) < 0.7 * sum(o.delay for o in first_without)


def test_a_task_is_checked_once_before_it_starts():
    """The service takes about 2 s to create a task and take it from the queue: the first
    check waits ``first_check`` and finds it processing, instead of one check that says
    "still waiting" and one that sees the start. That GET (of six or seven a task) brings
    the cold run of many settings close to a quarter of a 1 s poller's GETs."""
    lives = settings_batch(200, seed=1)
    now = run(lives, PollSchedule(seed=1), Timing())
    assert all(o.waiting == 0 for o in now.outcomes)
    assert now.gets_per_task() <= 0.26 * now.fixed_gets_per_task()
    assert now.delay_fraction() <= 0.05
    early = run(lives, PollSchedule(seed=1, first_check=1.5), Timing())
    assert all(o.waiting == 1 for o in early.outcomes)
    assert early.gets_per_task() >= now.gets_per_task() + 0.5


def test_processing_tasks_due_together_are_read_by_one_listing():
    """The settings workload, cold then warm, with the processing tasks due within
    ``batch_ahead`` of each other read by one task-list request: the server counts GETs and
    listings, and that total is far under what GETs alone cost (0.256x of the 1 s poller
    cold), each task's end still noticed within 5 % of its generation time. Every task gets
    its first GET (it says when it starts) and one confirming GET after the listing that
    saw it end, rarely a third."""
    for batch in (False, True):
        timing, schedule = Timing(), PollSchedule(seed=1)
        cold = run(settings_batch(200, seed=1), schedule, timing, batch=batch)
        warm = run(settings_batch(200, seed=2), schedule, timing, batch=batch)
        if not batch:
            alone = cold.requests_per_task()
            assert cold.listings == warm.listings == 0
            continue
        assert cold.requests_per_task() <= 0.12 * cold.fixed_gets_per_task()
        assert warm.requests_per_task() <= 0.12 * warm.fixed_gets_per_task()
        assert cold.requests_per_task() <= 0.5 * alone
        assert cold.delay_fraction() <= 0.05 and warm.delay_fraction() <= 0.05
        assert cold.listings < 200 / 2  # many tasks a listing
        for r in (cold, warm):
            assert all(2 <= o.checks <= 3 for o in r.outcomes)
            assert sum(o.listed for o in r.outcomes) > 2 * r.listings
