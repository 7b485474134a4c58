"""The poller's default ``max_running`` follows the service: its ``concurrency_limit`` less
what already runs or waits elsewhere for the organisation, read in the background at start;
5 when the service cannot say; an explicit ``max_running`` wins."""

from __future__ import annotations

import pytest
from conftest import make_image
from ui_standin import StandIn, stand_in
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller

IMAGE = make_image(160, 120)


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def overlapping(sim, ids) -> int:
    """Most of these tasks the server held unfinished at once, from its own timestamps."""
    views = [sim.task_state(i) for i in ids]
    return max(sum(1 for w in views if w.created_at <= v.created_at < w.finished_at) for v in views)


def run_sweep(sim, log, count: int, **poller_kwargs) -> tuple[Poller, list[str]]:
    with (
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, **poller_kwargs) as poller,
    ):
        handles = poller.submit_many([req(i) for i in range(count)])
        assert poller.wait_all(120)
    return poller, [str(poller.task_id(h)) for h in handles]


@pytest.mark.parametrize("limit", [2, 7])
def test_the_default_follows_the_service_limit(log, limit):
    # Slow enough that a whole sweep is in flight at once when the limit allows it.
    with Simulator(speed=5, video_height=64, concurrency=limit, seed=limit) as sim:
        poller, ids = run_sweep(sim, log, limit + 2)
        assert poller.max_running == limit and poller.limit_source == "service"
        assert overlapping(sim, ids) == limit  # used the whole limit, never more
        assert sim.count("GET", "/credits") == 1


def test_what_runs_elsewhere_is_left_its_share(log):
    with Simulator(speed=1, video_height=64, concurrency=7, seed=1) as sim:
        with ViduClient.for_simulator(sim) as other:  # another kernel, still running these
            for i in range(3):
                other.submit(req(10 + i))
        with ViduClient.for_simulator(sim) as client:
            poller = Poller(client, log, cache=False).start()
            try:
                assert until(lambda: poller.limit_source == "service")
                assert poller.max_running == 4  # 7 less the 3 busy elsewhere
            finally:
                poller.stop()


def test_an_explicit_max_running_wins_and_nothing_is_asked(log):
    with Simulator(speed=10, video_height=64, concurrency=7, seed=2) as sim:
        poller, ids = run_sweep(sim, log, 4, max_running=2)
        assert poller.max_running == 2 and poller.limit_source == "explicit"
        assert overlapping(sim, ids) <= 2 and sim.count("GET", "/credits") == 0


def test_a_failing_credits_endpoint_leaves_the_default(log):
    with Simulator(speed=100, video_height=64, concurrency=7, seed=3) as sim:
        sim.faults.add("server_error", method="GET", path="/credits")
        with (
            ViduClient.for_simulator(sim, max_retries=0) as client,
            Poller(client, log, cache=False) as poller,
        ):
            handle = poller.submit(req())
            assert poller.wait_all(60)
        assert poller.max_running == 5 and poller.limit_source == "default"
        assert log.get_by_ref(handle)["state"] == "success"
        assert poller.stats.errors == 0  # not knowing the limit is not an error


def test_a_service_without_the_credits_endpoint_leaves_the_default(log):
    # A service with the task endpoints only: the account endpoints answer 404.
    with (
        stand_in(StandIn(tasks={"t1": {"state": "success", "credits": 4}})) as service,
        ViduClient("k", service.url, max_retries=0) as client,
        Poller(client, log, cache=False) as poller,
    ):
        handle = poller.submit(req())
        assert poller.wait_all(30)
    assert poller.max_running == 5 and poller.limit_source == "default"
    assert log.get_by_ref(handle)["task_id"] == "t1"


class TaskOnlyClient:
    """A client of the task endpoints only (``TaskService``: no ``credits``)."""

    def __init__(self, client: ViduClient) -> None:
        self._client = client
        self.base_url = client.base_url

    def submit(self, request, *, client_ref=None):
        return self._client.submit(request, client_ref=client_ref)

    def get(self, task_or_id):
        return self._client.get(task_or_id)


def test_a_client_without_credits_leaves_the_default(log):
    with Simulator(speed=100, video_height=64, concurrency=7) as sim:
        with (
            ViduClient.for_simulator(sim) as client,
            Poller(TaskOnlyClient(client), log, cache=False) as poller,
        ):
            poller.submit(req())
            assert poller.wait_all(30)
        assert poller.max_running == 5 and sim.count("GET", "/credits") == 0
