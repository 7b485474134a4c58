"""Measures in the task log: ``log.measure`` computes and stores them for a cached video, the
poller measures every downloaded video in the background (real simulator clips, real HTTP),
``log.df`` types the columns, and an older log gains them by migration."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
import stores
from clips import pan_clip, png_bytes, texture

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError, ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.measures import Measures, measure_video
from vidu_nb.tracking.poller import Poller, PollerEvent
from vidu_nb.tracking.tasklog import SCHEMA_VERSION, TaskLog, read_export
from vidu_nb.tracking.tasklog import schema as tasklog_schema

pytestmark = pytest.mark.stores

MEASURE_DTYPES = {
    "motion": "float64",
    "flicker": "float64",
    "first_frame_ssim": "float64",
    "video_duration_s": "float64",
    "video_fps": "float64",
    "video_width": "Int64",
    "video_height": "Int64",
    "video_has_audio": "boolean",
    "measured_at": "datetime64[ns, UTC]",
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    texture(960, 240).save(folder / "source.png")
    return pan_clip(folder / "pan.mp4", folder / "source.png", speed=48)


def cached(log: TaskLog, clip, task_id: str = "t1") -> None:
    """A succeeded task whose video sits in the log's cache folder."""
    log.update(Task(id=task_id, state="success"))
    log.cache_dir.mkdir(parents=True, exist_ok=True)
    target = log.cache_dir / f"{task_id}.mp4"
    target.write_bytes(clip.read_bytes())
    log.set_files(task_id, target)


def test_measure_computes_stores_and_reads_back(log, clip):
    cached(log, clip)
    before = log.df  # cached frame: the next read patches the changed row
    assert before["motion"].isna().all() and log.unmeasured() == ["t1"]
    assert log.measures("t1") is None
    found = log.measure("t1")
    assert isinstance(found, Measures) and found.first_frame_ssim is None  # no start image
    assert (found.width, found.height, found.fps, found.has_audio) == (320, 180, 24.0, False)
    assert found.motion == pytest.approx(48 / 320, rel=0.15)
    assert log.measures("t1") == found and log.unmeasured() == []
    df = log.df
    for col, dtype in MEASURE_DTYPES.items():
        assert str(df[col].dtype) == dtype, col
    row = df.iloc[0]
    assert row["motion"] == found.motion and row["flicker"] == found.flicker
    assert (row["video_width"], row["video_height"]) == (320, 180)
    assert row["video_has_audio"] is not pd.NA and not row["video_has_audio"]
    with TaskLog(stores.target(log)) as again:  # a full read in a new kernel gives the same frame
        pd.testing.assert_frame_equal(again.df[list(MEASURE_DTYPES)], df[list(MEASURE_DTYPES)])


def test_stored_measures_are_not_computed_again_unless_asked(log, clip):
    cached(log, clip)
    found = log.measure(Task(id="t1", state="success"))  # a Task works as well as its id
    (log.cache_dir / "t1.mp4").unlink()
    assert log.measure("t1") == found  # read from the log: the video is not needed
    with pytest.raises(ViduError, match="no cached video"):
        log.measure("t1", again=True)


def test_measure_uses_the_kept_start_image(log, clip, tmp_path):
    """A request's start image is kept with it; the first frame is compared with it."""
    first = texture(960, 240).crop((0, 20, 320, 200))
    request = Img2VideoRequest(image=png_bytes(first), prompt="pan", duration=2)
    log.record_submission(request, Task(id="t1", state="created"))
    log.update(Task(id="t1", state="success"))
    log.cache_dir.mkdir(parents=True, exist_ok=True)
    (log.cache_dir / "t1.mp4").write_bytes(clip.read_bytes())
    log.set_files("t1", log.cache_dir / "t1.mp4")
    assert log.measure("t1").first_frame_ssim > 0.9


def test_bad_arguments_name_what_is_wrong(log, clip):
    with pytest.raises(ValidationError, match="task"):
        log.measure(42)  # type: ignore[arg-type]
    with pytest.raises(ViduError, match="not in"):
        log.measure("nope")
    log.update(Task(id="t2", state="processing"))
    with pytest.raises(ViduError, match="no cached video"):
        log.measure("t2")
    with pytest.raises(ValidationError, match="measures"):
        log.set_measures("t2", {"motion": 1})  # type: ignore[arg-type]
    assert log.integrity_check() == "ok" and log.measures("t2") is None


def test_measures_survive_csv_and_parquet_exports(log, clip, tmp_path):
    cached(log, clip)
    log.measure("t1")
    df = log.df
    for back in (read_export(log.to_csv(tmp_path / "o.csv")),
                 read_export(log.to_parquet(tmp_path / "o.parquet"))):  # fmt: skip
        for col in MEASURE_DTYPES:
            assert str(back[col].dtype) == str(df[col].dtype), col
        assert back.loc[1, "motion"] == pytest.approx(df.loc[1, "motion"])
        assert back.loc[1, "video_width"] == 320


def test_an_older_log_gains_the_measure_columns(tmp_path, clip):
    path = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(path)
    for step in tasklog_schema.MIGRATIONS[:3]:
        step(conn)
    conn.execute("INSERT INTO tasks (task_id, state) VALUES ('old', 'success')")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with TaskLog(path) as log:
        assert log.get("old")["motion"] is None and log.measures("old") is None
        df = log.df
        for col, dtype in MEASURE_DTYPES.items():
            assert str(df[col].dtype) == dtype, col
        cached(log, clip, "old")
        assert log.measure("old").width == 320
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- the poller measures every download, in the background -----------------------------------
@pytest.fixture
def sim():
    # 1080p would be 270 lines: the default 720p makes 180 (videos follow the resolution)
    with Simulator(speed=100, video_height=270, seed=3) as s:
        yield s


def test_the_poller_measures_simulator_clips_in_order_of_their_motion(sim, log):
    """The simulator pans and zooms over the start image from the first frame to the last,
    so one seed's move over 8 s is four times slower than over 2 s; a flat picture shows no
    motion whatever the camera does."""
    textured = png_bytes(texture(640, 360, seed=5, grain=16))  # details survive a 5% zoom
    flat = png_bytes(texture(640, 360).point(lambda _: 128))
    requests = {
        "still": Img2VideoRequest(image=flat, seed=0, duration=2, audio=False),
        "slow": Img2VideoRequest(image=textured, seed=0, duration=8, audio=False),
        "fast": Img2VideoRequest(image=textured, seed=0, duration=2, audio=True),
    }
    events: list[PollerEvent] = []
    with ViduClient.for_simulator(sim) as client, Poller(client, log) as poller:
        poller.subscribe(events.append)
        handles = {k: poller.submit(r, experiment=k) for k, r in requests.items()}
        assert poller.wait_all(120)  # waits for the measures too
        assert poller.stats.measures == 3
    ids = {k: poller.task_id(h) for k, h in handles.items()}
    measured = [e for e in events if e.kind == "measures"]
    assert sorted(e.task_id for e in measured) == sorted(ids.values())
    assert all(isinstance(e.measures, Measures) for e in measured)
    df = log.df.set_index("experiment")
    motion = df["motion"]
    assert motion["still"] < motion["slow"] < motion["fast"]
    assert motion["fast"] > 2.5 * motion["slow"]  # four times the speed, give or take
    assert motion["still"] < 0.01
    assert df.loc["fast", "video_has_audio"] and not df.loc["slow", "video_has_audio"]
    assert (df["video_height"] == 180).all() and (df["video_width"] == 320).all()  # 16:9
    assert (df["video_fps"] == 12).all()
    assert df.loc["slow", "video_duration_s"] == pytest.approx(8, abs=0.2)
    assert (df["flicker"] < 0.005).all()  # a smooth camera move does not flicker
    # The first frame is the start image pushed in by 5%: more alike than another picture of
    # the same kind, less than the cover (which is the first frame, as a JPEG).
    fidelity = df.loc["fast", "first_frame_ssim"]
    video = log.path.parent / df.loc["fast", "video_path"]
    other = measure_video(video, texture(640, 360, seed=6, grain=16)).first_frame_ssim
    cover = measure_video(video, log.path.parent / df.loc["fast", "cover_path"])
    assert other is not None and cover.first_frame_ssim is not None
    assert other < fidelity < cover.first_frame_ssim and cover.first_frame_ssim > 0.9
    assert df["measured_at"].notna().all()


def test_measure_false_leaves_videos_unmeasured(sim, log):
    with pytest.raises(ValidationError, match="measure"):
        Poller(ViduClient.for_simulator(sim), log, measure="yes")  # type: ignore[arg-type]
    image = png_bytes(texture(320, 180))
    with ViduClient.for_simulator(sim) as client, Poller(client, log, measure=False) as poller:
        poller.submit(Img2VideoRequest(image=image, duration=1))
        assert poller.wait_all(60)
        assert poller.stats.measures == 0
    assert log.df["video_path"].notna().all() and log.df["measured_at"].isna().all()
    assert len(log.unmeasured()) == 1


def test_a_video_that_cannot_be_measured_is_an_event_not_a_failure(sim, log):
    """A cached file that is no video: the task stays a success with its files; the poller
    reports the measuring error as an event and goes on."""
    with ViduClient.for_simulator(sim) as client:
        task = client.wait(client.submit(Img2VideoRequest(image=png_bytes(texture(320, 180)))))
        log.update(task)
        log.cache_dir.mkdir(parents=True, exist_ok=True)
        (log.cache_dir / f"{task.id}.mp4").write_bytes(b"no video here" * 50)
        events: list[PollerEvent] = []
        with Poller(client, log) as poller:
            poller.subscribe(events.append)
            poller.download(task.id)
            assert poller.wait_all(60)
    errors = [e for e in events if e.kind == "error"]
    assert len(errors) == 1 and "cannot measure" in (errors[0].error or "")
    row = log.get(task.id)
    assert row["state"] == "success" and row["video_path"] and row["error"] is None
    assert log.measures(task.id) is None
