"""ViduClient against the real loopback simulator: happy paths, errors, faults and waiting."""

from __future__ import annotations

import logging
import socket
import threading
import time
import warnings

import pytest

from vidu_nb.client import ViduClient
from vidu_nb.client.callbacks import callback_headers
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.task import Task
from vidu_nb.errors import (
    AuthenticationError,
    NotFound,
    RateLimited,
    SubmissionUncertain,
    TaskFailed,
    ValidationError,
    WaitTimeout,
)
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.workspace import embedded

KEY = "sk-live-VERY-SECRET-4242"
SPEED = 40.0


@pytest.fixture(scope="module")
def sim():
    with Simulator(host="127.0.0.1", api_key=KEY, speed=SPEED, video_height=64, seed=1) as server:
        yield server


@pytest.fixture
def client(sim):
    sim.faults.clear()
    with ViduClient.for_simulator(sim, timeout=(2, 5)) as c:
        yield c
    sim.faults.clear()


@pytest.fixture
def request_(png_path):
    return Img2VideoRequest(image=png_path, duration=1, resolution="540p", prompt="a fox")


def seen(sim, since: int, method: str | None = None, part: str = "", *, expect: int = 0) -> list:
    """Requests the server logged since ``since``; it logs after answering, so give it a moment."""
    deadline = time.monotonic() + 3
    while True:
        got = [
            r
            for r in sim.requests[since:]
            if (method is None or r.method == method) and part in r.path
        ]
        if len(got) >= expect or time.monotonic() > deadline:
            return got
        time.sleep(0.01)


def submits_with(sim, ref: str) -> int:
    """Tasks the server created for one client reference (counts submits that arrived)."""
    return sum(1 for t in sim.engine.tasks() if t.fields.get("payload") == ref)


# -- happy paths ---------------------------------------------------------------------------
def test_submit_get_wait_success(sim, client, request_):
    task = client.submit(request_)
    assert task.id and task.state in ("created", "queueing", "processing")
    assert task.payload.startswith("vidu-nb:")
    assert task.trace_id and task.credits and task.credits > 0
    states: list[str] = []
    done = task.wait(timeout=30, on_update=lambda t: states.append(t.state))
    assert done.succeeded and done.video_url.startswith("http://127.0.0.1")
    assert states[-1] == "success" and len(states) == len(set(states))
    again = client.get(done.id)
    assert again.state == "success" and again.id == task.id
    assert isinstance(again, Task) and again.refresh().state == "success"


def test_wait_by_id_and_client_ref(sim, client, request_):
    task = client.submit(request_, client_ref="vidu-nb:my-ref")
    assert task.payload == "vidu-nb:my-ref"
    assert client.wait(task.id, timeout=30).succeeded


def test_user_payload_is_left_alone(client, request_):
    task = client.submit(request_.replace(payload="mine"))
    assert task.payload == "mine"


def test_reseller_prefix_and_bearer_scheme(png_path, request_):
    with Simulator(host="127.0.0.1", api_key=KEY, prefix="/vidu", auth_scheme="Bearer", speed=SPEED,
                   video_height=64) as reseller:  # fmt: skip
        assert reseller.base_url.endswith("/vidu")
        with ViduClient(
            KEY, reseller.base_url, "Bearer", schedule=PollSchedule.for_speed(SPEED)
        ) as c:
            assert c.auth_scheme == "Bearer"
            assert c.submit(request_).wait(timeout=30).succeeded
            assert all(r.path.startswith("/vidu/") for r in reseller.requests if r.status)
        with (
            ViduClient(KEY, reseller.base_url, "Token") as wrong,
            pytest.raises(AuthenticationError, match="Bearer"),
        ):
            wrong.get("anything")


def test_cancel_off_peak_task(sim, client, request_):
    task = client.submit(request_.replace(off_peak=True))
    client.cancel(task)
    final = client.wait(task, timeout=30, raise_on_failure=False)
    assert final.state == "failed"


# -- errors --------------------------------------------------------------------------------
def test_wrong_key_is_authentication_error_with_trace_id(sim, request_):
    with ViduClient("not-the-key", sim.base_url) as c, pytest.raises(AuthenticationError) as info:
        c.submit(request_)
    assert info.value.status == 401 and info.value.trace_id
    assert info.value.trace_id in str(info.value)


def test_unknown_task_is_not_found(client):
    with pytest.raises(NotFound) as info:
        client.get("no-such-task")
    assert info.value.status == 404 and info.value.trace_id


def test_empty_task_id_is_rejected_before_sending(client):
    with pytest.raises(ValidationError, match="task_id"):
        client.get("  ")


# -- faults on reads -------------------------------------------------------------------------
def test_get_honours_retry_after_on_429(sim, client, request_):
    task = client.submit(request_)
    sim.faults.add("rate_limit", count=1, method="GET", retry_after=1.0)
    mark, started = len(sim.requests), time.monotonic()
    assert client.get(task).id == task.id
    waited = time.monotonic() - started
    assert waited >= 0.8 * 1.0
    assert [r.status for r in seen(sim, mark, "GET", expect=2)] == [429, 200]


def test_get_recovers_from_server_errors(sim, client, request_):
    task = client.submit(request_)
    sim.faults.add("server_error", count=2, method="GET")
    mark = len(sim.requests)
    assert client.get(task).id == task.id
    assert [r.status for r in seen(sim, mark, "GET", expect=3)] == [500, 500, 200]


def test_get_recovers_from_dropped_connection(sim, client, request_):
    task = client.submit(request_)
    sim.faults.add("drop", count=1, method="GET")
    mark = len(sim.requests)
    assert client.get(task).id == task.id
    assert [r.status for r in seen(sim, mark, "GET", expect=2)] == [0, 200]


def test_get_recovers_from_read_timeout(sim, request_):
    with ViduClient.for_simulator(sim, timeout=(2, 0.3)) as c:
        task = c.submit(request_)
        sim.faults.add("slow", count=1, method="GET", delay=1.0)
        started = time.monotonic()
        assert c.get(task).id == task.id
        assert time.monotonic() - started >= 0.3
        assert c.requests_sent == 3  # submit, the timed-out GET, the retried GET


def test_wait_rides_out_errors_beyond_the_retry_budget(sim, request_):
    with ViduClient.for_simulator(sim, max_retries=0) as c:
        task = c.submit(request_)
        sim.faults.add("server_error", count=3, method="GET")
        assert c.wait(task, timeout=30).succeeded


# -- submits are never sent twice when they may have arrived ---------------------------------
@pytest.mark.parametrize("kind", ["slow", "drop_after", "drop", "server_error"])
def test_uncertain_submit_is_not_resent(sim, request_, kind):
    sim.faults.add(kind, count=1, method="POST", delay=2.0)
    mark = len(sim.requests)
    with (
        ViduClient.for_simulator(sim, timeout=(2, 0.5)) as c,
        pytest.raises(SubmissionUncertain) as info,
    ):
        c.submit(request_)
    ref = info.value.client_ref
    assert ref.startswith("vidu-nb:") and ref in str(info.value)
    if kind in ("drop", "server_error"):  # failed before any work: no task, one POST logged
        assert len(seen(sim, mark, "POST", "img2video", expect=1)) == 1
    else:
        assert submits_with(sim, ref) == 1
    time.sleep(0.1)
    assert submits_with(sim, ref) <= 1 and len(seen(sim, mark, "POST", "img2video")) <= 1


def test_rate_limited_submit_is_retried_after_retry_after(sim, client, request_):
    sim.faults.add("rate_limit", count=1, method="POST", retry_after=0.5)
    mark, started = len(sim.requests), time.monotonic()
    task = client.submit(request_)
    assert time.monotonic() - started >= 0.8 * 0.5
    assert [r.status for r in seen(sim, mark, "POST", "img2video", expect=2)] == [429, 200]
    assert task.id


def test_long_retry_after_is_not_slept_through(sim, client, request_):
    sim.faults.add("rate_limit", count=1, method="POST", retry_after=3600)
    with pytest.raises(RateLimited) as info:
        client.submit(request_)
    assert info.value.retry_after == pytest.approx(3600)


def test_submit_before_server_is_up_is_retried_safely(request_):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box: dict = {}
    ready = threading.Event()

    def start_late() -> None:
        time.sleep(0.3)
        box["sim"] = Simulator(
            host="127.0.0.1", port=port, api_key=KEY, speed=SPEED, video_height=64
        )
        box["sim"].__enter__()
        ready.set()

    starter = threading.Thread(target=start_late)
    starter.start()
    try:
        with ViduClient(KEY, f"http://127.0.0.1:{port}", max_retries=6) as c:
            task = c.submit(request_)
        starter.join()
        assert task.id
        assert len([r for r in box["sim"].requests if r.method == "POST"]) == 1
    finally:
        starter.join()
        if "sim" in box:
            box["sim"].__exit__(None, None, None)


# -- waiting -----------------------------------------------------------------------------------
def test_failed_task_raises_task_failed(sim, client, request_):
    sim.faults.add("task_failure", count=2, err_code="ImageCheckFaceFailed")
    with pytest.raises(TaskFailed) as info:
        client.submit(request_).wait(timeout=30)
    assert info.value.err_code == "ImageCheckFaceFailed" and info.value.task_id in str(info.value)
    final = client.submit(request_).wait(timeout=30, raise_on_failure=False)
    assert final.state == "failed" and final.err_code == "ImageCheckFaceFailed"


def test_wait_timeout_names_the_task(client, request_):
    task = client.submit(request_.replace(duration=16, resolution="1080p"))
    with pytest.raises(WaitTimeout) as info:
        task.wait(timeout=0.2)
    assert info.value.task_id == task.id and task.id in str(info.value)
    assert not info.value.cancelled


def test_wait_timeout_can_cancel_an_off_peak_task(sim, client, request_):
    task = client.submit(request_.replace(off_peak=True))
    with pytest.raises(WaitTimeout) as info:
        task.wait(timeout=0.2, cancel_on_timeout=True)
    assert info.value.cancelled
    assert client.get(task).state == "failed"


def test_client_verifies_callbacks_signed_with_its_key(client):
    url = "http://127.0.0.1:9/hook?b=2&a=1"
    headers = callback_headers(KEY, url)
    assert client.verify_callback("POST", "/hook", "b=2&a=1", headers)
    assert not client.verify_callback("POST", "/hook", "a=1&b=2", headers)  # signed as written
    assert not client.verify_callback("POST", "/other", "b=2&a=1", headers)
    assert not client.verify_callback("POST", "/hook", "b=2&a=1", callback_headers("x", url))


# -- the key never shows ---------------------------------------------------------------------
def test_key_never_in_repr_errors_or_logs(sim, request_, caplog):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with ViduClient.for_simulator(sim, timeout=(2, 0.5)) as c:
        texts += [repr(c), str(c), repr(c.config), repr(c.submit(request_))]
        sim.faults.add("server_error", count=1, method="POST")
        with pytest.raises(SubmissionUncertain) as uncertain:
            c.submit(request_)
        texts += [str(uncertain.value), repr(uncertain.value)]
    with ViduClient(KEY + "x", sim.base_url) as bad, pytest.raises(AuthenticationError) as auth:
        bad.get("t")
    texts += [str(auth.value), repr(auth.value)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("POST" in t for t in texts)  # logging did happen
    assert not [t for t in texts if KEY in t]


# -- a simulator started elsewhere (vidu-nb lab, Binder) ----------------------------------------
def test_loopback_client_polls_at_the_pace_in_the_environment(sim, request_, monkeypatch):
    monkeypatch.setenv("VIDU_SIM_SPEED", str(SPEED))
    with ViduClient(KEY, sim.base_url) as c:
        assert c.schedule == PollSchedule.for_speed(SPEED)
        task = c.submit(request_)
        gets = sim.count("GET", "/creations")
        done = c.wait(task, timeout=60)  # about as many checks as on the real service
        assert done.succeeded and sim.count("GET", "/creations") - gets < 30
    explicit = PollSchedule(first=9)
    with ViduClient(KEY, sim.base_url, schedule=explicit) as c:
        assert c.schedule is explicit  # an explicit schedule still wins
    monkeypatch.delenv("VIDU_SIM_SPEED")
    with ViduClient(KEY, sim.base_url) as c:
        assert c.schedule == PollSchedule()  # unset: real-API pace


def test_remote_client_ignores_the_simulator_speed(monkeypatch):
    monkeypatch.setenv("VIDU_SIM_SPEED", "50")
    with ViduClient(KEY, "https://api.vidu.com") as c:  # nothing is sent
        assert c.schedule == PollSchedule()


# -- the embedded default ----------------------------------------------------------------------
def test_no_configuration_starts_the_embedded_simulator_once(monkeypatch, request_):
    for name in ("VIDU_API_KEY", "VIDU_BASE_URL", "VIDU_AUTH_SCHEME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIDU_SIM_SPEED", str(SPEED))
    embedded.shutdown()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first, second = ViduClient(), ViduClient()
        notes = [w for w in caught if issubclass(w.category, embedded.LocalSimulatorWarning)]
        assert len(notes) == 1
        text = str(notes[0].message)
        assert first.base_url in text and "no credits are charged" in text
        assert first.base_url == second.base_url and first.base_url.startswith("http://127.0.0.1:")
        assert first.is_simulated and "simulated" in repr(first)
        assert first.submit(request_).wait(timeout=30).succeeded
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            forced = ViduClient.simulated()
        assert forced.base_url == first.base_url and not caught
    finally:
        embedded.shutdown()
