"""States the service does not document (``scheduled``, ``preparation``, ``canceled``, anything)
in the task log: kept raw, shown raw, never a crash; a cancelled spelling is final and refunded,
any other unknown state stays open (followed by ``resume``)."""

from __future__ import annotations

import pandas as pd
import pytest

from vidu_nb import states
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import CLOSED_STATES, LOCAL_STATES
from vidu_nb.tracking.tasklog.reconcile import RECONCILABLE

pytestmark = pytest.mark.stores


@pytest.fixture
def request_(png_bytes):
    return Img2VideoRequest(image=png_bytes, prompt="fox", seed=1, duration=1)


def test_old_names_are_the_one_definition():
    assert CLOSED_STATES == states.FINAL_STATES and "canceled" in CLOSED_STATES
    assert tuple(LOCAL_STATES) == states.UNSENT_STATES
    assert tuple(RECONCILABLE) == states.RECONCILABLE_STATES


def test_unknown_states_are_stored_raw_and_stay_open(log, request_):
    for tid in ("a", "b", "c"):
        log.record_submission(request_, Task(id=tid, credits=20))
    assert log.update(Task(id="a", state="scheduled")) is True
    assert log.update(Task(id="b", state="Preparation ")) is True  # odd case and spaces kept
    assert log.update(Task(id="c", state="warming_up")) is True
    assert log.get("a")["state"] == "scheduled" and log.get("a")["finished_at"] is None
    assert log.get("b")["state"] == "Preparation "
    assert log.pending() == ["a", "b", "c"]  # still followed after a restart
    df = log.df
    assert list(df["state"].astype(str)) == ["scheduled", "Preparation ", "warming_up"]
    assert isinstance(df["state"].dtype, pd.CategoricalDtype)
    assert set(log.states_present()) == {"scheduled", "Preparation ", "warming_up"}
    assert list(log.to_frame(state="warming_up")["task_id"]) == ["c"]
    assert list(log.events("a")["state"]) == ["created", "scheduled"]


@pytest.mark.parametrize("spelling", ["canceled", "cancelled", "Canceled"])
def test_a_cancelled_spelling_is_final_and_refunded(log, request_, spelling):
    log.record_submission(request_, Task(id="t", credits=40))
    log.update(Task(id="t", state="scheduled"))
    log.update(Task(id="t", state=spelling))
    row = log.get("t")
    assert row["state"] == spelling and row["finished_at"] is not None
    assert row["credits"] == 0  # the service refunds a cancelled task
    assert log.pending() == []


def test_a_task_first_seen_cancelled_is_final_at_once(log):
    log.update(Task(id="x", state="canceled", credits=15))
    row = log.get("x")
    assert row["finished_at"] is not None and row["credits"] == 0 and log.pending() == []


def test_set_state_cancelled_refunds(log, request_):
    log.record_submission(request_, Task(id="t", credits=40))
    log.set_state("t", "cancelled", "by hand")
    assert log.get("t")["credits"] == 0 and log.pending() == []


def test_a_late_callback_in_an_unknown_state_does_not_undo_a_final_one(log, request_):
    log.record_submission(request_, Task(id="t", payload="p"))
    log.update(Task(id="t", state="success", credits=30))
    log.reconcile_from_callback({"id": "t", "state": "scheduled", "payload": "p"})
    assert log.get("t")["state"] == "success"
    log.update(Task(id="u", state="created"))
    log.reconcile_from_callback({"id": "u", "state": "preparation"})
    assert log.get("u")["state"] == "preparation"  # further along than created
