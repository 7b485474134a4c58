"""The video cache against real HTTP servers: a tiny local one for truncated and flaky bodies,
the simulator for expired URLs; plus hostile task ids against the real file system."""

from __future__ import annotations

import os
import stat
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Creation, Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.cache import DownloadError, VideoCache, safe_name

BODY = bytes(range(256)) * 40  # 10,240 bytes


class FileHost(BaseHTTPRequestHandler):
    hits: dict[str, int] = {}
    auth_headers: list[str] = []

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        path = self.path.split("?")[0]
        n = FileHost.hits[path] = FileHost.hits.get(path, 0) + 1
        if self.headers.get("Authorization"):
            FileHost.auth_headers.append(self.headers["Authorization"])
        if path.startswith("/short") and (path == "/short" or n == 1):
            self._send(200, BODY[:100], length=len(BODY))  # promises more than it sends
        elif path == "/flaky" and n <= 2:
            self._send(500, b"oops")
        elif path == "/throttled" and n == 1:
            self._send(429, b"slow down", headers={"Retry-After": "0.1"})
        elif path == "/gone":
            self._send(404, b"no")
        elif path == "/expired":
            self._send(403, b"expired")
        else:
            self._send(200, BODY)

    def _send(self, status, body, length=None, headers=None):
        self.send_response(status)
        self.send_header("Content-Length", str(length if length is not None else len(body)))
        self.send_header("Connection", "close")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture(scope="module")
def host():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FileHost)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def cache(tmp_path):
    FileHost.hits.clear()
    c = VideoCache(tmp_path / "cache", backoff=0.01)
    yield c
    c.close()


def task_with(video, cover="", tid="t1"):
    return Task(id=tid, state="success", creations=(Creation("c", video, cover),))


def no_temp_files(cache):
    return [p.name for p in cache.folder.iterdir() if p.name.startswith(".")] == []


def test_download_and_skip_when_cached(cache, host):
    video, cover = cache.fetch(task_with(f"{host}/v.mp4?sig=abc", f"{host}/c.png?sig=abc"))
    assert video.read_bytes() == BODY and video.name == "t1.mp4"
    assert cover is not None and cover.name == "t1-cover.png" and cover.read_bytes() == BODY
    again = cache.fetch(task_with(f"{host}/v.mp4?sig=abc", f"{host}/c.png?sig=abc"))
    assert again == (video, cover)
    assert FileHost.hits == {"/v.mp4": 1, "/c.png": 1}  # the second fetch did not download
    assert FileHost.auth_headers == []  # the file host never sees credentials
    assert no_temp_files(cache)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_downloaded_files_get_the_usual_mode_not_mkstemps_0600(cache, host, umask):
    previous = os.umask(umask)
    try:
        video, cover = cache.fetch(task_with(f"{host}/m.mp4", f"{host}/m.png", tid=f"m{umask}"))
    finally:
        os.umask(previous)
    for path in (video, cover):
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_truncated_body_is_retried_and_never_left_in_place(cache, host):
    video, _ = cache.fetch(task_with(f"{host}/short-once"))
    assert video.read_bytes() == BODY and FileHost.hits["/short-once"] == 2
    with pytest.raises(DownloadError, match="of 10240 bytes"):
        cache.fetch(task_with(f"{host}/short", tid="t2"))
    assert not cache.video_path("t2").exists() and no_temp_files(cache)


def test_transient_errors_are_retried(cache, host):
    assert cache.fetch(task_with(f"{host}/flaky"))[0].read_bytes() == BODY
    assert FileHost.hits["/flaky"] == 3
    assert cache.fetch(task_with(f"{host}/throttled", tid="t2"))[0].exists()


def test_permanent_errors_are_not_retried(cache, host):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        cache.fetch(task_with(f"{host}/gone?sig=SECRET"))
    assert "SECRET" not in str(info.value)  # signed query strings stay out of messages
    assert FileHost.hits["/gone"] == 1
    with pytest.raises(DownloadError, match="expired and no client"):
        cache.fetch(task_with(f"{host}/expired"))
    with pytest.raises(DownloadError, match="non-http"):
        cache.fetch(task_with("file:///etc/passwd"))
    with pytest.raises(DownloadError, match="no video URL"):
        cache.fetch(Task(id="t9", state="success"))


def test_missing_cover_does_not_lose_the_video(cache, host):
    video, cover = cache.fetch(task_with(f"{host}/v.mp4", f"{host}/gone"))
    assert video.exists() and cover is None


@pytest.mark.parametrize(
    "hostile", ["../../etc/passwd", "a/b", "..", ".", "a\x00b", "/abs", "C:\\x", "", "é" * 300]
)
def test_hostile_task_ids_stay_inside_the_folder(cache, host, hostile):
    video, cover = cache.fetch(task_with(f"{host}/v.mp4", f"{host}/c.jpg", tid=hostile))
    for path in (video, cover):
        assert path is not None and path.parent == cache.folder and path.read_bytes() == BODY
    assert "/" not in video.name and "\x00" not in video.name and not video.name.startswith(".")
    assert len(video.name) < 120
    assert sorted(p.name for p in cache.folder.iterdir()) == sorted([video.name, cover.name])


def test_safe_name_keeps_plain_ids_and_separates_altered_ones():
    assert safe_name("862431937403174912") == "862431937403174912"
    assert safe_name("a/b") != safe_name("a_b") and safe_name("a/b").startswith("a_b-")
    assert safe_name("..") != safe_name(".") and safe_name("..").startswith("task-")


@pytest.mark.slow
def test_expired_simulator_url_is_refreshed_through_the_client(tmp_path, png_bytes):
    with Simulator(speed=200, url_ttl=1, video_height=64, seed=1) as sim:
        client = ViduClient.for_simulator(sim)
        task = client.wait(client.submit(Img2VideoRequest(image=png_bytes, duration=1)), 30)
        assert task.succeeded
        time.sleep(2.2)  # the signed URLs (1 s, whole-second expiry) are now stale
        cache = VideoCache(tmp_path / "c", backoff=0.01)
        with pytest.raises(DownloadError, match="expired"):
            cache.fetch(task)
        fresh = []
        video, cover = cache.fetch(task, client, on_refresh=fresh.append)
        assert len(fresh) == 1 and fresh[0].video_url != task.video_url
        assert video.read_bytes() == sim.file_for(task.id, "video.mp4").read_bytes()
        assert cover is not None and cover.read_bytes()[:3] == b"\xff\xd8\xff"
        client.close()
        cache.close()
