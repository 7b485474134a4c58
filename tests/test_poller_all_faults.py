"""The poller and the log under faults. A task the service created is
never recorded as refused when a log write fails; throttling, server errors, dropped
connections, failing tasks, forgotten tasks, expired and truncated downloads all end with every
task final (or knowingly left for resume) and the log consistent. Faults come from the
simulator's rules and from real SQLite triggers; nothing of our own code is mocked."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import requests
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.ledger import Ledger
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.recipe import read_recipe
from vidu_nb.tracking.tasklog import TaskLog


def stream_hash(path: Path) -> str:
    """A hash of every stream's packets (``ffmpeg -f streamhash``): equal for two files whose
    audio and video are the same, whatever their metadata says."""
    import imageio_ffmpeg

    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-map", "0"]
    cmd += ["-c", "copy", "-f", "streamhash", "-hash", "md5", "-"]
    return subprocess.run(cmd, capture_output=True, check=True, text=True).stdout


IMAGE = make_image(160, 120)
# A log that refuses to give a row its task id (as a full disk or a lock would, for that write).
REFUSE_TASK_ID = """
CREATE TRIGGER refuse_task_id BEFORE UPDATE OF task_id ON tasks
WHEN OLD.task_id IS NULL AND NEW.task_id IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END
"""


def req(i: int = 0, **kw) -> Img2VideoRequest:
    kw.setdefault("duration", 1)
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=9) as s:
        yield s


def _sql(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)


def test_a_created_task_the_log_cannot_record_is_uncertain_not_failed(sim, tmp_path):
    path = tmp_path / "log.sqlite"
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        _sql(path, REFUSE_TASK_ID)
        # Its own search of the task list would find the task but could not record it either;
        # here the row is settled by hand, from the task id kept in its error.
        with Poller(client, log, cache=False, find_uncertain=False) as poller:
            handle = poller.submit(req(1))
            assert poller.wait_all(30)
        (created,) = sim.engine.tasks()  # the service made (and charges) the task
        row = log.get_by_ref(handle)
        assert row["state"] == "uncertain" and created.id in row["error"]
        _sql(path, "DROP TRIGGER refuse_task_id")
        log.reconcile(handle, created.id, client)  # the id in the error settles it
        poller = Poller.resume(client, log, cache=False)
        try:
            assert poller.wait_all(30)
        finally:
            poller.stop()
        row = log.get_by_ref(handle)
        assert row["task_id"] == created.id and row["state"] == "success"
        assert Ledger(log).total() == sim.task_state(created.id).credits > 0
    assert sim.count("POST") == 1


def test_a_log_write_failing_once_after_the_submit_is_retried(sim, tmp_path):
    path = tmp_path / "log.sqlite"

    class DropTriggerOnFirstRefusal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "log refused it" in record.getMessage():
                _sql(path, "DROP TRIGGER IF EXISTS refuse_task_id")

    handler = DropTriggerOnFirstRefusal()
    logger = logging.getLogger("vidu_nb.poller")
    logger.addHandler(handler)
    try:
        with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
            _sql(path, REFUSE_TASK_ID)
            with Poller(client, log, cache=False) as poller:
                handle = poller.submit(req(2))
                assert poller.wait_all(30)
            row = log.get_by_ref(handle)
            (created,) = sim.engine.tasks()
            assert row["task_id"] == created.id and row["state"] == "success"
            assert row["credits"] == sim.task_state(created.id).credits
    finally:
        logger.removeHandler(handler)


def test_every_fault_at_once_ends_with_every_task_final_and_files_whole(tmp_path):
    path = tmp_path / "log.sqlite"
    events = []
    with Simulator(speed=200, video_height=64, seed=4, url_ttl=1.0) as sim:
        sim.faults.add("rate_limit", count=6, method="GET", retry_after=0.05)
        sim.faults.add("rate_limit", count=3, method="POST", retry_after=0.05)
        sim.faults.add("server_error", probability=0.1, method="GET")
        sim.faults.add("drop", probability=0.05, method="GET")
        sim.faults.add("task_failure", count=2, err_code="AuditSubmitIllegal")
        with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
            # First kernel: follows to the end but keeps no files (say, the cache was off).
            with Poller(client, log, cache=False) as poller:
                poller.subscribe(lambda e: 1 / 0)  # a broken UI callback
                poller.subscribe(events.append)
                handles = poller.submit_many([req(i, off_peak=i % 3 == 0) for i in range(8)])
                assert poller.wait_all(60)
            first = log.to_frame(state="success")["task_id"].iloc[0]
            assert _urls_expire(log.get(first)["video_url"])
            sim.faults.add("drop", count=2, path="/files/")  # downloads cut off
            # Next kernel: fetches every video with expired URLs, refreshed by a query.
            poller = Poller.resume(client, log)
            try:
                assert poller.wait_all(60)
            finally:
                poller.stop()
            df = log.to_frame()
            assert log.integrity_check() == "ok"
        truth = {t.id: sim.task_state(t.id) for t in sim.engine.tasks()}
        served = {i: sim.file_for(i, "video.mp4") for i in truth}
        served = {i: stream_hash(p) for i, p in served.items() if p is not None}
    assert list(df["client_ref"]) == handles and df["task_id"].is_unique
    assert df["state"].isin(["success", "failed"]).all()
    assert (df["state"] == "failed").sum() == 2
    assert set(df.loc[df["state"] == "failed", "err_code"]) == {"AuditSubmitIllegal"}
    for row in df.itertuples():
        assert row.state == truth[row.task_id].state
        assert row.credits == truth[row.task_id].credits
        if row.state == "success":
            video = path.parent / row.video_path
            # the cache writes the recipe into the file's metadata: its media must be whole
            assert stream_hash(video) == served[row.task_id]
            assert read_recipe(video)["task_id"] == row.task_id
    cache = path.parent / f"{path.stem}_cache"
    assert not list(cache.glob(".*.part"))  # no partial file left behind
    assert len(truth) == 8 and sim.count("POST", "/img2video") == 8 + 3
    assert {e.new_state for e in events} >= {"success", "failed"}


def _urls_expire(url: str) -> bool:
    """Wait (bounded) until a URL stored in the log answers 403."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if requests.get(url, timeout=5).status_code == 403:
            return True
        time.sleep(0.1)
    return False


def test_a_long_429_burst_on_submit_delays_requests_but_never_fails_them(sim, tmp_path):
    burst = 15  # more than a request's tries against a connection that keeps failing
    sim.faults.add("rate_limit", count=burst, method="POST", retry_after=0.02)
    with (
        ViduClient.for_simulator(sim, max_retries=0) as client,  # the poller does the waiting
        TaskLog(tmp_path / "log.sqlite") as log,
        Poller(client, log, cache=False) as poller,
    ):
        handles = poller.submit_many([req(i) for i in range(3)])
        assert poller.wait_all(60)
        df = log.to_frame()
    assert list(df["client_ref"]) == handles and (df["state"] == "success").all()
    assert sim.count("POST", "/img2video") == burst + 3  # each created once
