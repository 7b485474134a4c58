"""States the documentation does not list (``scheduled``, ``preparation``, ``canceled``, anything
new) never crash the client: the raw value is kept, waiting goes on, a cancelled spelling ends
``wait`` with the task (not ``TaskFailed``)."""

from __future__ import annotations

import math

import pytest
from standin import KEY, standin

from vidu_nb import PollSchedule, ViduClient
from vidu_nb.client.task import FINAL_STATES, LOCAL_STATES, STATES, Task
from vidu_nb.client.timing import Timing, Watch
from vidu_nb.errors import TaskFailed

QUERY = "/ent/v2/tasks/t1/creations"
FAST = PollSchedule.for_speed(1000, jitter=0)


def answers(service, *states: str) -> None:
    for state in states:
        service.answer("GET", QUERY, 200, {"id": "t1", "state": state, "err_code": ""})


@pytest.mark.parametrize("cancelled", ["canceled", "cancelled", "Canceled ", "CANCELLED"])
def test_a_cancelled_spelling_ends_wait_with_the_task(cancelled: str):
    with standin() as (service, url), ViduClient(KEY, url, schedule=FAST) as client:
        answers(service, "scheduled", "preparation", cancelled)
        updates: list[str] = []
        task = client.wait("t1", timeout=30, on_update=lambda t: updates.append(t.state))
    assert task.state == cancelled  # raw, as the service sent it
    assert task.done and task.cancelled and not task.succeeded and not task.failed
    assert updates == ["scheduled", "preparation", cancelled]
    assert len(service.seen) == 3  # one check per answer: nothing after the final state


def test_unknown_states_are_waited_through_and_kept_raw():
    with standin() as (service, url), ViduClient(KEY, url, schedule=FAST) as client:
        answers(service, "Scheduling", "brand-new-state", "processing", "success")
        updates: list[str] = []
        task = client.wait(
            Task(id="t1", state="created"), on_update=lambda t: updates.append(t.state)
        )
    assert task.state == "success" and task.succeeded
    assert updates == ["Scheduling", "brand-new-state", "processing", "success"]


def test_a_failed_task_still_raises_and_a_cancelled_one_does_not():
    with standin() as (service, url), ViduClient(KEY, url, schedule=FAST) as client:
        answers(service, "failed")
        with pytest.raises(TaskFailed):
            client.wait("t1")
        service.answers.clear()
        answers(service, "canceled")
        assert client.wait("t1").state == "canceled"


def test_a_bound_tasks_wait_ends_on_cancel_too():
    with standin() as (service, url), ViduClient(KEY, url, schedule=FAST) as client:
        answers(service, "queueing", "canceled")
        task = client.get("t1")
        assert task.state == "queueing" and not task.done
        assert task.wait(timeout=30).cancelled


@pytest.mark.parametrize("raw", [42, 0.5, True, ["x"], {"a": 1}, "", None, " scheduled "])
def test_task_from_response_survives_any_state_value(raw):
    task = Task.from_response({"id": "t1", "state": raw})
    assert isinstance(task.state, str) and task.id == "t1"
    assert task.done is False
    previous = Task(id="t1", state="processing")
    assert Task.from_response({"state": raw}, previous=previous).id == "t1"


@pytest.mark.parametrize(
    "state", ["scheduled", "scheduling", "preparation", "mystery", "", "PROCESSING", "Queueing"]
)
def test_the_schedule_paces_any_open_state(state: str):
    schedule = PollSchedule(jitter=0)
    for attempt in range(5):
        delay = schedule.next_delay(12.0, state, attempt, off_peak=attempt % 2 == 1)
        assert 0 < delay < math.inf


@pytest.mark.parametrize("state", ["success", "failed", "canceled", "cancelled", " Canceled"])
def test_the_schedule_stops_on_any_final_spelling(state: str):
    assert PollSchedule().next_delay(5.0, state, 0) == 0.0
    assert PollSchedule().base_delay(5.0, state, 0) == 0.0


def test_processing_is_recognised_whatever_its_case():
    schedule = PollSchedule(jitter=0, first=1.0, processing_first=3.0)
    assert schedule.base_delay(0, "Processing", 0) == 3.0
    assert schedule.base_delay(0, "scheduled", 1) == 2.0  # the first waits ``first_check``


def test_timing_learns_through_undocumented_waiting_states():
    """``scheduled`` and ``preparation`` are waiting, like ``queueing``: the task started in
    (2, 3], not at 1, whatever the estimator then makes of that interval."""

    def learned(waiting: tuple[str, str]) -> tuple[float, float] | None:
        timing = Timing()
        watch = Watch(("viduq2-pro", "720p", 5, False))
        for at, state in [(0, "created"), (1, waiting[0]), (2, waiting[1]), (3, "processing"),
                          (10, "processing"), (12, "success")]:  # fmt: skip
            timing.record(watch, Task(id="t", state=state), at, at)
        return timing.duration(watch.key)

    undocumented = learned(("scheduled", "preparation"))
    assert undocumented is not None
    assert undocumented == learned(("queueing", "queueing"))
    assert undocumented != learned(("processing", "processing"))  # it would start at 1


def test_timing_ignores_a_cancelled_task_and_odd_states():
    timing = Timing()
    watch = Watch(("viduq2-pro", "720p", 5, False))
    for at, state in [(0, "mystery"), (1, "processing"), (2, "???"), (3, "canceled")]:
        timing.record(watch, Task(id="t", state=state), at, at)
    assert len(timing) == 0  # only successes teach how long processing takes


def test_old_names_are_still_importable():
    assert STATES == ("created", "queueing", "processing", "success", "failed")
    assert {"success", "failed", "canceled", "cancelled"} <= FINAL_STATES
    assert "uncertain" in LOCAL_STATES and "cancelled" in LOCAL_STATES
