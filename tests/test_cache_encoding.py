"""The video cache against a real local HTTP server. A body sent
with a Content-Encoding is checked against its Content-Length as sent (it was refused every
time), and a cut-off encoded body is still never kept under the final name."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from simhelpers import serving

from vidu_nb.client.task import Creation, Task
from vidu_nb.tracking.cache import DownloadError, VideoCache

BODY = bytes(range(256)) * 400
ZIPPED = gzip.compress(BODY)


class GzipHost(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        cut = self.path.startswith("/cut")
        body = ZIPPED[: len(ZIPPED) // 2] if cut else ZIPPED
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(ZIPPED)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    with serving(GzipHost) as url:
        yield url


def task(url: str) -> Task:
    return Task(id="t1", state="success", creations=(Creation("c", url, ""),))


def test_an_encoded_body_is_checked_against_the_length_sent(tmp_path, host):
    cache = VideoCache(tmp_path / "cache", retries=1, backoff=0.01)
    video, _ = cache.fetch(task(f"{host}/v.mp4"))
    assert video.read_bytes() == BODY
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["t1.mp4"]


def test_a_cut_off_encoded_body_is_never_kept(tmp_path, host):
    cache = VideoCache(tmp_path / "cache", retries=1, backoff=0.01)
    with pytest.raises(DownloadError):
        cache.fetch(task(f"{host}/cut.mp4"))
    assert list((tmp_path / "cache").iterdir()) == []
