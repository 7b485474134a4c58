"""The wait backoff policy: pure arithmetic, no servers."""

from __future__ import annotations

import math

import pytest

from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.timing import Forecast, Timing, Watch


def delays(schedule: PollSchedule, states: list[str], *, off_peak: bool = False) -> list[float]:
    """Simulate a waiter: attempt restarts at 0 on each state change."""
    out, elapsed, attempt, last = [], 0.0, 0, None
    for state in states:
        if state != last:
            attempt, last = 0, state
        delay = schedule.next_delay(elapsed, state, attempt, off_peak=off_peak)
        out.append(delay)
        elapsed += delay
        attempt += 1
    return out


def test_first_check_is_soon_then_grows_to_cap():
    s = PollSchedule(jitter=0)
    got = delays(s, ["created"] * 12)
    assert got[0] == pytest.approx(s.first_check)  # not sooner than a task usually starts
    assert got[1] == pytest.approx(1.5 * 2)
    assert all(b >= a for a, b in zip(got, got[1:], strict=False))
    assert got[-1] == pytest.approx(15.0)


def test_state_change_to_processing_restarts_fast():
    s = PollSchedule(jitter=0)
    got = delays(s, ["queueing"] * 10 + ["processing"] * 3)
    assert got[9] == pytest.approx(15.0)
    assert got[10] == pytest.approx(3.0)
    assert got[11] > got[10]


def test_final_states_need_no_wait():
    s = PollSchedule()
    assert s.next_delay(10, "success", 3) == 0
    assert s.next_delay(10, "failed", 3) == 0


def test_off_peak_backs_off_much_further():
    s = PollSchedule(jitter=0)
    normal = delays(s, ["queueing"] * 30)
    off = delays(s, ["queueing"] * 30, off_peak=True)
    assert off[0] > normal[0]
    assert max(off) >= 10 * max(normal[:15])
    assert max(off) <= s.off_peak_max_cap


def test_cap_grows_with_elapsed_to_keep_lag_proportional():
    s = PollSchedule(jitter=0)
    assert s.next_delay(60, "processing", 50) == pytest.approx(15.0)
    # After 20 minutes, 5 % of the elapsed time (60 s) is allowed, and never more.
    assert s.next_delay(1200, "processing", 50) == pytest.approx(60.0)
    assert s.next_delay(100_000, "processing", 50) == pytest.approx(60.0)


def test_retry_after_is_honoured_unscaled_and_capped():
    s = PollSchedule(jitter=0, time_scale=0.01)
    assert s.next_delay(0, "queueing", 0, retry_after=3) == pytest.approx(3.0)
    assert s.next_delay(0, "queueing", 0, retry_after=10_000) == pytest.approx(s.retry_after_cap)
    # A hint shorter than the schedule's own delay does not speed polling up.
    slow = PollSchedule(jitter=0)
    assert slow.next_delay(0, "queueing", 10, retry_after=1) == pytest.approx(15.0)


def test_time_scale_for_a_fast_simulator():
    s = PollSchedule.for_speed(50, jitter=0)
    assert s.time_scale == pytest.approx(0.02)
    assert s.next_delay(0, "created", 0) == pytest.approx(s.first_check / 50)
    # Elapsed time is real time; the lag-proportional cap works in service time.
    assert s.next_delay(1200 / 50, "processing", 50) == pytest.approx(60.0 / 50)
    half = PollSchedule(jitter=0).scaled(0.5)
    assert half.next_delay(0, "created", 0) == pytest.approx(half.first_check / 2)


def test_jitter_stays_in_bounds_and_spreads():
    s = PollSchedule(jitter=0.2, seed=7)
    got = [s.next_delay(0, "queueing", 20) for _ in range(200)]
    assert min(got) >= 15.0 * 0.8 - 1e-9
    assert max(got) <= 15.0 * 1.2 + 1e-9
    assert len({round(d, 6) for d in got}) > 100


def test_seeded_schedules_repeat():
    a = [PollSchedule(seed=1).next_delay(0, "created", i) for i in range(5)]
    b = [PollSchedule(seed=1).next_delay(0, "created", i) for i in range(5)]
    assert a == b


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="time_scale"):
        PollSchedule(time_scale=0)
    with pytest.raises(ValueError, match="factor"):
        PollSchedule(factor=0.5)
    with pytest.raises(ValueError, match="speed"):
        PollSchedule.for_speed(0)


def test_total_requests_for_a_typical_job_are_few():
    # A 60 s queue then a 90 s generation: far fewer checks than a 1 s poller's 150.
    s = PollSchedule(jitter=0)
    elapsed, attempt, checks, state = 0.0, 0, 0, "queueing"
    while elapsed < 150:
        new_state = "queueing" if elapsed < 60 else "processing"
        if new_state != state:
            state, attempt = new_state, 0
        elapsed += s.next_delay(elapsed, state, attempt)
        attempt += 1
        checks += 1
    assert checks < 20


# -- with a forecast (``expected=``) ---------------------------------------------------------


def run_waiter(schedule: PollSchedule, timing: Timing, start: float, finish: float) -> list[float]:
    """A virtual waiter on a task queued until ``start``, processing until ``finish``; returns
    the check instants (attempt restarts at each state change, as the real callers do)."""
    watch, now, attempt, last, checks = Watch(("m", "720p", 5, False)), 0.0, 0, None, []
    while True:
        state = "queueing" if now < start else "processing" if now < finish else "success"
        checks.append(now)
        watch.seen(state, now)
        if state == "success":
            timing.learn(watch, state, now)
            return checks
        if state != last:
            attempt, last = 0, state
        now += schedule.next_delay(now, state, attempt, expected=timing.forecast(watch, now))
        attempt += 1


def test_checks_cluster_around_the_predicted_finish():
    s, timing = PollSchedule(jitter=0), Timing()
    run_waiter(s, timing, start=20, finish=80)  # cold: plain backoff, but it learns
    run_waiter(s, timing, start=12, finish=72)
    checks = run_waiter(s, timing, start=31, finish=91)
    processing = [t for t in checks if t >= 31]
    near = [t for t in processing if t >= 91 - 60 * 0.2]
    # the one that saw it start and, with a curve learned from two tasks, two sparse ones
    assert len(near) >= len(processing) - 3
    assert checks[-1] - 91 <= 60 * s.finish_lag * 2  # noticed within a few % of its time
    assert len(checks) < 20  # a fixed 1 s poller would need 91


def test_cold_start_is_the_plain_backoff():
    timing = Timing()
    plain = run_waiter(PollSchedule(jitter=0), Timing(), start=20, finish=80)
    watch = Watch(("m", "720p", 5, False))
    watch.seen("processing", 5.0)
    assert timing.forecast(watch, 6.0) is None
    s = PollSchedule(jitter=0)
    assert run_waiter(s, timing, start=20, finish=80) == plain
    assert s.next_delay(30, "processing", 2, expected=None) == s.next_delay(30, "processing", 2)


def test_before_the_window_one_sparse_sleep():
    s = PollSchedule(jitter=0)
    assert s.next_delay(0, "processing", 0, expected=Forecast(25, 30)) == pytest.approx(25)
    far = s.next_delay(0, "processing", 0, expected=Forecast(500, 510))
    assert far == pytest.approx(s.sparse_cap)  # still looks now and then


def test_inside_the_window_dense_and_bounded_in_count():
    s = PollSchedule(jitter=0)
    assert s.next_delay(0, "processing", 5, expected=Forecast(-1, 5)) == pytest.approx(s.dense)
    wide = s.next_delay(0, "processing", 5, expected=Forecast(-1, 119))
    assert wide == pytest.approx(120 / s.window_checks)  # a wide window costs no more checks
    fast = PollSchedule.for_speed(50, jitter=0)
    assert fast.next_delay(0, "processing", 5, expected=Forecast(-0.01, 0.05)) == pytest.approx(
        s.dense / 50
    )


def test_overrun_backs_off_in_proportion_and_is_capped():
    s = PollSchedule(jitter=0)
    late = [
        s.next_delay(0, "processing", 9, expected=Forecast(-x - 5, -x)) for x in (1, 8, 40, 400)
    ]
    assert late[0] == pytest.approx(s.dense)
    assert late[0] < late[1] < late[2] <= late[3] == pytest.approx(s.cap)


def test_retry_after_still_wins_over_a_forecast():
    s = PollSchedule(jitter=0, time_scale=0.01)
    assert s.next_delay(0, "processing", 0, expected=Forecast(-1, 1), retry_after=3) == 3


# -- the per-task budget ------------------------------------------------------------------------


def test_the_budget_holds_whatever_the_forecast_says():
    """A forecast that says "overdue" at every check (the learned window of issue 9 followed
    the clock) got a task checked every half second: 240 checks in two minutes. The budget
    allows about 30, and grows only with the logarithm of the age."""
    s = PollSchedule(jitter=0)
    overdue = Forecast(-1.0, -0.5)

    def checks_until(end: float, budgeted: bool) -> int:
        now, checks = 0.0, 0
        while now < end:
            now += s.next_delay(
                now, "processing", checks, expected=overdue, checks=checks if budgeted else None
            )
            checks += 1
        return checks

    assert checks_until(120, budgeted=False) >= 200
    allowed = s.budget_base + s.budget_per_doubling * math.log2(1 + 120)
    assert checks_until(120, budgeted=True) <= allowed + 1 <= 32
    assert checks_until(48 * 3600, budgeted=True) <= 65  # two days


def test_the_budget_waits_only_once_it_is_spent():
    s = PollSchedule(jitter=0)
    assert s.budget_wait(5.0, 0) == 0 and s.budget_wait(5.0, 13) == 0
    # the 20th check: 10 + 3 per doubling of the age allow it at 2 ** (10 / 3) - 1 s
    assert s.budget_wait(5.0, 19) == pytest.approx(2 ** (10 / 3) - 1 - 5.0)
    fast = PollSchedule.for_speed(10, jitter=0)  # in real seconds at x10
    assert fast.budget_wait(0.0, 19) == pytest.approx((2 ** (10 / 3) - 1) / 10)


def test_a_plan_from_a_learned_curve_is_followed_within_bounds():
    timing = Timing()
    for took in range(36, 45):  # a setting that takes 36-44 s
        timing.observe(("m", "720p", 5, False), float(took))
    w = Watch(("m", "720p", 5, False))
    w.seen("queueing", 0.0)
    w.seen("processing", 1.0)
    s = PollSchedule(jitter=0)
    first = s.next_delay(1.0, "processing", 0, expected=timing.forecast(w, 1.0))
    assert 20 < first <= s.sparse_cap  # one sleep to near where tasks end, none too long
    w.seen("processing", 36.0)
    inside = s.next_delay(36.0, "processing", 1, expected=timing.forecast(w, 36.0))
    assert s.dense <= inside < 4  # dense where they end, never closer than ``dense``


def test_only_a_few_tasks_explore_at_the_plain_pace():
    s = PollSchedule(jitter=0)
    leaders = [r for r in range(64) if not s.follows(r)]
    assert leaders == [0, 1, 2, 8, 16, 24, 32, 40, 48, 56] and not s.follows(None)
    lead = s.next_delay(10, "processing", 2, rank=0)
    follow = s.next_delay(10, "processing", 2, rank=5)
    assert follow == pytest.approx(min(lead * s.follow_factor, s.sparse_cap))
    assert s.next_delay(10, "queueing", 2, rank=5) == s.next_delay(10, "queueing", 2, rank=0)


def test_a_blocking_wait_aims_at_a_shorter_delay_than_the_background_poller():
    timing = Timing()
    for took in range(20, 121, 5):
        timing.observe(("m", "720p", 5, False), float(took))
    w = Watch(("m", "720p", 5, False))
    w.seen("queueing", 0.0)
    w.seen("processing", 1.0)
    w.seen("processing", 60.0)
    s = PollSchedule(jitter=0)
    f = timing.forecast(w, 60.0)
    background = s.next_delay(60.0, "processing", 3, expected=f)
    waiting = s.next_delay(60.0, "processing", 3, expected=f, lag=s.wait_lag)
    assert s.dense <= waiting < background
