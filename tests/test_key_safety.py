"""The API key stays out of everything an error carries, not only its text: error reporters
walk ``__cause__``/``__context__`` and pickles carry attributes."""

from __future__ import annotations

import json
import pickle
import socket

import pytest

from vidu_nb import Img2VideoRequest, SubmissionUncertain, ViduClient, ViduError
from vidu_nb.simulator import Simulator

KEY = "vidu-chain-key-8d2f61c4b9"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__cause__, item.__context__]
    return seen


def _holds_key(obj: object, depth: int = 0) -> bool:
    """Whether the key is reachable from ``obj`` through attributes, headers and containers."""
    if depth > 4 or obj is None:
        return False
    if isinstance(obj, (str, bytes)):
        return KEY in (obj if isinstance(obj, str) else obj.decode(errors="replace"))
    if isinstance(obj, dict) or hasattr(obj, "items"):
        try:
            return any(_holds_key(k, depth + 1) or _holds_key(v, depth + 1) for k, v in obj.items())
        except Exception:
            return False
    if isinstance(obj, (list, tuple, set)):
        return any(_holds_key(v, depth + 1) for v in obj)
    fields = getattr(obj, "__dict__", None)
    return bool(fields) and _holds_key(fields, depth + 1)


def _assert_clean(exc: BaseException) -> None:
    for item in _chain(exc):
        assert KEY not in str(item) and KEY not in repr(item)
        assert not _holds_key(item), f"key reachable from {type(item).__name__}"
        assert not type(item).__module__.startswith(("requests", "urllib3")), type(item)
    pickle.loads(pickle.dumps(exc))  # our errors pickle, and the pickle holds no key
    assert KEY.encode() not in pickle.dumps(exc)


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=200, video_height=64, api_key=KEY) as sim:
        yield sim


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_carries_no_key(closed_port, png_bytes):
    client = ViduClient(KEY, f"http://127.0.0.1:{closed_port}", max_retries=0)
    for call in (lambda: client.get("t1"), lambda: client.cancel("t1")):
        with pytest.raises(ViduError) as info:
            call()
        _assert_clean(info.value)
    with pytest.raises(ViduError) as info:
        client.submit(Img2VideoRequest(image=png_bytes))
    _assert_clean(info.value)


def test_uncertain_submit_and_dropped_get_carry_no_key(sim, png_bytes):
    client = ViduClient(KEY, sim.base_url, timeout=(2, 0.3), max_retries=0)
    sim.faults.add("slow", count=1, method="POST", delay=1.0)
    with pytest.raises(SubmissionUncertain) as info:
        client.submit(Img2VideoRequest(image=png_bytes))
    _assert_clean(info.value)
    sim.faults.add("drop", count=1, method="GET")
    with pytest.raises(ViduError) as info:
        client.get("t1")
    _assert_clean(info.value)


def test_client_reference_is_inside_the_body_limit(png_bytes):
    request = Img2VideoRequest(image=png_bytes, prompt="p")
    bare, _ = request.fitted_body()
    limit = len(json.dumps(bare).encode())  # the body fits exactly without a reference
    body, note = request.fitted_body(limit, default_payload="vidu-nb:" + "0" * 36)
    assert body["payload"].startswith("vidu-nb:")
    assert len(json.dumps(body).encode()) <= limit
    assert note is not None  # the image gave way to the reference, and the user is told
    own, _ = request.replace(payload="mine").fitted_body(default_payload="vidu-nb:x")
    assert own["payload"] == "mine"  # a user's payload is never replaced
