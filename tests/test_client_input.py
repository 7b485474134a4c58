"""Bad input to the client's public methods is refused with a ``ValidationError`` naming the
argument, before anything is sent (counted both by the client and by the stand-in server)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from simhelpers import data_uri
from standin import KEY, standin

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError, ViduError

BODY = {"model": "viduq3-pro", "images": ["https://example.invalid/a.png"], "duration": 5}

CASES: list[tuple[str, Callable[[ViduClient], Any], str]] = [
    ("submit None", lambda c: c.submit(None), "request"),  # type: ignore[arg-type]
    ("submit dict", lambda c: c.submit(BODY), "request"),  # type: ignore[arg-type]
    ("submit text", lambda c: c.submit("a fox"), "request"),  # type: ignore[arg-type]
    ("submit class", lambda c: c.submit(Img2VideoRequest), "request"),  # type: ignore[arg-type]
    (
        "submit empty ref",
        lambda c: c.submit(Img2VideoRequest(image=data_uri()), client_ref=" "),
        "client_ref",
    ),  # fmt: skip
    ("wait nan", lambda c: c.wait("t1", timeout=float("nan")), "timeout"),
    ("wait text", lambda c: c.wait("t1", timeout="10"), "timeout"),  # type: ignore[arg-type]
    ("wait negative", lambda c: c.wait("t1", timeout=-1), "timeout"),
    ("wait bool", lambda c: c.wait("t1", timeout=True), "timeout"),
    ("wait on_update", lambda c: c.wait("t1", on_update="print"), "on_update"),  # type: ignore[arg-type]
    ("task wait nan", lambda c: Task(id="t1").bind(c).wait(timeout=math.nan), "timeout"),
    ("get int", lambda c: c.get(5), "task"),  # type: ignore[arg-type]
    ("get None", lambda c: c.get(None), "task"),  # type: ignore[arg-type]
    ("get list", lambda c: c.get(["t1"]), "task"),  # type: ignore[arg-type]
    ("get blank", lambda c: c.get("   "), "task"),
    ("get blank task", lambda c: c.get(Task(id="")), "task"),
    ("cancel None", lambda c: c.cancel(None), "task"),  # type: ignore[arg-type]
    ("cancel dict", lambda c: c.cancel({"id": "t1"}), "task"),  # type: ignore[arg-type]
    ("wait float id", lambda c: c.wait(3.2), "task"),  # type: ignore[arg-type]
    ("credits text", lambda c: c.credits(detail="yes"), "detail"),  # type: ignore[arg-type]
    ("credits int", lambda c: c.credits(detail=1), "detail"),  # type: ignore[arg-type]
    ("list states int", lambda c: c.list_tasks(states=[1]), "states"),
    ("list page_size", lambda c: c.list_tasks(page_size=101), "page_size"),
]


@pytest.mark.parametrize(("name", "call", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_sending(name: str, call, field: str):
    with standin() as (service, url), ViduClient(KEY, url) as client:
        with pytest.raises(ValidationError) as info:
            call(client)
        assert client.requests_sent == 0
    assert service.seen == []
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}=")
    assert isinstance(info.value, ViduError) and KEY not in str(info.value)


def test_the_request_error_says_what_is_expected():
    with (
        ViduClient(KEY, "http://127.0.0.1:9") as client,
        pytest.raises(ValidationError, match="must be an Img2VideoRequest"),
    ):
        client.submit(BODY)  # type: ignore[arg-type]


def test_good_timeouts_are_accepted():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/tasks/t1/creations", 200, {"id": "t1", "state": "success"})
        for timeout in (None, 0, 0.5, 10, math.inf):
            assert client.wait("t1", timeout=timeout).succeeded
    assert len(service.seen) == 5
