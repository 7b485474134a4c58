"""Signed callbacks, checked against the tasks page and not against our client's verifier.

Each expected signature is computed here with hashlib from the text the page gives, so a
simulator that sorted, decoded or re-encoded the query (or signed any other text) fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests
from simhelpers import data_uri

from vidu_nb.simulator import Simulator
from vidu_nb.simulator.signing import callback_headers, string_to_sign

AUTH = {"Authorization": "Token sim-key"}


def hmac_b64(key: str, text: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()).decode()


def test_the_official_example_signs_the_query_as_written():
    date, nonce, key = "Wed, 02 Oct 2024 08:00:00 GMT", "0f1e2d3c4b5a", "a-literal-key"
    url = "http://127.0.0.1:8080/vidu/callback?name=james&age=36"
    headers = {"Date": date, "x-request-nonce": nonce}
    text = (
        f"POST\n/vidu/callback\nname=james&age=36\nvidu\n{date}\nDate:{date}\n"
        f"x-request-nonce:{nonce}\n"
    )
    assert string_to_sign("POST", url, headers) == text
    signed = callback_headers(key, url, now=1727856000.0, nonce=nonce)
    assert signed["Date"] == date
    assert signed["X-HMAC-SIGNATURE"] == hmac_b64(key, text)
    assert signed["X-HMAC-SIGNED-HEADERS"] == "Date;x-request-nonce"
    assert (signed["X-HMAC-ALGORITHM"], signed["X-HMAC-ACCESS-KEY"]) == ("hmac-sha256", "vidu")


def test_an_empty_path_is_signed_as_a_slash_and_no_query_as_an_empty_line():
    headers = {"Date": "d", "x-request-nonce": "n"}
    assert string_to_sign("post", "http://127.0.0.1:9", headers).startswith("POST\n/\n\nvidu\nd\n")


@dataclass
class RawCall:
    request_line: str
    headers: dict[str, str]
    body: bytes


@contextmanager
def raw_receiver() -> Iterator[tuple[int, list[RawCall]]]:
    """A loopback socket server that keeps each request line exactly as it came off the wire
    (no HTTP library in between to normalise the path or the query)."""
    calls: list[RawCall] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                pairs = (line.split(": ", 1) for line in lines[1:])
                headers = {name.lower(): value for name, value in pairs}  # names ignore case
                length = int(headers.get("content-length", "0"))
                while len(body) < length:
                    body += conn.recv(65536)
                calls.append(RawCall(lines[0], headers, body))
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], calls
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def test_callbacks_sign_an_unsorted_percent_encoded_query_verbatim():
    query = "z=1&a=%2Fx%20y&a=b+c&empty="
    with raw_receiver() as (port, calls), Simulator(speed=200, seed=5) as sim:
        url = f"http://127.0.0.1:{port}/hooks/vidu?{query}"
        body = {"model": "viduq3-pro", "images": [data_uri()], "duration": 1, "callback_url": url}
        resp = requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH)
        assert resp.status_code == 200, resp.text
        deadline = time.monotonic() + 20
        while len(calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert [json.loads(c.body)["state"] for c in calls] == ["processing", "success"]
    assert json.loads(calls[-1].body)["id"] == resp.json()["task_id"]
    for call in calls:
        method, target, _ = call.request_line.split(" ")
        path, _, raw_query = target.partition("?")
        assert (method, path, raw_query) == ("POST", "/hooks/vidu", query)
        h = call.headers
        text = (
            f"POST\n{path}\n{raw_query}\nvidu\n{h['date']}\nDate:{h['date']}\n"
            f"x-request-nonce:{h['x-request-nonce']}\n"
        )
        assert h["x-hmac-signature"] == hmac_b64("sim-key", text)
        assert h["x-hmac-signature"] != hmac_b64("other-key", text)
        sorted_text = text.replace(query, "a=%2Fx%20y&a=b+c&empty=&z=1")
        assert h["x-hmac-signature"] != hmac_b64("sim-key", sorted_text)


def test_every_signing_has_its_own_nonce():
    first = callback_headers("k", "http://127.0.0.1:1/h")
    second = callback_headers("k", "http://127.0.0.1:1/h")
    assert first["x-request-nonce"] != second["x-request-nonce"]
