"""Cancel as the tasks page documents it: ``{"id": "<task id>"}`` in the body (and in the path);
older clients' bodies (empty, ``{}``, ``null``) still work; the success answer is ``{}``,
``null`` or an empty body, as the simulator is told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simhelpers import data_uri

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=50, seed=4, video_height=48) as server:
        yield server


def off_peak_task(sim: Simulator) -> str:
    body = {"model": "viduq3-pro", "images": [data_uri(64, 48)], "duration": 1, "off_peak": True}
    resp = requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["task_id"])


def cancel(sim: Simulator, task_id: str, data: bytes | None) -> requests.Response:
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/cancel"
    headers = {**AUTH, "Content-Type": "application/json"}
    return requests.post(url, data=data, headers=headers, timeout=10)


@pytest.mark.parametrize("body", [b'{"id": "%s"}', b"", b"{}", b"null"])
def test_the_documented_body_and_older_clients_bodies_cancel(sim, body):
    task_id = off_peak_task(sim)
    resp = cancel(sim, task_id, body.replace(b"%s", task_id.encode()))
    assert resp.status_code == 200 and resp.json() == {}
    view = sim.task_state(task_id)
    assert (view.state, view.err_code, view.credits) == ("failed", "UserCancelled", 0)


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b'{"id": "123"}', "BadRequest", "not the task"),
        (b'{"id": 123}', "FieldInvalid", "string"),
        (b"[1]", "BadRequest", '{"id"'),
        (b"{oops", "BadRequest", "JSON"),
    ],
)
def test_a_body_that_names_another_task_or_is_malformed_is_refused(sim, body, reason, words):
    task_id = off_peak_task(sim)
    resp = cancel(sim, task_id, body)
    assert resp.status_code == 400 and resp.json()["reason"] == reason, resp.text
    assert words in resp.json()["message"]
    assert sim.task_state(task_id).state != "failed"  # nothing was cancelled


@pytest.mark.parametrize(("answer", "raw"), [("{}", b"{}"), ("null", b"null"), ("", b"")])
def test_the_success_answer_is_configurable(answer, raw):
    with Simulator(speed=50, video_height=48, cancel_answer=answer) as sim:
        task_id = off_peak_task(sim)
        resp = cancel(sim, task_id, b'{"id": "%s"}' % task_id.encode())
        assert resp.status_code == 200 and resp.content == raw
        assert resp.headers["Content-Length"] == str(len(raw))
        assert sim.task_state(task_id).err_code == "UserCancelled"
        # failures are JSON error bodies whatever the success answer
        again = cancel(sim, task_id, b"")
        assert again.status_code == 400 and again.json()["reason"] == "BadRequest"


def test_an_unknown_cancel_answer_is_refused_at_construction():
    with pytest.raises(ValueError, match="cancel_answer"):
        Simulator(cancel_answer="ok")
