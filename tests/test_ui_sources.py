"""Players outlive their URLs: an expired URL and no cached file -> re-query, cache, stream."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.compare import compare, show


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=60, video_height=96, url_ttl=1) as s:
        yield s


@pytest.fixture(scope="module")
def done_task(sim, png_bytes_module):
    """A finished task whose creation URLs are already expired (403)."""
    client = ViduClient.for_simulator(sim)
    req = Img2VideoRequest(image=png_bytes_module, model="viduq2-turbo", duration=1)
    task = client.wait(client.submit(req), timeout=60)
    assert until(lambda: requests.get(task.video_url, timeout=5).status_code == 403, 10)
    return req, task


@pytest.fixture(scope="module")
def png_bytes_module():
    from conftest import make_image

    return make_image()


def sent_to(grid, n=1):
    assert until(lambda: len(grid.comm.sent) >= n, 20), "the kernel never answered"
    return grid.comm.sent


def test_expired_url_without_cache_or_log_is_refreshed(frontend, sim, done_task):
    _req, task = done_task
    client = ViduClient.for_simulator(sim)
    queries = sim.count("GET", task.id)
    grid = show(task, client=client)  # loopback URL: served through the kernel
    key = grid.items[0]["key"]
    grid.comm.from_browser({"type": "fetch", "key": key, "what": "video"})
    (msg, bufs), *_ = sent_to(grid)
    assert msg["type"] == "blob" and msg["what"] == "video", msg
    assert bufs[0][4:8] == b"ftyp"
    assert sim.count("GET", task.id) > queries  # the task was queried for fresh URLs


def test_expired_url_with_a_log_is_refreshed_cached_and_recorded(
    frontend,
    sim,
    done_task,
    tmp_path,
):
    req, task = done_task
    client = ViduClient.for_simulator(sim)
    log = TaskLog(tmp_path / "log.sqlite")
    log.record_submission(req, task)
    log.update(task)
    old = log.get(task.id)
    assert old["video_path"] is None and old["video_url"] == task.video_url
    grid = compare(log.to_frame(), log=log, client=client)
    key = grid.items[0]["key"]
    grid.comm.from_browser({"type": "fetch", "key": key, "what": "poster"})
    grid.comm.from_browser({"type": "fetch", "key": key, "what": "video"})
    sent = sent_to(grid, 2)
    by_what = {m["what"]: (m, b) for m, b in sent}
    assert by_what["video"][0]["type"] == "blob" and by_what["video"][1][0][4:8] == b"ftyp"
    assert by_what["poster"][0]["type"] == "blob" and by_what["poster"][1][0][:2] == b"\xff\xd8"
    row = log.get(task.id)
    assert row["video_url"] != old["video_url"] and row["urls_fetched_at"] > old["urls_fetched_at"]
    assert row["video_path"] and by_what["video"][1][0] == Path(row["video_path"]).read_bytes()
    assert sim.count("GET", task.id) >= 1
    # A new grid from the log now streams the cached file without any network.
    again = compare(log.to_frame(), log=log)
    assert again.read_source(again.items[0]["key"], "video") == by_what["video"][1][0]


def test_remote_url_that_failed_in_the_browser_is_refreshed(frontend, sim, done_task):
    _req, task = done_task
    row = {"task_id": task.id, "state": "success", "video_url": "https://cdn.invalid/v.mp4"}
    grid = show(row, client=ViduClient.for_simulator(sim))
    item = grid.items[0]
    assert item["video_url"] == "https://cdn.invalid/v.mp4" and not item["video_local"]
    grid.comm.from_browser({"type": "fetch", "key": item["key"], "what": "video", "retry": True})
    (msg, bufs), *_ = sent_to(grid)
    assert msg["type"] == "blob" and bufs[0][4:8] == b"ftyp"


def test_old_urls_are_refreshed_before_use(frontend, sim, done_task):
    _req, task = done_task
    old = datetime.now(timezone.utc) - timedelta(hours=30)
    row = {
        "task_id": task.id,
        "state": "success",
        "video_url": "https://cdn.invalid/v.mp4",  # the browser would try it: route via kernel
        "urls_fetched_at": old,
    }
    grid = show(row, client=ViduClient.for_simulator(sim))
    item = grid.items[0]
    assert item["video_local"] and item["video_url"] == ""
    grid.comm.from_browser({"type": "fetch", "key": item["key"], "what": "video"})
    (msg, bufs), *_ = sent_to(grid)
    assert msg["type"] == "blob" and bufs[0][4:8] == b"ftyp"
    # Without a client nothing can be refreshed: the old URL is still handed to the browser.
    assert show(row).items[0]["video_url"] == "https://cdn.invalid/v.mp4"


def test_without_a_client_an_expired_url_reports_missing(frontend, done_task):
    _req, task = done_task
    grid = show({"task_id": task.id, "state": "success", "video_url": task.video_url})
    grid.comm.from_browser({"type": "fetch", "key": grid.items[0]["key"], "what": "video"})
    (msg, bufs), *_ = sent_to(grid)
    assert msg["type"] == "missing" and bufs == []


def test_non_http_urls_never_reach_the_browser():
    grid = show({"task_id": "t", "state": "success", "video_url": "javascript:alert(1)"})
    assert grid.items[0]["video_url"] == "" and not grid.items[0]["video_local"]
