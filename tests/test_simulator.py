"""The simulator against plain HTTP (requests): shapes, lifecycle, credits, videos, faults."""

from __future__ import annotations

import base64
import time

import imageio_ffmpeg
import pytest
import requests
from conftest import make_image

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}


def data_uri(width: int = 320, height: int = 240, fmt: str = "PNG") -> str:
    kind = "jpeg" if fmt == "JPEG" else fmt.lower()
    data = base64.b64encode(make_image(width, height, fmt)).decode()
    return f"data:image/{kind};base64,{data}"


@pytest.fixture
def sim():
    with Simulator(speed=200, seed=7) as server:
        yield server


def submit(sim: Simulator, **fields) -> requests.Response:
    body = {"model": "viduq3-pro", "images": [data_uri()], "duration": 2, **fields}
    return requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)


def query(sim: Simulator, task_id: str) -> dict:
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/creations"
    resp = requests.get(url, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_final(sim: Simulator, task_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = query(sim, task_id)
        if data["state"] in ("success", "failed"):
            return data
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish")


def test_submit_response_has_the_documented_fields(sim):
    uri = data_uri()
    resp = submit(sim, images=[uri], seed=42, prompt="a fox")
    assert resp.status_code == 200
    assert resp.headers["X-Trace-Id"]
    body = resp.json()
    assert set(body) == {
        "task_id", "state", "model", "prompt", "images", "duration", "audio", "audio_type",
        "seed", "resolution", "movement_amplitude", "payload", "off_peak", "credits",
        "created_at",
    }  # fmt: skip
    assert body["state"] == "created"
    assert body["images"] == [uri]
    assert body["seed"] == 42
    assert body["resolution"] == "720p"  # model default
    assert body["created_at"].endswith("Z")


def test_task_reaches_success_with_a_playable_h264_video(sim):
    task_id = submit(sim, duration=2).json()["task_id"]
    data = wait_final(sim, task_id)
    assert data["state"] == "success" and data["err_code"] == ""
    (creation,) = data["creations"]
    video = requests.get(creation["url"], timeout=10)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    path = sim._tmp + "/check.mp4"
    with open(path, "wb") as fh:
        fh.write(video.content)
    reader = imageio_ffmpeg.read_frames(path)
    meta = next(reader)
    reader.close()
    assert meta["codec"].startswith("h264")
    assert meta["size"][1] == 240
    frames, secs = imageio_ffmpeg.count_frames_and_secs(path)
    assert abs(secs - 2) <= 2 / 12
