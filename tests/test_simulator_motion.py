"""The simulator's clips move as the request asks: ``movement_amplitude`` sets how far the
seed's camera move goes (small: a slow pan, medium and auto: the move as written, large: a fast
pan; no effect on q2 and q3 models, as the img2video page says), and ``Simulator(still=True)``
makes clips that do not move. Checked with the real measuring code (OpenCV Farneback) on
videos downloaded over loopback, and through the poller, which measures every download."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
import requests
from clips import png_bytes, texture

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.request.sweep import sweep
from vidu_nb.simulator import Simulator
from vidu_nb.simulator.video import AMPLITUDES, MOTIONS, look_for
from vidu_nb.tracking.measures import measure_video
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

AUTH = {"Authorization": "Token sim-key"}
#: A model on which movement_amplitude has an effect (q2 and q3 models ignore it).
MODEL = "vidu2.0"
SEED = 5
#: Measured motion of each amplitude must be this many times the one below it (they measure
#: about 0.017, 0.05 and 0.12 frame widths per second on this image).
MARGIN = 1.6


@pytest.fixture(scope="module")
def image() -> bytes:
    return png_bytes(texture(640, 360, seed=5, grain=16))  # detail that flow can follow


@pytest.fixture
def sim():
    # 720p gives 180 lines: 320x180 clips, quick to encode and to measure
    with Simulator(speed=200, video_height=270, seed=3) as s:
        yield s


def submit(sim: Simulator, image: bytes, **fields) -> str:
    body = {
        "model": MODEL,
        "images": ["data:image/png;base64," + base64.b64encode(image).decode()],
        "duration": 4,
        "resolution": "720p",
        "seed": SEED,
        **fields,
    }
    resp = requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()["task_id"]


def wait(sim: Simulator, task_id: str) -> dict:
    """The task's answer once it has ended (a success has its video encoded)."""
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/creations"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        data = requests.get(url, headers=AUTH, timeout=10).json()
        if data["state"] in ("success", "failed"):
            assert data["state"] == "success", data
            return data
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} did not finish")


def download(sim: Simulator, task_id: str, folder: Path) -> Path:
    """Wait for the task over HTTP and save its video."""
    video = requests.get(wait(sim, task_id)["creations"][0]["url"], timeout=30)
    assert video.status_code == 200
    path = folder / f"{task_id}.mp4"
    path.write_bytes(video.content)
    return path


def test_a_still_a_small_and_a_large_amplitude_measure_in_order(sim, image, tmp_path):
    """Same image, seed and duration; only the amplitude (or the still switch) differs."""
    sim.still = True
    still = submit(sim, image, movement_amplitude="large")  # still wins over any amplitude
    sim.still = False
    slow = submit(sim, image, movement_amplitude="small")
    fast = submit(sim, image, movement_amplitude="large")
    motion = {
        name: measure_video(download(sim, task_id, tmp_path)).motion
        for name, task_id in (("still", still), ("slow", slow), ("fast", fast))
    }
    assert all(m is not None for m in motion.values()), motion
    assert motion["still"] < 0.005, motion  # nothing moves
    assert motion["slow"] > 0.01, motion  # a pan the measure sees
    assert motion["slow"] > MARGIN * motion["still"], motion
    assert motion["fast"] > 2 * MARGIN * motion["slow"], motion
    assert sim.videos is not None and sim.videos.encodes == 3


def test_a_sweep_over_movement_amplitude_is_measured_in_order_in_the_log(sim, image, tmp_path):
    """The poller downloads each video and measures it in the background; the log's motion
    column orders small < medium < large, and auto is medium (the same clip)."""
    base = Img2VideoRequest(
        image=image, model=MODEL, duration=4, resolution="720p", seed=SEED, audio=False
    )
    plan = sweep(base, movement_amplitudes=["small", "medium", "large", "auto"])
    assert [c["movement_amplitude"] for c in plan.combos] == ["small", "medium", "large", "auto"]
    with TaskLog(tmp_path / "tasks.sqlite") as log:
        with ViduClient.for_simulator(sim) as client, Poller(client, log) as poller:
            handles = poller.submit_many(plan, experiment="amplitude")
            assert poller.wait_all(180)  # waits for the measures too
            assert poller.stats.measures == 4
        df = log.df
    ids = [poller.task_id(h) for h in handles]
    motion = df.set_index("task_id").loc[ids, "motion"]
    small, medium, large, auto = (float(m) for m in motion)
    assert small > 0.01
    assert medium > MARGIN * small and large > MARGIN * medium, list(motion)
    assert large > 2 * MARGIN * small
    assert auto == pytest.approx(medium, rel=1e-6)  # one encode, one measure
    assert sim.videos is not None and sim.videos.encodes == 3


def test_q2_and_q3_models_ignore_movement_amplitude(sim, image, tmp_path):
    """The img2video page: movement_amplitude has no effect on q2 and q3 models, so every
    amplitude gives the same clip there (one encode per model), and another on vidu2.0."""
    assert sim.videos is not None
    for model in ("viduq3-turbo", "viduq2-turbo"):  # q3 has sound by default: 2 clips
        for amplitude in ("small", "large"):
            wait(sim, submit(sim, image, model=model, duration=2, movement_amplitude=amplitude))
    assert sim.videos.encodes == 2
    for amplitude in ("small", "large"):
        wait(sim, submit(sim, image, movement_amplitude=amplitude))
    assert sim.videos.encodes == 4


def test_the_cache_key_names_the_amplitude_and_auto_is_medium(tmp_path):
    from vidu_nb.simulator.video import VideoMaker

    maker = VideoMaker(tmp_path)
    try:
        keys = {
            a: maker.key(b"img", 4, look_for(seed=SEED, amplitude=a))
            for a in ("auto", "small", "medium", "large", "still")
        }
    finally:
        maker.shutdown()
    assert keys["auto"] == keys["medium"]
    assert len({keys[a] for a in ("small", "medium", "large", "still")}) == 4
    assert all(f"-m{SEED % len(MOTIONS)}-{a}" in keys[a] for a in ("small", "large", "still"))
    assert look_for(amplitude="auto").amplitude == "medium"
    with pytest.raises(ValueError, match="amplitude"):
        look_for(amplitude="huge")


def test_the_amplitude_scales_the_seeds_move_and_keeps_its_direction():
    for move in MOTIONS:
        small, medium, large, still = (
            move.scaled(*AMPLITUDES[a]) for a in ("small", "medium", "large", "still")
        )
        assert medium == move
        assert still.at(0.0) == still.at(1.0)  # no move at all
        for i in range(3):  # zoom, x, y: each changes the same way, by more or less
            change = move.at(1.0)[i] - move.at(0.0)[i]
            for scaled in (small, large):
                scaled_change = scaled.at(1.0)[i] - scaled.at(0.0)[i]
                assert scaled_change * change >= 0
        # every crop stays inside the picture (positions 0..1), zooms in, and no further
        # than the twice-size still the clip is cut from
        for scaled in (small, medium, large, still):
            for p in (0.0, 0.5, 1.0):
                zoom, x, y = scaled.at(p)
                assert 1 <= zoom <= 2 and 0 <= x <= 1 and 0 <= y <= 1


def test_still_is_an_option_of_the_simulator_and_of_its_command_line():
    from vidu_nb.simulator.__main__ import build_parser

    assert build_parser().parse_args(["--still"]).still is True
    assert build_parser().parse_args([]).still is False
    sim = Simulator(still=True)
    assert sim.still and sim.engine.still
    sim.still = False
    assert not sim.engine.still
