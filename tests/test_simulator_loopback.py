"""The simulator's own outgoing requests (image fetches, callbacks) stay on this machine."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from simhelpers import CallbackReceiver, image_bytes

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(speed=200, seed=3) as server:
        yield server


def _submit_url(sim: Simulator) -> str:
    return sim.base_url + "/ent/v2/img2video"


class _Proxy(BaseHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.path)
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_POST = do_GET


class _FileHost(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        data = image_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return server


def test_loopback_image_fetches_and_callbacks_never_go_through_the_environment_proxy(
    monkeypatch,
):
    _Proxy.seen = []
    proxy, files = _serve(_Proxy), _serve(_FileHost)
    try:
        address = f"http://127.0.0.1:{proxy.server_address[1]}"
        for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
            monkeypatch.setenv(name, address)
        for name in ("no_proxy", "NO_PROXY"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setattr(urllib.request, "_opener", None)  # the stdlib reads env once
        image = f"http://127.0.0.1:{files.server_address[1]}/frame.png"
        with Simulator(speed=200) as sim, CallbackReceiver() as receiver:
            body = {"model": "viduq3-pro", "images": [image], "duration": 1,
                    "callback_url": receiver.url}  # fmt: skip
            with requests.Session() as session:
                session.trust_env = False
                resp = session.post(_submit_url(sim), json=body, headers=AUTH, timeout=10)
            assert resp.status_code == 200, resp.text
            task_id = resp.json()["task_id"]
            deadline = time.monotonic() + 20
            while len(receiver.received) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            states = [r.body["state"] for r in receiver.received]
            assert states == ["processing", "success"]
            assert all(r.body["id"] == task_id for r in receiver.received)
        assert _Proxy.seen == []
    finally:
        for server in (proxy, files):
            server.shutdown()
            server.server_close()


def _own_non_loopback_address() -> str | None:
    """This machine's address on its network (no packet is sent to find it), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_loopback_image_url_redirected_off_loopback_is_not_followed(sim):
    """The simulator fetches loopback image URLs only; a redirect elsewhere must not be
    followed (here: to this machine's own network address, where a real image waits)."""
    address = _own_non_loopback_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    files = ThreadingHTTPServer((address, 0), _FileHost)
    threading.Thread(
        target=files.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    target = f"http://{address}:{files.server_address[1]}/frame.png"
    try:
        requests.get(target, timeout=5).raise_for_status()  # reachable: the test means something
    except requests.RequestException:
        files.shutdown()
        files.server_close()
        pytest.skip("this machine's network address is not reachable from itself")

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

    redirect = _serve(Redirect)
    try:
        image = f"http://127.0.0.1:{redirect.server_address[1]}/frame.png"
        body = {"model": "viduq3-pro", "images": [image]}
        resp = requests.post(_submit_url(sim), json=body, headers=AUTH, timeout=20)
        assert resp.status_code == 400, resp.text
        assert resp.json()["reason"] == "ImageDownloadFailure"
    finally:
        for server in (redirect, files):
            server.shutdown()
            server.server_close()
