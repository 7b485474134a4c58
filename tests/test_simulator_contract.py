"""The simulator against the API contract: one test per divergence fixed."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests
from simhelpers import data_uri, image_bytes

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=200, seed=3) as server:
        yield server


def _submit_url(sim: Simulator) -> str:
    return sim.base_url + "/ent/v2/img2video"


def test_a_null_duration_means_the_model_default_like_every_other_null_field(sim):
    body = {"model": "viduq3-pro", "images": [data_uri()], "duration": None, "seed": None}
    resp = requests.post(_submit_url(sim), json=body, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["duration"] == 5
    body["model"] = "vidu2.0"
    assert (
        requests.post(_submit_url(sim), json=body, headers=AUTH, timeout=10).json()["duration"] == 4
    )


def test_auth_schemes_are_matched_without_regard_to_case():
    """RFC 7235: the scheme is case-insensitive; ``--auth-scheme bearer`` must let our
    client (which sends ``Bearer``) in."""
    with Simulator(speed=200, auth_scheme="bearer", prefix="/vidu") as sim:
        with ViduClient(sim.api_key, sim.base_url, "Bearer") as client:
            task = client.submit(Img2VideoRequest(image=image_bytes(), duration=1))
            assert task.id
        wrong = requests.get(
            sim.base_url + f"/ent/v2/tasks/{task.id}/creations",
            headers={"Authorization": "Token sim-key"},
            timeout=10,
        )
        assert wrong.status_code == 401
    with Simulator(speed=200) as sim:
        for header in ("token sim-key", "BEARER sim-key"):
            resp = requests.get(
                sim.base_url + "/ent/v2/tasks/1/creations",
                headers={"Authorization": header},
                timeout=10,
            )
            assert resp.status_code == 404 and resp.json()["reason"] == "TaskNotFound"


def test_a_chunked_request_body_is_read(sim):
    body = json.dumps({"model": "viduq3-pro", "images": [data_uri()], "duration": 1}).encode()
    with requests.Session() as session:
        resp = session.post(
            _submit_url(sim),
            data=iter([body[:100], body[100:]]),  # no length known: sent chunked
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=10,
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["duration"] == 1
        # the connection is still in step: the next request on it is answered correctly
        again = session.get(
            sim.base_url + f"/ent/v2/tasks/{resp.json()['task_id']}/creations",
            headers=AUTH,
            timeout=10,
        )
        assert again.status_code == 200 and again.json()["id"] == resp.json()["task_id"]


def test_a_chunked_body_over_20_mb_is_refused(sim):
    piece = b"A" * (1 << 20)
    head = b'{"model": "viduq3-pro", "images": ["'

    def chunks() -> Iterator[bytes]:
        yield head
        for _ in range(21):
            yield piece
        yield b'"]}'

    resp = requests.post(_submit_url(sim), data=chunks(), headers=AUTH, timeout=30)
    assert resp.status_code == 400
    assert resp.json()["reason"] == "PageSizeOutOfRange" and "20 MB" in resp.json()["message"]
    assert sim.engine.tasks() == []


def test_an_unknown_transfer_encoding_is_refused_not_misread(sim):
    port = sim.port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            b"POST /ent/v2/img2video HTTP/1.1\r\nHost: x\r\nAuthorization: Token sim-key\r\n"
            b"Transfer-Encoding: gzip\r\n\r\n"
        )
        received = b""
        while chunk := conn.recv(65536):  # the server closes: it cannot tell where a body ends
            received += chunk
        answer = received.decode(errors="replace")
    assert answer.startswith("HTTP/1.1 400") and "BadRequest" in answer
