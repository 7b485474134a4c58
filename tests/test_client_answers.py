"""Answers the real service (or a gateway in front of it) may give that the simulator does not.

A tiny local HTTP server stands in for the remote service and sends exactly the bytes under
test; the simulator covers the rest (slow answers and 429s while ``wait`` has a deadline).
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from vidu_nb.client import ViduClient
from vidu_nb.errors import (
    APIError,
    RateLimited,
    ServerError,
    SubmissionUncertain,
    ValidationError,
    WaitTimeout,
)
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator

TASK = "/ent/v2/tasks/t1/creations"
SUBMIT = "/ent/v2/img2video"
GATEWAY_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class Service:
    """Answers each path with a fixed (status, headers, body); counts the requests."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hits: list[str] = []
        service = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                service.hits.append(self.path)
                status, headers, body = service.answers.get(self.path, (404, {}, b""))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def answer(self, path: str, status: int, body: bytes | dict | list, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers[path] = (status, headers, raw)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service() -> Iterator[Service]:
    s = Service()
    yield s
    s.close()


@pytest.fixture
def client(service: Service) -> Iterator[ViduClient]:
    with ViduClient("k-1", service.url, max_retries=0, timeout=(2, 2)) as c:
        yield c


@pytest.fixture
def request_(png_path):
    return Img2VideoRequest(image=png_path, duration=1, resolution="540p", prompt="a fox")


# -- bodies that are JSON but not a task -------------------------------------------------------
@pytest.mark.parametrize("body", [[], "ok", [{"id": "t1", "state": "success"}]])
def test_a_query_answer_that_is_not_an_object_is_an_api_error(service, client, body):
    service.answer(TASK, 200, body)
    with pytest.raises(APIError) as info:  # was AttributeError from deep inside Task
        client.get("t1")
    assert info.value.status == 200 and info.value.reason == "InvalidResponse"
    assert "not an object" in str(info.value)


def test_an_error_body_sent_with_200_is_the_error_it_describes(service, client, request_):
    error = {"code": 500, "reason": "InternalServiceFailure", "message": "upstream broke"}
    service.answer(TASK, 200, {**error, "metadata": {"trace_id": "tr-9"}})
    with pytest.raises(ServerError) as info:  # was a Task with id "" and state "created"
        client.get("t1")
    assert info.value.status == 500 and "upstream broke" in str(info.value)
    assert info.value.trace_id == "tr-9"

    service.answer(SUBMIT, 200, error)
    with pytest.raises(SubmissionUncertain) as uncertain:
        client.submit(request_)
    assert "upstream broke" in str(uncertain.value)

    service.answer(TASK, 200, {"code": 0, "message": "ok"})
    with pytest.raises(APIError) as odd:
        client.get("t1")
    assert odd.value.reason == "InvalidResponse" and odd.value.status == 200


def test_a_query_answer_without_id_belongs_to_the_task_asked_for(service, client):
    service.answer(TASK, 200, {"state": "processing", "err_code": "", "credits": 5})
    task = client.get("t1")
    assert (task.id, task.state, task.credits) == ("t1", "processing", 5)


# -- error bodies that are not JSON ------------------------------------------------------------
def test_a_gateway_html_error_page_becomes_a_readable_message(service, client):
    service.answer(TASK, 502, GATEWAY_502, **{"Content-Type": "text/html"})
    with pytest.raises(ServerError) as info:
        client.get("t1")
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.message and "<" not in info.value.message


def test_plain_text_429_and_empty_413_keep_status_and_reason(service, client, request_):
    service.answer(TASK, 429, b"slow down", **{"Retry-After": "3600"})
    with pytest.raises(RateLimited) as limited:
        client.get("t1")
    assert limited.value.retry_after == pytest.approx(3600) and "slow down" in str(limited.value)
    service.answer(SUBMIT, 413, b"")
    with pytest.raises(APIError) as big:
        client.submit(request_)
    assert big.value.status == 413 and "Too Large" in str(big.value)
    assert service.hits.count(SUBMIT) == 1


# -- timeouts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("timeout", [0, -1, None, "5", (5,), (0, 5), (5, float("inf")), True])
def test_unusable_timeouts_are_rejected_when_the_client_is_made(service, timeout):
    with pytest.raises(ValidationError) as info:  # was a bare ValueError on every request
        ViduClient("k-1", service.url, timeout=timeout)
    assert info.value.field == "timeout"


def test_usable_timeouts_are_accepted(service):
    for timeout in (0.5, 7, (1, 30), (2.5, 0.25)):
        with ViduClient("k-1", service.url, timeout=timeout) as c:
            service.answer(TASK, 200, {"id": "t1", "state": "queueing"})
            assert c.get("t1").state == "queueing"


# -- wait keeps its own timeout even when single requests are slow or throttled ----------------
@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=40, video_height=64, seed=3) as server:
        yield server


def test_wait_deadline_bounds_slow_answers(sim, request_):
    with ViduClient.for_simulator(sim, timeout=(2, 2)) as c:
        task = c.submit(request_.replace(duration=16, resolution="1080p"))
        sim.faults.add("slow", method="GET", delay=3.0)
        sent, started = c.requests_sent, time.monotonic()
        try:
            with pytest.raises(WaitTimeout):
                c.wait(task, timeout=0.2)
            elapsed = time.monotonic() - started
        finally:
            sim.faults.clear()
    # Before: five attempts of 2 s each plus backoff (about 13 s) for a 0.2 s timeout.
    assert c.requests_sent - sent <= 2
    assert elapsed < 4


def test_wait_deadline_is_not_slept_past_for_retry_after(sim, request_):
    with ViduClient.for_simulator(sim, timeout=(2, 2)) as c:
        task = c.submit(request_.replace(duration=16, resolution="1080p"))
        sim.faults.add("rate_limit", method="GET", retry_after=2)
        sent, started = c.requests_sent, time.monotonic()
        try:
            with pytest.raises(WaitTimeout):
                c.wait(task, timeout=0.3)
            elapsed = time.monotonic() - started
        finally:
            sim.faults.clear()
    # Before: four Retry-After sleeps of 2 s inside one check.
    assert c.requests_sent - sent <= 2
    assert elapsed < 1.9


# -- field shapes a task answer may take ------------------------------------------------------
@pytest.mark.parametrize("creations", [None, {}, "", ["http://cdn.example/v.mp4"], [None]])
def test_odd_creations_values_are_no_creations_yet(service, client, creations):
    service.answer(TASK, 200, {"id": "t1", "state": "processing", "creations": creations})
    task = client.get("t1")  # a dict or a list of strings was an AttributeError
    assert task.state == "processing" and task.creations == () and task.video_url == ""


def test_null_echo_fields_keep_what_the_submit_answer_said(service, client, request_):
    service.answer(
        SUBMIT,
        200,
        {
            "task_id": "t1",
            "state": "created",
            "seed": 123456789,
            "off_peak": True,
            "credits": 10,
            "created_at": "2025-01-01t15:41:31.968916z",
        },
    )
    task = client.submit(request_)
    assert task.created_at is not None and task.created_at.utcoffset() is not None
    service.answer(
        TASK,
        200,
        {"id": "t1", "state": "queueing", "seed": None, "off_peak": None, "credits": None},
    )
    queried = client.get(task)
    assert (queried.seed, queried.off_peak, queried.credits) == (123456789, True, 10)
    service.answer(TASK, 200, {"id": "t1", "state": "queueing", "off_peak": "false"})
    assert client.get(task).off_peak is False
