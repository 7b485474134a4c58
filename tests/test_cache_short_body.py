"""A body shorter than its Content-Length is caught by the cache's own size check (not by the
HTTP library, which depends on its version): never kept, retried, then a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
import urllib3
from simhelpers import serving

from vidu_nb.client.task import Creation, Task
from vidu_nb.tracking.cache import DownloadError, VideoCache

BODY = bytes(range(256)) * 64  # 16,384 bytes
HITS: dict[str, int] = {}


class ShortHost(BaseHTTPRequestHandler):
    """Promises ``len(BODY)`` bytes; ``/short`` always sends 1,000 of them, ``/once`` only the
    first time; the connection is closed after the body either way."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        HITS[path] = HITS.get(path, 0) + 1
        short = path == "/short" or (path == "/once" and HITS[path] == 1)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY[:1000] if short else BODY)
        self.close_connection = True


@pytest.fixture(scope="module")
def host() -> Iterator[str]:
    with serving(ShortHost) as url:
        yield url


@pytest.fixture
def cache(tmp_path) -> Iterator[VideoCache]:
    HITS.clear()
    c = VideoCache(tmp_path / "cache", retries=2, backoff=0.01)
    yield c
    c.close()


def task(url: str, tid: str = "t1") -> Task:
    return Task(id=tid, state="success", creations=(Creation("c", url, ""),))


def test_our_check_catches_a_short_body_and_names_the_sizes(cache, host):
    with pytest.raises(DownloadError) as info:
        cache.fetch(task(f"{host}/short?sig=SECRET"))
    text = str(info.value)
    # Our message, not the HTTP library's exception: its own check was not the one that ran.
    assert f"short body: got 1000 of {len(BODY)} bytes" in text and "after 3 tries" in text
    assert "Error" not in text.split("cannot download the video:")[1]  # no library class name
    assert "SECRET" not in text
    assert HITS["/short"] == 3  # retried, then given up
    assert list(cache.folder.iterdir()) == []  # no partial file, no temp file


def test_a_short_body_once_is_retried_and_the_whole_file_kept(cache, host):
    video, _ = cache.fetch(task(f"{host}/once"))
    assert video.read_bytes() == BODY and HITS["/once"] == 2
    assert [p.name for p in cache.folder.iterdir()] == ["t1.mp4"]


def test_the_library_reading_without_its_own_length_check_returns_the_short_body(host):
    """What an older urllib3 does (and ours reads as): the short body comes back without an
    error, so the cache's own comparison is the only guard; this test pins that premise."""
    pool = urllib3.PoolManager()
    resp = pool.request("GET", f"{host}/short", preload_content=False,
                        enforce_content_length=False)  # fmt: skip
    data = b"".join(resp.stream(4096))  # read in chunks, as the cache does
    resp.release_conn()
    assert len(data) == 1000 and resp.headers["Content-Length"] == str(len(BODY))
