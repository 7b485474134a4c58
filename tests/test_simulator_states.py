"""Undocumented states on demand: ``force_state`` makes queries, the task list and callbacks
report a raw state (``scheduled``, ``preparation``, ``canceled``) so clients can be tested
with what the service's texts mention but its state list does not."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simhelpers import CallbackReceiver, data_uri

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=20, seed=9, video_height=48, credits=500) as server:
        yield server


def submit(sim: Simulator, **fields: Any) -> str:
    body = {"model": "viduq3-pro", "images": [data_uri(64, 48)], "duration": 1, **fields}
    resp = requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["task_id"])


def state(sim: Simulator, task_id: str) -> str:
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/creations"
    return str(requests.get(url, headers=AUTH, timeout=10).json()["state"])


def until(check: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


@pytest.mark.parametrize("raw", ["scheduled", "preparation", "Some-New-State"])
def test_a_held_task_reports_the_raw_state_until_released(sim, raw):
    with CallbackReceiver() as receiver:
        task_id = submit(sim, callback_url=receiver.url)
        sim.force_state(task_id, raw)
        assert state(sim, task_id) == raw
        control = submit(sim)  # the same task, not held: once it is done, the held one waits
        until(lambda: state(sim, control) == "success")
        assert state(sim, task_id) == raw and sim.task_state(task_id).finished_at is None
        sim.force_state(task_id, None)
        until(lambda: state(sim, task_id) == "success")
        until(lambda: len(receiver.received) >= 3)
    assert [r.body["state"] for r in receiver.received] == [raw, "processing", "success"]


def test_a_hold_with_seconds_ends_by_itself(sim):
    task_id = submit(sim)
    sim.force_state(task_id, "preparation", seconds=0.3)
    assert state(sim, task_id) == "preparation"
    until(lambda: state(sim, task_id) == "success")


def test_a_processing_task_held_does_not_finish(sim):
    task_id = submit(sim)
    until(lambda: state(sim, task_id) == "processing")
    sim.force_state(task_id, "scheduled")
    control = submit(sim)  # started later, same work: done while the held one is not
    until(lambda: state(sim, control) == "success")
    assert state(sim, task_id) == "scheduled" and sim.task_state(task_id).finished_at is None
    sim.force_state(task_id, None)
    until(lambda: state(sim, task_id) == "success")


def test_canceled_is_final_refunded_and_called_back(sim):
    with CallbackReceiver() as receiver:
        task_id = submit(sim, callback_url=receiver.url)
        assert sim.balance() == 470
        sim.force_state(task_id, "canceled")
        until(lambda: len(receiver.received) >= 1)
        control = submit(sim)  # once a task submitted later is done, nothing more comes
        until(lambda: state(sim, control) == "success")
        url = f"{sim.base_url}/ent/v2/tasks/{task_id}/creations"
        body = requests.get(url, headers=AUTH, timeout=10).json()
    assert (body["state"], body["credits"], body["creations"]) == ("canceled", 0, [])
    assert sim.balance() == 500 - 30  # the control task's charge only
    assert [r.body["state"] for r in receiver.received] == ["canceled"]
    listed = requests.get(sim.base_url + "/ent/v2/tasks", params={"states": "cancelled"},
                          headers=AUTH, timeout=10).json()  # fmt: skip
    assert [t["id"] for t in listed["tasks"]] == [task_id]  # either spelling finds it
    cancel = requests.post(f"{sim.base_url}/ent/v2/tasks/{task_id}/cancel", json={"id": task_id},
                           headers=AUTH, timeout=10)  # fmt: skip
    assert cancel.status_code == 400 and "canceled" in cancel.json()["message"]
    with pytest.raises(ValueError, match="already ended"):
        sim.force_state(task_id, "scheduled")


def test_a_forced_state_is_what_the_list_filters_by(sim):
    held, other = submit(sim), submit(sim)
    sim.force_state(held, "scheduled")
    listed = requests.get(sim.base_url + "/ent/v2/tasks", params={"states": "scheduled"},
                          headers=AUTH, timeout=10).json()  # fmt: skip
    assert [t["id"] for t in listed["tasks"]] == [held] and other != held


def test_documented_states_and_unknown_tasks_are_refused(sim):
    task_id = submit(sim)
    for documented in ("success", "failed", "queueing"):
        with pytest.raises(ValueError, match="documented"):
            sim.force_state(task_id, documented)
    with pytest.raises(ValueError, match="non-empty"):
        sim.force_state(task_id, " ")
    with pytest.raises(KeyError):
        sim.force_state("404", "scheduled")
