"""Uncertain submissions are found without a callback: the poller lists the tasks created
around the submission and queries each candidate for the ``client_ref`` in its payload. A
found task is followed and downloaded; one never created stays ``uncertain`` saying what was
searched; a request is never sent twice, a candidate never queried twice."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from conftest import make_image
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller, PollerEvent
from vidu_nb.tracking.tasklog import UncertainSubmissionsWarning
from vidu_nb.tracking.tasklog.search import NOT_FOUND

IMAGE = make_image(160, 120)


def req(i: int = 0, **kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=21) as s:
        yield s


def queried(sim, task_id: str) -> int:
    return sim.count("GET", f"/tasks/{task_id}/creations")


def listings(sim) -> int:
    """Requests for the task list (``GET /ent/v2/tasks``, not a task's own path)."""
    return sum(1 for r in list(sim.requests) if r.method == "GET" and r.path == "/ent/v2/tasks")


def test_a_lost_answer_is_found_in_the_task_list_and_the_video_arrives(sim, log):
    sim.faults.add("drop_after", count=1, method="POST")  # created, answer lost
    events: list[PollerEvent] = []
    with ViduClient.for_simulator(sim) as client, Poller(client, log) as poller:
        poller.subscribe(events.append)
        lost, fine = poller.submit_many([req(1), req(2)])  # no callback_url anywhere
        assert poller.wait_all(60)
    tasks = {t.fields["payload"]: t.id for t in sim.engine.tasks()}
    assert len(tasks) == 2  # each request sent once, the lost one never again
    assert sim.count("POST", "/img2video") == 2
    row = log.get_by_ref(lost)
    assert row["task_id"] == tasks[lost] and row["state"] == "success"
    assert row["video_path"] is not None and row["error"] is None
    assert poller.task_id(lost) == tasks[lost]
    states = list(log.events(tasks[lost])["state"])
    assert states[:3] == ["queued", "submitting", "uncertain"] and states[-1] == "success"
    found = [e for e in events if e.handle == lost and e.old_state == "uncertain"]
    assert found and found[0].task_id == tasks[lost]
    assert any(e.kind == "files" and e.handle == lost for e in events)
    assert poller.stats.searches >= 1
    assert queried(sim, tasks[fine]) >= 1 and log.uncertain() == []


def test_a_request_that_never_arrived_stays_uncertain_saying_what_was_searched(sim, log):
    with ViduClient.for_simulator(sim) as other:  # a task created elsewhere meanwhile
        foreign = other.submit(req(9), client_ref="vidu-nb:someone-else")
    sim.faults.add("drop", count=1, method="POST")  # closed before anything was created
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, uncertain_window=1.0, clock_skew=0.5) as poller,
    ):
        sim.set_created_at(foreign.id, datetime.now(timezone.utc))  # inside the window
        lost, mine = poller.submit_many([req(1), req(2)])
        assert poller.wait_all(30)  # the first search is done; later ones go on
        assert until(lambda: (log.get_by_ref(lost)["error"] or "").startswith(NOT_FOUND))
        assert poller.stats.searches >= 2  # searched more than once while the window lasted
    row = log.get_by_ref(lost)
    assert row["state"] == "uncertain" and row["task_id"] is None
    assert "1 candidate(s) not in the log" in row["error"]  # the foreign one; ours are skipped
    assert "UTC" in row["error"] and lost in row["error"]
    assert queried(sim, foreign.id) == 1  # its payload is remembered, never asked again
    assert [t.fields["payload"] for t in sim.engine.tasks()].count(lost) == 0  # not resent
    assert log.get_by_ref(mine)["state"] == "success"
    assert log.searchable() == []  # a later resume does not search it again


def test_resume_does_not_search_again_once_the_search_is_over(sim, log):
    sim.faults.add("drop", count=1, method="POST")
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, uncertain_window=0.0, clock_skew=0.0) as poller,
    ):
        (lost,) = poller.submit_many([req(1)])
        assert poller.wait_all(30)
    assert log.get_by_ref(lost)["error"].startswith(NOT_FOUND)
    lists = listings(sim)
    assert lists >= 1
    with ViduClient.for_simulator(sim) as client:
        with pytest.warns(UncertainSubmissionsWarning):
            poller = Poller.resume(client, log, cache=False)
        assert poller.wait_all(30)
        poller.stop()
    assert listings(sim) == lists


def test_a_client_without_a_task_list_leaves_the_row_for_reconcile(sim, log):
    class TaskOnlyClient:  # the TaskService protocol only: get and submit
        def __init__(self, client):
            self._client = client

        def submit(self, request, *, client_ref=None):
            return self._client.submit(request, client_ref=client_ref)

        def get(self, task_or_id):
            return self._client.get(task_or_id)

    sim.faults.add("drop_after", count=1, method="POST")
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(TaskOnlyClient(client), log, cache=False) as poller,
    ):
        assert not poller.finds_uncertain
        (lost,) = poller.submit_many([req(1)])
        assert poller.wait_all(30)
    assert log.get_by_ref(lost)["state"] == "uncertain"
    assert listings(sim) == 0


def test_find_uncertain_refuses_a_match_it_cannot_tell_apart(sim, log):
    shared = dict(payload="sweep-7")  # the user's own payload: no client_ref in it
    log.record_uncertain(req(1, **shared), "vidu-nb:a", "dropped")
    with ViduClient.for_simulator(sim) as client:
        twins = [client.submit(req(1, **shared)) for _ in range(2)]
        other = client.submit(req(2, **shared))  # same payload, another prompt: not a fit
        result = log.find_uncertain(client, "vidu-nb:a", window=0, skew=5)
    assert result.status == "ambiguous" and result.candidates == 3
    assert all(t.id in result.message for t in twins) and other.id not in result.message
    row = log.get_by_ref("vidu-nb:a")
    assert row["state"] == "uncertain" and row["error"] == result.message
