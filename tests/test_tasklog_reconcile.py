"""Uncertain submissions settled through the public API only: from the service's signed
callback (a real receiver on loopback) or from a task id found elsewhere (checked against the
service by its payload). The simulator creates the task and drops the answer to the POST."""

from __future__ import annotations

import warnings

import pytest
from conftest import make_image
from simhelpers import CallbackReceiver
from waiting import wait_for

from vidu_nb.client import ViduClient
from vidu_nb.errors import ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import UncertainSubmissionsWarning

pytestmark = pytest.mark.stores

IMAGE = make_image(160, 120)


def req(i: int = 0, **kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=13) as s:
        yield s


def uncertain_submissions(sim, log, requests) -> list[str]:
    """Submit through a poller while every answer to a POST is lost: all become uncertain
    (the poller's own search of the task list is off: these tests settle them by hand)."""
    sim.faults.add("drop_after", count=len(requests), method="POST")
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, find_uncertain=False) as poller,
    ):
        handles = [poller.submit(r) for r in requests]
        assert poller.wait_all(30)
    assert [r["client_ref"] for r in log.uncertain()] == handles
    return handles


def final_callbacks(receiver: CallbackReceiver, count: int) -> list:
    return wait_for(
        lambda: (
            (done := [r for r in receiver.received if r.body["state"] == "success"])
            and len(done) == count
            and done
        )
    )


def test_uncertain_submission_is_settled_by_its_callback(sim, log):
    with CallbackReceiver() as receiver:
        [handle] = uncertain_submissions(sim, log, [req(1, callback_url=receiver.url)])
        [final] = final_callbacks(receiver, 1)
        received = list(receiver.received)
    with ViduClient.for_simulator(sim) as client:
        for got in received:  # every state change the service posted, in arrival order
            assert client.verify_callback("POST", got.path, got.query, got.headers)
            assert log.reconcile_from_callback(got.body) == log.get_by_ref(handle)["row_id"]
        row = log.get_by_ref(handle)
        assert (row["task_id"], row["state"]) == (final.body["id"], "success")
        assert row["credits"] == final.body["credits"] and row["error"] is None
        assert log.uncertain() == []
        stale = {**received[0].body, "state": "processing"}  # a late, older callback
        log.reconcile_from_callback(stale)
        assert log.get(row["task_id"])["state"] == "success"
        with warnings.catch_warnings():
            warnings.simplefilter("error", UncertainSubmissionsWarning)  # nothing uncertain
            poller = Poller.resume(client, log)  # fetches the video of the reconciled task
        try:
            assert poller.wait_all(30)
        finally:
            poller.stop()
    assert log.get(row["task_id"])["video_path"] is not None
    assert log.reconcile_from_callback({**final.body, "id": "999", "payload": "x"}) is None


def test_reconcile_by_task_id_checks_the_payload(sim, log):
    with CallbackReceiver() as receiver:  # stands in for the dashboard: where ids are found
        refs = uncertain_submissions(
            sim, log, [req(2, callback_url=receiver.url), req(3, callback_url=receiver.url)]
        )
        finals = final_callbacks(receiver, 2)
    ids = {got.body["payload"]: got.body["id"] for got in finals}
    first, second = refs
    with ViduClient.for_simulator(sim) as client:
        with pytest.raises(ViduError, match="another task"):
            log.reconcile(first, ids[second], client=client)
        assert log.get_by_ref(first)["task_id"] is None  # a refused match changes nothing
        log.reconcile(first, ids[first], client=client)
        assert log.get_by_ref(first)["state"] == "success"  # fetched: the service's state
        log.reconcile(second, ids[second])  # no client: kept until a poller follows it
        assert log.get_by_ref(second)["state"] == "created" and log.pending() == [ids[second]]
        with pytest.raises(ViduError, match="already has task"):
            log.reconcile(second, ids[first])
        poller = Poller.resume(client, log, cache=False)
        try:
            assert poller.wait_all(30)
        finally:
            poller.stop()
    assert log.get(ids[second])["state"] == "success" and log.uncertain() == []


def test_callback_matching_several_submissions_is_refused(log):
    shared = Img2VideoRequest(image=IMAGE, prompt="p", payload="experiment-7")
    log.record_uncertain(shared, "ref-a", "dropped")
    log.record_uncertain(shared, "ref-b", "dropped")
    body = {"id": "42", "state": "success", "credits": 10, "payload": "experiment-7"}
    with pytest.raises(ViduError, match="matches 2 uncertain"):
        log.reconcile_from_callback(body)
    log.reconcile("ref-b", "42")  # the user decides; then the callback applies to it
    assert log.reconcile_from_callback(body) == log.get("42")["row_id"]
    assert log.get("42")["state"] == "success" and log.get_by_ref("ref-b")["task_id"] == "42"
    with pytest.raises(ViduError, match="no task id"):
        log.reconcile_from_callback('{"state": "success"}')


def test_only_uncertain_submissions_are_reconciled(log):
    log.record_uncertain(req(4), "ref-failed", "refused", state="failed", err_code="Unauthorized")
    with pytest.raises(ViduError, match="'failed'"):
        log.reconcile("ref-failed", "7")
    with pytest.raises(ViduError, match="no task with client_ref"):
        log.reconcile("ref-unknown", "7")
