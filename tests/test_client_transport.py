"""Transport edge cases with real sockets: refused connects, dropped answers, header parsing."""

from __future__ import annotations

import socket
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests

from vidu_nb.client.config import Secret
from vidu_nb.client.transport import RetryPolicy, Transport, parse_retry_after, was_sent
from vidu_nb.errors import ConnectionFailed, SubmissionUncertain

FAST = RetryPolicy(max_retries=2, base=0.01, cap=0.02)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Hangup:
    """A server that reads each request and closes without answering; counts requests."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.requests: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                if data:
                    self.requests.append(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hangup():
    server = Hangup()
    yield server
    server.close()


def transport(port: int, **kw) -> Transport:
    return Transport(f"http://127.0.0.1:{port}", Secret("k-123"), retry=FAST, **kw)


def test_refused_connect_is_known_not_sent():
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.post(f"http://127.0.0.1:{closed_port()}/x", json={}, timeout=2)
    assert was_sent(info.value) is False


def test_dropped_answer_counts_as_sent(hangup):
    session = requests.Session()
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        session.post(f"http://127.0.0.1:{hangup.port}/x", json={}, timeout=2)
    assert was_sent(info.value) is True


def test_read_timeout_counts_as_sent():
    assert was_sent(requests.exceptions.ReadTimeout("slow")) is True
    assert was_sent(requests.exceptions.ConnectTimeout("no route")) is False


def test_submit_to_closed_port_is_retried_then_fails_plainly():
    sleeps: list[float] = []
    t = transport(closed_port(), sleep=sleeps.append)
    with pytest.raises(ConnectionFailed, match="refused"):
        t.post("/ent/v2/img2video", {"model": "m"}, client_ref="vidu-nb:abc")
    assert len(sleeps) == FAST.max_retries  # resent: it provably never left


def test_submit_whose_answer_is_dropped_is_never_resent(hangup):
    t = transport(hangup.port, sleep=lambda s: None)
    with pytest.raises(SubmissionUncertain) as info:
        t.post("/ent/v2/img2video", {"model": "m"}, client_ref="vidu-nb:abc")
    assert info.value.client_ref == "vidu-nb:abc"
    assert "vidu-nb:abc" in str(info.value)
    assert len(hangup.requests) == 1
    assert b"k-123" not in str(info.value).encode()


def test_get_whose_answer_is_dropped_is_retried(hangup):
    t = transport(hangup.port, sleep=lambda s: None)
    with pytest.raises(ConnectionFailed):
        t.get("/ent/v2/tasks/1/creations")
    assert len(hangup.requests) == FAST.max_retries + 1


def test_no_retries_from_urllib3_either(hangup):
    # max_retries=0: exactly one request reaches the server even for a GET.
    t = Transport(f"http://127.0.0.1:{hangup.port}", Secret("k"), retry=RetryPolicy(max_retries=0))
    with pytest.raises(ConnectionFailed):
        t.get("/x")
    assert len(hangup.requests) == 1


def test_authorization_header_carries_scheme_and_key(hangup):
    t = Transport(f"http://127.0.0.1:{hangup.port}/vidu", Secret("k-123"), "Bearer")
    with pytest.raises(SubmissionUncertain):
        t.post("/ent/v2/img2video", {})
    head = hangup.requests[0].decode("latin-1")
    assert head.startswith("POST /vidu/ent/v2/img2video ")
    assert "Authorization: Bearer k-123\r\n" in head
    assert "k-123" not in repr(t) and "k-123" not in repr(t.session.auth)


def test_retry_after_seconds_and_http_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(later) <= 31
    past = format_datetime(datetime.now(timezone.utc) - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(past) == 0.0


def test_backoff_is_capped_and_honours_retry_after():
    policy = RetryPolicy(base=0.5, cap=4.0)
    assert all(0.25 <= policy.delay(0) <= 0.5 for _ in range(50))
    assert all(2.0 <= policy.delay(10) <= 4.0 for _ in range(50))
    assert policy.delay(0, retry_after=3.0) >= 3.0
