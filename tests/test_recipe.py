"""Videos that carry their recipe: parameters written into the MP4 metadata and a JSON sidecar,
by the video cache (poller downloads, ``vidu-nb submit --download``) and read back with ffmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from vidu_nb import Img2VideoRequest
from vidu_nb.tracking.cache import VideoCache
from vidu_nb.tracking.recipe import (
    RECIPE_FIELDS,
    RecipeError,
    ffmpeg_exe,
    parse_ffmetadata,
    read_metadata,
    read_recipe,
    read_sidecar,
    recipe_of,
    sidecar_path,
    tag_video,
)

HOSTILE = 'two\nlines = ; # \\ end "quoted" <b>bold</b> </script> é 漢字'


def clip(path: Path, seconds: float = 1.0) -> Path:
    """A real H.264 MP4 made with the bundled ffmpeg."""
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
        "-i", "testsrc=size=160x96:rate=12", "-t", str(seconds), "-c:v", "libx264",
        "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def decoded_frames(path: Path) -> int:
    """How many frames ffmpeg decodes from the file (it is still a whole, playable video)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path), "-f", "null", "-"]
    err = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    return int(err.rsplit("frame=", 1)[1].split()[0])


def test_a_recipe_round_trips_through_the_mp4_and_its_sidecar(tmp_path):
    video = clip(tmp_path / "clip.mp4")
    frames = decoded_frames(video)
    recipe = {
        "task_id": "t-1", "experiment": "exp=1;#", "model": "viduq2-turbo", "prompt": HOSTILE,
        "seed": 42, "duration": 2, "resolution": "720p", "off_peak": False,
        "tags": ["a", "b"], "created_at": "2025-01-02T03:04:05.000Z",
    }  # fmt: skip
    assert tag_video(video, recipe) == video
    assert read_recipe(video) == recipe
    assert read_sidecar(video) == recipe
    assert sidecar_path(video) == tmp_path / "clip.json"
    assert json.loads((tmp_path / "clip.json").read_text(encoding="utf-8")) == recipe
    tags = read_metadata(video)  # what any ffmpeg-based tool shows
    assert tags["title"] == HOSTILE and json.loads(tags["comment"]) == recipe
    assert tags["vidu_model"] == "viduq2-turbo" and tags["vidu_seed"] == "42"
    assert tags["vidu_task_id"] == "t-1" and tags["vidu_experiment"] == "exp=1;#"
    assert tags["major_brand"] == "isom"  # the muxer's own, not doubled as "isom;isom"
    assert decoded_frames(video) == frames  # remuxed, not re-encoded or cut
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.json", "clip.mp4"]  # no temp


def test_tagging_again_replaces_the_recipe_and_a_copy_leaves_the_source_alone(tmp_path):
    video = clip(tmp_path / "clip.mp4")
    tag_video(video, {"task_id": "old", "seed": 1})
    tag_video(video, {"task_id": "new", "seed": 2})
    assert read_recipe(video) == {"task_id": "new", "seed": 2}
    source_bytes = video.read_bytes()
    (tmp_path / "out").mkdir()
    out = tag_video(video, {"task_id": "copy"}, tmp_path / "out" / "x.mp4", sidecar=False)
    assert out == tmp_path / "out" / "x.mp4"
    assert read_recipe(out) == {"task_id": "copy"} and not sidecar_path(out).exists()
    assert video.read_bytes() == source_bytes


def test_out_must_exist_as_a_folder(tmp_path):
    video = clip(tmp_path / "clip.mp4")
    with pytest.raises(FileNotFoundError):
        tag_video(video, {"task_id": "x"}, tmp_path / "missing" / "x.mp4")


def test_a_file_that_is_not_an_mp4_is_refused_untouched(tmp_path):
    fake = tmp_path / "fake.mp4"
    fake.write_bytes(b"not a video at all")
    with pytest.raises(RecipeError, match="not an MP4"):
        tag_video(fake, {"task_id": "x"})
    assert fake.read_bytes() == b"not a video at all" and not sidecar_path(fake).exists()
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 20)  # an MP4 header, no movie
    with pytest.raises(RecipeError, match="ffmpeg"):
        tag_video(broken, {"task_id": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "fake.mp4"]


def test_recipe_of_a_log_row_keeps_parameters_not_callbacks_or_payload():
    row = {
        "task_id": "t1", "model": "viduq3-pro", "prompt": "p", "seed": None, "seed_requested": 7,
        "duration": 5, "resolution": "540p", "experiment": "e", "payload": "token=secret",
        "callback_url": "https://hooks.example/x?sig=secret", "tags": "x,y", "audio": None,
        "credits": float("nan"), "base_url": "https://api.example",
    }  # fmt: skip
    recipe = recipe_of(row)
    assert recipe == {
        "task_id": "t1", "experiment": "e", "model": "viduq3-pro", "prompt": "p", "seed": 7,
        "duration": 5, "resolution": "540p", "tags": ["x", "y"],
    }  # fmt: skip
    assert "secret" not in json.dumps(recipe) and set(recipe) <= set(RECIPE_FIELDS)
    assert recipe_of(None) == {} and recipe_of({}) == {}


def test_parse_ffmetadata_unescapes_and_stops_at_the_first_section():
    text = ";FFMETADATA1\ntitle=a\\=b\\;c\\#d\\\\e\\\nnext line\nkey=v\n[STREAM]\nx=1\n"
    assert parse_ffmetadata(text) == {"title": "a=b;c#d\\e\nnext line", "key": "v"}


def test_the_poller_downloads_videos_that_carry_their_recipe(live, png_bytes):
    _sim, _client, log, poller = live
    request = Img2VideoRequest(
        image=png_bytes, model="viduq2-turbo", prompt=HOSTILE, duration=1, resolution="540p",
        seed=11,
    )  # fmt: skip
    handle = poller.submit(request, experiment="recipes", tags=["kept"])
    assert poller.wait_all(60)
    row = log.get_by_ref(handle)
    assert row["state"] == "success" and row["video_path"]
    video = Path(row["video_path"])
    recipe = read_recipe(video)
    assert recipe == read_sidecar(video) == recipe_of(log.get(row["task_id"]))
    expected = {
        "task_id": row["task_id"], "experiment": "recipes", "model": "viduq2-turbo",
        "prompt": HOSTILE, "seed": 11, "duration": 1, "resolution": "540p", "tags": ["kept"],
    }  # fmt: skip
    assert expected.items() <= recipe.items()
    assert recipe["credits"] == row["credits"] and recipe["finished_at"].endswith("Z")


def test_a_video_cached_without_a_recipe_gets_one_when_fetched_with_it(live, png_bytes, tmp_path):
    _sim, client, log, poller = live
    task = client.wait(client.submit(Img2VideoRequest(image=png_bytes, duration=1)), timeout=60)
    cache = VideoCache(tmp_path / "videos")
    video, _cover = cache.fetch(task, client)
    assert not sidecar_path(video).exists() and read_recipe(video) == {}
    again, _ = cache.fetch(task, client, recipe={"task_id": task.id, "seed": task.seed})
    assert again == video and read_recipe(video) == {"task_id": task.id, "seed": task.seed}
    cache.close()


def test_a_download_that_is_not_an_mp4_still_gets_its_sidecar(tmp_path, caplog):
    from http.server import BaseHTTPRequestHandler

    from simhelpers import serving

    from vidu_nb.client.task import Creation, Task

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b"a WebM or anything ffmpeg will not remux as MP4"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as root:
        task = Task("odd", "success", creations=(Creation(url=f"{root}/v.mp4"),))
        cache = VideoCache(tmp_path / "c", retries=0)
        video, _ = cache.fetch(task, recipe={"task_id": "odd", "prompt": "p"})
        cache.close()
    assert video.read_bytes().startswith(b"a WebM")
    assert read_sidecar(video) == {"task_id": "odd", "prompt": "p"}
