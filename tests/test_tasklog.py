"""The task log against real SQLite files: round trip, dtypes, filters, exports, migrations."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from stores import stored_bytes

from vidu_nb.client.task import Creation, Task
from vidu_nb.errors import ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.tracking.tasklog import schema as tasklog_schema

pytestmark = pytest.mark.stores

NEXT = tasklog_schema.SCHEMA_VERSION + 1  # a later release's schema, for migration tests


@pytest.fixture
def request_(png_bytes):
    return Img2VideoRequest(image=png_bytes, prompt="a red fox", seed=42, duration=4)


def test_submission_round_trip_and_events(log, request_):
    log.record_submission(
        request_, Task(id="t1", credits=120, trace_ids=("tr-1",)), experiment="ex", tags=["b", "a"]
    )
    assert log.update(Task(id="t1", state="queueing")) is True
    assert log.update(Task(id="t1", state="queueing")) is False
    assert log.update(Task(id="t1", state="processing")) is True
    done = Task(
        id="t1",
        state="success",
        credits=120,
        seed=42,
        creations=(Creation("c", "http://x/v.mp4", "http://x/c.jpg"),),
        trace_ids=("tr-2",),
    )
    assert log.update(done) is True
    row = log.get("t1")
    assert row["state"] == "success" and row["credits"] == 120 and row["seed"] == 42
    assert row["seed_requested"] == 42 and row["duration"] == 4 and row["resolution"] == "720p"
    assert row["tags"] == ["a", "b"] and row["experiment"] == "ex"
    assert row["trace_ids"] == ["tr-1", "tr-2"]
    assert row["video_url"] == "http://x/v.mp4" and row["urls_fetched_at"] is not None
    assert row["submitted_at"] <= row["queueing_at"] <= row["processing_at"] <= row["finished_at"]
    assert list(log.events("t1")["state"]) == ["created", "queueing", "processing", "success"]
    assert log.pending() == []


def test_image_is_fingerprinted_never_stored(log, request_, png_bytes):
    import base64

    log.record_submission(request_, Task(id="t1"))
    row = log.get("t1")
    img = request_.start_image
    assert (row["image_sha256"], row["image_format"]) == (img.sha256, "png")
    assert (row["image_width"], row["image_height"], row["image_bytes"]) == (
        320,
        240,
        len(png_bytes),
    )
    with open(row["thumbnail_path"], "rb") as fh:
        assert fh.read(3) == b"\xff\xd8\xff"  # a JPEG thumbnail file in the cache folder
    assert str(log.cache_dir) in row["thumbnail_path"]
    raw = stored_bytes(log)
    assert b"a red fox" in raw
    assert base64.b64encode(png_bytes)[:60] not in raw


def test_base_url_secrets_are_dropped(log, request_):
    url = "https://user:s3cret@api.example.org:8443/vidu?key=s3cret"
    log.record_submission(request_, Task(id="t1"), base_url=url)
    assert log.get("t1")["base_url"] == "https://api.example.org:8443/vidu"


def test_uncertain_then_reconcile(log, request_):
    log.record_uncertain(request_, "ref-9", "read timeout", experiment="ex")
    assert log.pending() == []
    [row] = log.uncertain()
    assert row["client_ref"] == "ref-9" and row["task_id"] is None
    log.reconcile("ref-9", Task(id="t9", state="processing"))
    row = log.get("t9")
    assert row["state"] == "processing" and row["experiment"] == "ex" and row["error"] is None
    assert log.pending() == ["t9"] and log.uncertain() == []
    with pytest.raises(ViduError, match="ref-404"):
        log.reconcile("ref-404", Task(id="t10"))


def test_record_submission_completes_uncertain_row(log, request_):
    log.record_uncertain(request_, "ref-1", "dropped")
    log.record_submission(request_, Task(id="t1"), client_ref="ref-1")
    assert len(log) == 1 and log.get("t1")["client_ref"] == "ref-1"


def test_tracked_unknown_task_gets_a_row(log):
    assert log.update(Task(id="ext", state="processing", model="viduq2-pro"))
    assert log.pending() == ["ext"] and log.get("ext")["model"] == "viduq2-pro"


def test_frame_dtypes_and_filters(log, request_):
    for i, (exp, model) in enumerate(
        [("a", "viduq3-pro"), ("a", "viduq2-pro"), ("b", "viduq2-pro")]
    ):
        req = request_.replace(model=model)
        log.record_submission(req, Task(id=f"t{i}", credits=10 * i), experiment=exp, tags=[f"k{i}"])
    log.update(Task(id="t0", state="success", credits=0))
    df = log.df
    assert len(df) == 3
    assert str(df["submitted_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["finished_at"].dtype) == "datetime64[ns, UTC]"
    assert str(df["credits"].dtype) == "Int64" and str(df["duration"].dtype) == "Int64"
    assert str(df["off_peak"].dtype) == "boolean" and str(df["audio"].dtype) == "boolean"
    assert isinstance(df["state"].dtype, pd.CategoricalDtype)
    assert isinstance(df["prompt"].dtype, pd.StringDtype)
    assert df["wall_time_s"].notna().sum() == 1
    assert list(log.to_frame(experiment="a")["task_id"]) == ["t0", "t1"]
    assert list(log.to_frame(model="viduq2-pro", experiment="b")["task_id"]) == ["t2"]
    assert list(log.to_frame(state=["created"])["task_id"]) == ["t1", "t2"]
    assert list(log.to_frame(tag="k1")["task_id"]) == ["t1"]
    assert list(log.to_frame(tag="K1")["task_id"]) == ["t1"]  # as LIKE: either case (ASCII)
    now = datetime.now(timezone.utc)
    assert len(log.to_frame(since=now - timedelta(hours=1))) == 3
    assert len(log.to_frame(until=now - timedelta(hours=1))) == 0
    assert log.to_frame(experiment="nope").empty


def test_exports_read_back(log, request_, tmp_path):
    log.record_submission(request_, Task(id="t1", credits=5), experiment="ex")
    back = pd.read_csv(log.to_csv(tmp_path / "log.csv"))
    assert back.loc[0, "task_id"] == "t1" and back.loc[0, "credits"] == 5
    pq = pd.read_parquet(log.to_parquet(tmp_path / "log.parquet"))
    assert pq.loc[0, "prompt"] == "a red fox"
    assert str(pq["submitted_at"].dtype).startswith("datetime64")


def test_tag_and_notes_and_files(log, request_, tmp_path):
    log.record_submission(request_, Task(id="t1"), tags=["x"])
    log.tag("t1", tags=["y", "x"], notes="best so far")
    video = log.cache_dir / "t1.mp4"
    log.set_files("t1", video, None)
    row = log.get("t1")
    assert row["tags"] == ["x", "y"] and row["notes"] == "best so far"
    assert row["video_path"] == str(video.resolve())
    with pytest.raises(ViduError, match="comma"):
        log.tag("t1", tags=["a,b"])
    with pytest.raises(ViduError, match="nope"):
        log.tag("nope", tags=["a"])


def test_tag_filter_takes_wildcards_literally(log, request_):
    for tid, tag in [("t1", "v_1"), ("t2", "vx1"), ("t3", "50%"), ("t4", "50 off"), ("t5", "a\\b")]:
        log.record_submission(request_, Task(id=tid), tags=[tag, "other"])
    picked = {tag: list(log.to_frame(tag=tag)["task_id"]) for tag in ("v_1", "50%", "a\\b", "%")}
    assert picked == {"v_1": ["t1"], "50%": ["t3"], "a\\b": ["t5"], "%": []}
    assert list(log.to_frame(tag="_")["task_id"]) == []


def test_default_path_and_env(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("")  # a project's root
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIDU_LOG_PATH", raising=False)
    with TaskLog() as log:
        assert log.path.resolve() == (tmp_path / "vidu_tasks.sqlite").resolve()
        assert log.cache_dir.name == "vidu_tasks_cache"
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "sub" / "mine.sqlite"))
    with TaskLog() as log:
        assert log.path == tmp_path / "sub" / "mine.sqlite" and log.path.exists()


def test_wal_and_schema_version(tmp_path):
    TaskLog(tmp_path / "tasks.sqlite").close()
    conn = sqlite3.connect(tmp_path / "tasks.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == tasklog_schema.SCHEMA_VERSION
    conn.close()


def test_old_log_is_migrated(tmp_path, request_, monkeypatch):
    path = tmp_path / "old.sqlite"
    with TaskLog(path) as log:
        log.record_submission(request_, Task(id="t1"))

    def add_rating(conn):
        conn.execute("ALTER TABLE tasks ADD COLUMN later INTEGER")

    monkeypatch.setattr(tasklog_schema, "MIGRATIONS", [*tasklog_schema.MIGRATIONS, add_rating])
    monkeypatch.setattr(tasklog_schema, "SCHEMA_VERSION", NEXT)
    with TaskLog(path) as log:
        assert log.get("t1")["later"] is None and log.df.loc[1, "task_id"] == "t1"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == NEXT
    conn.close()


def test_newer_log_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    TaskLog(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ViduError, match="upgrade vidu-nb"):
        TaskLog(path)


def test_closed_log_says_so(tmp_path):
    log = TaskLog(tmp_path / "x.sqlite")
    log.close()
    with pytest.raises(ViduError, match="closed"):
        log.pending()
