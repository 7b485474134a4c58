"""Base URLs as users paste them, and redirects: against the simulator and a local server."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator

import pytest

from vidu_nb.client import ViduClient
from vidu_nb.client.config import ClientConfig
from vidu_nb.errors import AuthenticationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator

KEY = "sk-live-REDIRECT-SECRET-77"


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=40, prefix="/vidu", api_key=KEY, video_height=64, seed=5) as server:
        yield server


@pytest.mark.parametrize("tail", ["/ent/v2", "/ent/v2/", "/ENT/V2/", "//ent/v2"])
def test_a_base_url_copied_with_the_api_root_still_reaches_the_api(sim, png_path, tail):
    request = Img2VideoRequest(image=png_path, duration=1, resolution="540p")
    with ViduClient.for_simulator(sim) as plain:
        expected = plain.base_url
    with ViduClient(KEY, sim.base_url + tail) as c:  # was a 404 on every call
        assert c.base_url == expected
        task = c.submit(request)
        assert c.get(task).id == task.id
    assert sim.count("POST", "/vidu/ent/v2/img2video") >= 1


def test_the_reseller_root_as_documented_keeps_its_prefix_and_scheme():
    cfg = ClientConfig.resolve("k", "https://api.powertokens.ai/vidu/ent/v2/", env={})
    assert (cfg.base_url, cfg.auth_scheme) == ("https://api.powertokens.ai/vidu", "Bearer")
    assert ClientConfig.resolve("k", "https://api.vidu.com/v2", env={}).base_url.endswith("/v2")


class Recorder:
    """A loopback server that redirects every request to ``target`` or answers a task."""

    def __init__(self, target: str = "") -> None:
        self.target = target
        self.auth: list[str | None] = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                rec.auth.append(self.headers.get("Authorization"))
                if rec.target:
                    self.send_response(307)
                    self.send_header("Location", rec.target + self.path)
                    body = b""
                elif self.headers.get("Authorization"):
                    self.send_response(200)
                    body = json.dumps({"id": "t1", "state": "processing"}).encode()
                else:
                    self.send_response(401)
                    body = b'{"code": 401, "reason": "Unauthorized", "message": "no key"}'
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def other_host() -> Iterator[Recorder]:
    rec = Recorder()
    yield rec
    rec.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])  # another host; another port
def test_a_redirect_never_carries_the_key_to_another_origin(other_host, host):
    front = Recorder(f"http://{host}:{other_host.port}")
    try:
        with (
            ViduClient(KEY, f"http://127.0.0.1:{front.port}", max_retries=0) as c,
            pytest.raises(AuthenticationError),
        ):
            c.get("t1")
    finally:
        front.close()
    assert front.auth == [f"Token {KEY}"]
    assert other_host.auth == [None]
