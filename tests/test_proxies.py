"""Corporate networks: the environment's proxy is used for the real host, never for loopback,
and no credentials from ``~/.netrc`` ever reach a file host."""

from __future__ import annotations

import http.server
import threading

import pytest
import requests

from vidu_nb import ConnectionFailed, Img2VideoRequest, SubmissionUncertain, ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.cache import VideoCache


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Stands in for a proxy (records CONNECT) and for a file host (records headers)."""

    seen: list[tuple[str, str, dict[str, str]]] = []

    def _record(self) -> None:
        self.seen.append((self.command, self.path, dict(self.headers)))

    def do_CONNECT(self) -> None:  # noqa: N802
        self._record()
        self.send_response(502)
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        self._record()
        body = b"x" * 10
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder():
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_real_host_goes_through_the_environment_proxy(recorder, monkeypatch, png_bytes):
    proxy = f"http://127.0.0.1:{recorder.server_address[1]}"
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = ViduClient(api_key="k-secret", base_url="https://api.vidu.com", max_retries=0)
    with pytest.raises((ConnectionFailed, SubmissionUncertain)):
        client.get("123")
    # The request went to the proxy as a tunnel to the real host, and nowhere else.
    assert [(m, p) for m, p, _ in _Recorder.seen] == [("CONNECT", "api.vidu.com:443")]


def test_loopback_simulator_ignores_the_proxy(recorder, monkeypatch, png_bytes, tmp_path):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{recorder.server_address[1]}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with Simulator(speed=200, video_height=64) as sim:
        client = ViduClient.for_simulator(sim)
        task = client.submit(Img2VideoRequest(image=png_bytes, duration=1)).wait(timeout=60)
        assert task.succeeded
        video, _ = VideoCache(tmp_path).fetch(task, client)
        assert video.stat().st_size > 0
    assert _Recorder.seen == []


def test_file_downloads_carry_no_credentials(recorder, monkeypatch, tmp_path):
    port = recorder.server_address[1]
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    # Plain requests would attach the netrc password; the cache must not.
    plain = requests.get(f"http://127.0.0.1:{port}/plain", timeout=5)
    assert plain.ok and "Authorization" in _Recorder.seen[-1][2]
    from vidu_nb.client.task import Creation, Task

    task = Task(
        id="t1", state="success", creations=(Creation(url=f"http://127.0.0.1:{port}/v.mp4"),)
    )
    VideoCache(tmp_path / "cache").fetch(task)
    file_requests = [h for m, p, h in _Recorder.seen if p.startswith("/v.mp4")]
    assert file_requests and all("Authorization" not in h for h in file_requests)
