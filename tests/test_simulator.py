"""The simulator against plain HTTP (requests): shapes, lifecycle, credits, videos, faults."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import imageio_ffmpeg
import pytest
import requests
from PIL import Image
from simhelpers import CallbackReceiver, data_uri

from vidu_nb.simulator import Faults, Simulator
from vidu_nb.simulator.video import MOTIONS, look_for

AUTH = {"Authorization": "Token sim-key"}
FINAL = ("success", "failed")


@pytest.fixture
def sim():
    with Simulator(speed=200, seed=7) as server:
        yield server


def submit(sim: Simulator, timeout: float = 10, **fields) -> requests.Response:
    body = {"model": "viduq3-pro", "images": [data_uri()], "duration": 2, **fields}
    body = {k: v for k, v in body.items() if v is not None}  # None: leave the field out
    url = sim.base_url + "/ent/v2/img2video"
    return requests.post(url, json=body, headers=AUTH, timeout=timeout)


def query(sim: Simulator, task_id: str) -> dict:
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/creations"
    resp = requests.get(url, headers=AUTH, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def cancel(sim: Simulator, task_id: str) -> requests.Response:
    url = f"{sim.base_url}/ent/v2/tasks/{task_id}/cancel"
    return requests.post(url, headers=AUTH, timeout=10)


def wait_final(sim: Simulator, task_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = query(sim, task_id)
        if data["state"] in FINAL:
            return data
        time.sleep(0.02)
    raise AssertionError(f"task {task_id} did not finish")


def assert_error(resp: requests.Response, status: int, reason: str) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "reason", "message", "metadata"}
    assert body["code"] == status and body["reason"] == reason
    assert body["metadata"]["trace_id"] == resp.headers["X-Trace-Id"]
    return body


# -- shapes ------------------------------------------------------------------------------
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
    assert body["images"] == [uri] and body["prompt"] == "a fox"
    assert body["seed"] == 42
    assert body["resolution"] == "720p" and body["audio"] is True  # viduq3-pro defaults
    assert body["movement_amplitude"] == "auto" and body["payload"] == ""
    assert body["created_at"].endswith("Z")


def test_unset_seed_is_random_and_echoed(sim):
    first = submit(sim).json()
    second = submit(sim).json()
    assert isinstance(first["seed"], int) and first["seed"] != second["seed"]
    assert sim.task_state(first["task_id"]).seed == first["seed"]


def test_query_shape_and_payload_passthrough(sim):
    task_id = submit(sim, payload="ref-123", bgm=True).json()["task_id"]
    data = query(sim, task_id)
    assert set(data) == {
        "id", "state", "err_code", "credits", "payload", "bgm", "off_peak", "creations",
    }  # fmt: skip
    assert data["id"] == task_id and data["payload"] == "ref-123" and data["bgm"] is True
    final = wait_final(sim, task_id)
    assert set(final["creations"][0]) == {"id", "url", "cover_url", "watermarked_url"}


def test_prefix_and_bearer_like_the_reseller_host():
    with Simulator(speed=200, prefix="/vidu", auth_scheme="Bearer") as sim:
        assert sim.base_url.endswith("/vidu")
        url = sim.base_url + "/ent/v2/img2video"
        body = {"model": "viduq3-pro", "images": [data_uri()]}
        ok = requests.post(url, json=body, headers={"Authorization": "Bearer sim-key"})
        assert ok.status_code == 200
        wrong_scheme = requests.post(url, json=body, headers=AUTH)
        assert_error(wrong_scheme, 401, "Unauthorized")


# -- errors ------------------------------------------------------------------------------
def test_auth_errors(sim):
    url = sim.base_url + "/ent/v2/tasks/1/creations"
    assert_error(requests.get(url), 401, "Unauthorized")
    assert_error(requests.get(url, headers={"Authorization": "Token nope"}), 401, "Unauthorized")
    assert requests.get(url, headers={"Authorization": "Bearer sim-key"}).status_code == 404


def test_unknown_task_and_route(sim):
    assert_error(requests.get(sim.base_url + "/ent/v2/tasks/42/creations", headers=AUTH), 404,
                 "TaskNotFound")  # fmt: skip
    assert_error(cancel(sim, "42"), 404, "TaskNotFound")
    assert_error(requests.get(sim.base_url + "/ent/v2/nothing", headers=AUTH), 404, "NotFound")


@pytest.mark.parametrize(
    ("fields", "reason", "words"),
    [
        ({"model": None}, "FieldLacking", "model"),
        ({"images": []}, "FieldLacking", "images"),
        ({"images": [data_uri(), data_uri()]}, "FieldItemCountOutOfRange", "1"),
        ({"duration": 20}, "FieldInvalid", "1-16 s"),
        ({"duration": "5"}, "FieldInvalid", "integer"),
        ({"model": "viduq3-pro-fast", "resolution": "540p"}, "FieldInvalid", "720p, 1080p"),
        ({"model": "vidu2.0", "duration": 8, "resolution": "360p"}, "FieldInvalid", "720p"),
        ({"model": "sora"}, "FieldInvalid", "viduq3-pro"),
        ({"prompt": "x" * 5001}, "FieldInvalid", "5,000"),
        ({"seed": -1}, "FieldInvalid", "seed"),
        ({"movement_amplitude": "huge"}, "FieldInvalid", "small"),
        ({"colour": "red"}, "FieldUnwanted", "colour"),
        ({"images": [data_uri(fmt="GIF")]}, "ImageFormatInvalid", "images[0]"),
        ({"images": ["data:image/png;base64,iVBORw0KGgo="]}, "ImageFormatInvalid", "corrupt"),
        ({"images": ["data:image/png;base64,@@@"]}, "ImageFormatInvalid", "base64"),
        ({"images": [data_uri(500, 100)]}, "PageSizeOutOfRange", "1:4 to 4:1"),
    ],
)
def test_validation_errors(sim, fields, reason, words):
    resp = submit(sim, **fields)
    assert words in assert_error(resp, 400, reason)["message"]
    assert sim.engine.tasks() == []


def test_body_over_20_mb_is_rejected_with_the_limit(sim):
    body = b'{"model": "viduq3-pro", "images": ["' + b"A" * (20 * 1024 * 1024) + b'"]}'
    url = sim.base_url + "/ent/v2/img2video"
    resp = requests.post(url, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert "20 MB" in assert_error(resp, 400, "PageSizeOutOfRange")["message"]
    bad_json = requests.post(url, data=b"{not json", headers=AUTH)
    assert_error(bad_json, 400, "BadRequest")


# -- lifecycle ---------------------------------------------------------------------------
def test_states_progress_in_order_and_finish_time_is_recorded():
    order = ["created", "queueing", "processing", "success"]
    with Simulator(speed=20) as sim:
        sim.engine.timing.created = 6.0  # 0.3 s: long enough to be seen on a busy machine
        task_id = submit(sim, duration=1, resolution="540p").json()["task_id"]
        seen = [query(sim, task_id)["state"]]
        while seen[-1] not in FINAL:
            time.sleep(0.01)
            seen.append(query(sim, task_id)["state"])
        indexes = [order.index(s) for s in seen]
        assert indexes == sorted(indexes) and seen[-1] == "success"
        assert {"created", "processing"} <= set(seen)
        view = sim.task_state(task_id)
        assert view.created_at < view.started_at < view.finished_at
        assert view.queries == len(seen)


def test_concurrency_limit_queues_the_sixth_task():
    with Simulator(speed=4, concurrency=5) as sim:  # long enough for six submits under load
        ids = [submit(sim, duration=1, resolution="540p").json()["task_id"] for _ in range(6)]
        for task_id in ids:
            wait_final(sim, task_id)
        views = [sim.task_state(i) for i in ids]
        first_free = min(v.finished_at for v in views[:5])
        assert max(v.started_at for v in views[:5]) < first_free
        assert views[5].started_at == pytest.approx(first_free)


def test_queue_keeps_submission_order():
    with Simulator(speed=100, concurrency=2) as sim:
        ids = [submit(sim, duration=1).json()["task_id"] for _ in range(7)]
        for task_id in ids:
            wait_final(sim, task_id)
        starts = [sim.task_state(i).started_at for i in ids]
        assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("fields", "credits"),
    [
        ({"duration": 5}, 150),  # viduq3-pro 720p 30/s
        ({"duration": 4, "resolution": "1080p", "off_peak": True}, 64),  # 16/s off-peak
        ({"duration": 1, "resolution": "540p", "is_rec": True}, 24),  # 14 + 10
        ({"model": "viduq2-turbo", "duration": 3, "resolution": "1080p"}, 6),
        ({"model": "viduq1", "duration": 5}, 8),
        ({"model": "vidu2.0", "duration": 4}, 4),
    ],
)
def test_credits(sim, fields, credits):
    body = submit(sim, **fields).json()
    assert body["credits"] == credits
    assert query(sim, body["task_id"])["credits"] == credits


def test_off_peak_tasks_wait_longer(sim):
    off_peak = submit(sim, off_peak=True).json()["task_id"]
    normal = submit(sim).json()["task_id"]
    wait_final(sim, off_peak)
    views = [sim.task_state(i) for i in (off_peak, normal)]
    waits = [v.started_at - v.created_at for v in views]
    assert waits[0] > waits[1]
    assert views[0].credits * 2 == views[1].credits  # half rate


def test_cancel_rules(sim):
    off_peak = submit(sim, off_peak=True).json()["task_id"]
    resp = cancel(sim, off_peak)
    assert resp.status_code == 200 and resp.json() == {}
    data = query(sim, off_peak)
    assert (data["state"], data["err_code"], data["credits"]) == ("failed", "UserCancelled", 0)
    normal = submit(sim).json()["task_id"]
    assert "can not cancel" in assert_error(cancel(sim, normal), 400, "BadRequest")["message"]
    wait_final(sim, normal)
    body = assert_error(cancel(sim, off_peak), 400, "BadRequest")
    assert body["message"] == "task state is failed, can not cancel"


# -- files -------------------------------------------------------------------------------
def test_video_is_real_h264_with_the_requested_duration(sim, tmp_path):
    task_id = submit(sim, duration=3).json()["task_id"]
    (creation,) = wait_final(sim, task_id)["creations"]
    video = requests.get(creation["url"], timeout=10)
    assert video.status_code == 200 and video.headers["Content-Type"] == "video/mp4"
    assert video.headers["Access-Control-Allow-Origin"] == "*"
    path = tmp_path / "v.mp4"
    path.write_bytes(video.content)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    reader.close()
    assert meta["codec"].startswith("h264") and meta["size"] == (320, 240)
    _, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
    assert abs(secs - 3) <= 2 / 12
    cover = requests.get(creation["cover_url"], timeout=10)
    assert cover.headers["Content-Type"] == "image/jpeg" and cover.content[:3] == b"\xff\xd8\xff"
    marked = requests.get(creation["watermarked_url"], timeout=10)
    assert marked.status_code == 200 and marked.content != video.content


def streams(path) -> list[str]:
    """The stream lines ffmpeg prints for a file (``Video: h264 ...``, ``Audio: aac ...``)."""
    probe = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)]
    err = subprocess.run(probe, capture_output=True, text=True, timeout=30).stderr
    return [line.split(": ", 1)[1] for line in err.splitlines() if "Stream #" in line]


@pytest.mark.parametrize(
    ("fields", "sound"),
    [({}, True), ({"audio": False}, False), ({"model": "viduq2-turbo"}, False)],
)
def test_a_sound_track_when_the_resolved_request_has_audio(sim, tmp_path, fields, sound):
    """Q3 models default to audio on, q2 to off: the files follow the request as resolved."""
    task_id = submit(sim, duration=2, **fields).json()["task_id"]
    (creation,) = wait_final(sim, task_id)["creations"]
    for name in ("url", "watermarked_url"):
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(requests.get(creation[name], timeout=10).content)
        kinds = [line.split(":")[0] for line in streams(path)]
        assert kinds == (["Video", "Audio"] if sound else ["Video"])
        _, secs = imageio_ffmpeg.count_frames_and_secs(str(path))
        assert abs(secs - 2) <= 2 / 12


def test_range_requests(sim):
    task_id = submit(sim).json()["task_id"]
    url = wait_final(sim, task_id)["creations"][0]["url"]
    size = int(requests.head(url, timeout=10).headers["Content-Length"])
    part = requests.get(url, headers={"Range": "bytes=10-109"}, timeout=10)
    assert part.status_code == 206 and len(part.content) == 100
    assert part.headers["Content-Range"] == f"bytes 10-109/{size}"
    tail = requests.get(url, headers={"Range": "bytes=-20"}, timeout=10)
    assert tail.status_code == 206 and len(tail.content) == 20
    whole = requests.get(url, timeout=10).content
    assert part.content == whole[10:110] and tail.content == whole[-20:]
    beyond = requests.get(url, headers={"Range": f"bytes={size}-"}, timeout=10)
    assert beyond.status_code == 416


def test_expired_url_is_403_and_a_fresh_query_gives_a_working_one():
    with Simulator(speed=200, url_ttl=1) as sim:
        task_id = submit(sim).json()["task_id"]
        url = wait_final(sim, task_id)["creations"][0]["url"]
        exp = int(parse_qs(urlsplit(url).query)["exp"][0])
        time.sleep(max(0.0, exp - time.time()) + 0.05)
        assert_error(requests.get(url, timeout=10), 403, "Forbidden")
        fresh = query(sim, task_id)["creations"][0]["url"]
        assert requests.get(fresh, timeout=10).status_code == 200
        tampered = fresh.replace("video.mp4", "cover.jpg")
        assert requests.get(tampered, timeout=10).status_code == 403


def test_encodes_are_cached_by_image_and_duration(sim):
    ids = [submit(sim, duration=2, seed=5).json()["task_id"] for _ in range(4)]
    ids.append(submit(sim, duration=1, seed=5).json()["task_id"])
    for task_id in ids:
        assert wait_final(sim, task_id)["state"] == "success"
    assert sim.videos.encodes == 2


def test_url_images_loopback_fetched_remote_placeholder(sim):
    first = submit(sim).json()["task_id"]
    cover = wait_final(sim, first)["creations"][0]["cover_url"]
    from_loopback = submit(sim, images=[cover]).json()["task_id"]
    remote = submit(sim, images=["https://example.invalid/frame.png"]).json()["task_id"]
    assert wait_final(sim, from_loopback)["state"] == "success"
    assert wait_final(sim, remote)["state"] == "success"
    broken = submit(sim, images=[f"{sim.root_url}/files/none/cover.jpg?exp=1&sig=x"])
    assert_error(broken, 400, "ImageDownloadFailure")


# -- faults ------------------------------------------------------------------------------
def test_rate_limit_and_server_error_by_count(sim):
    sim.faults.add("rate_limit", count=1, retry_after=2.5, reason="QuotaExceeded")
    sim.faults.add("server_error", count=1, method="GET")
    limited = submit(sim)
    assert_error(limited, 429, "QuotaExceeded")
    assert limited.headers["Retry-After"] == "2.5"
    task_id = submit(sim).json()["task_id"]
    failed = requests.get(f"{sim.base_url}/ent/v2/tasks/{task_id}/creations", headers=AUTH)
    assert_error(failed, 500, "InternalServiceFailure")
    assert query(sim, task_id)["id"] == task_id
    assert len(sim.engine.tasks()) == 1


def test_drop_before_and_after_processing(sim):
    sim.faults.add("drop", count=1, method="POST")
    with pytest.raises(requests.ConnectionError):
        submit(sim)
    assert sim.engine.tasks() == []
    sim.faults.add("drop_after", count=1, method="POST")
    with pytest.raises(requests.ConnectionError):
        submit(sim)
    assert len(sim.engine.tasks()) == 1
    assert [r.status for r in sim.requests] == [0, 0]


def test_slow_answer_lets_the_client_time_out_after_the_task_exists(sim):
    sim.faults.add("slow", count=1, delay=0.5, path="/img2video")
    with pytest.raises(requests.ReadTimeout):
        submit(sim, timeout=0.2)
    assert len(sim.engine.tasks()) == 1
    assert submit(sim, timeout=2).status_code == 200


def test_task_failure_fault(sim):
    sim.faults.add("task_failure", count=1, err_code="CreationPolicyViolation")
    bad = submit(sim).json()["task_id"]
    good = submit(sim).json()["task_id"]
    failed = wait_final(sim, bad)
    assert (failed["state"], failed["err_code"], failed["credits"]) == (
        "failed",
        "CreationPolicyViolation",
        0,
    )
    assert failed["creations"] == []
    assert wait_final(sim, good)["state"] == "success"


def test_probability_faults_repeat_with_a_seed():
    def pattern(seed: int) -> list[tuple[str | None, str | None]]:
        faults = Faults(seed=seed)
        faults.add("rate_limit", probability=0.3)
        faults.add("task_failure", probability=0.5, err_code=["A", "B"])
        path = "/ent/v2/img2video"
        return [
            (faults.decide("POST", path).action, faults.task_outcome("POST", path))
            for _ in range(50)
        ]

    assert pattern(1) == pattern(1) != pattern(2)
    assert {a for a, _ in pattern(1)} == {None, "rate_limit"}
    assert {f for _, f in pattern(1)} == {None, "A", "B"}
    with pytest.raises(ValueError, match="fault kind"):
        Faults().add("meteor")


def test_task_failure_counts_created_tasks_only(sim):
    sim.faults.add("task_failure", count=1, err_code="ModelUnavailable")
    sim.faults.add("rate_limit", count=1)
    assert submit(sim).status_code == 429
    assert submit(sim, duration=99).status_code == 400
    task_id = submit(sim).json()["task_id"]
    assert wait_final(sim, task_id)["err_code"] == "ModelUnavailable"


def test_faults_skip_file_downloads_unless_targeted(sim):
    task_id = submit(sim).json()["task_id"]
    url = wait_final(sim, task_id)["creations"][0]["url"]
    sim.faults.add("server_error")
    assert requests.get(url, timeout=10).status_code == 200
    sim.faults.clear()
    sim.faults.add("server_error", path="/files/", count=1)
    assert requests.get(url, timeout=10).status_code == 500


# -- callbacks ---------------------------------------------------------------------------
def test_final_callback_is_retried(sim):
    sim.callbacks.retry_delay = 0.01
    with CallbackReceiver(fail_first=3) as receiver:
        task_id = submit(sim, callback_url=receiver.url).json()["task_id"]
        wait_final(sim, task_id)
        deadline = time.monotonic() + 5
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
    # processing is sent once (and failed); success failed twice more, then got through.
    assert [r.body["state"] for r in receiver.received] == ["success"]
    assert receiver.attempts == 4


def test_callbacks_never_leave_the_machine(sim):
    task_id = submit(sim, callback_url="http://example.invalid/hook").json()["task_id"]
    wait_final(sim, task_id)
    deadline = time.monotonic() + 5
    while len(sim.callbacks.deliveries) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert {d.status for d in sim.callbacks.deliveries} == {-1}


# -- command line ------------------------------------------------------------------------
def test_cli_serves_until_terminated():
    cmd = [sys.executable, "-m", "vidu_nb.simulator", "--port", "0", "--speed", "100",
           "--api-key", "K", "--fault-rate-429", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        base = line.split()[-1]
        assert base.startswith("http://127.0.0.1:")
        resp = requests.get(
            base + "/ent/v2/tasks/1/creations", headers={"Authorization": "Token K"}
        )
        assert_error(resp, 404, "TaskNotFound")
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_cli_rejects_a_bad_probability():
    cmd = [sys.executable, "-m", "vidu_nb.simulator", "--port", "0", "--fault-rate-500", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--fault-rate-500=2.0" in done.stderr


def test_constructor_rates_apply_to_api_requests_only():
    with Simulator(speed=200, faults=Faults(rate_429=1.0, seed=3)) as sim:
        assert_error(submit(sim), 429, "TooManyRequests")
        assert sim.faults.rules[0].fired == 1


def test_text2video_is_one_more_table_row(sim):
    url = sim.base_url + "/ent/v2/text2video"
    body = {"model": "viduq3-pro", "prompt": "a lighthouse at dusk", "duration": 1}
    task_id = requests.post(url, json=body, headers=AUTH, timeout=10).json()["task_id"]
    assert wait_final(sim, task_id)["state"] == "success"
    unwanted = requests.post(url, json={**body, "images": [data_uri()]}, headers=AUTH)
    assert_error(unwanted, 400, "FieldUnwanted")


def test_reference2video_takes_reference_images_and_needs_a_prompt(sim):
    url = sim.base_url + "/ent/v2/reference2video"
    body = {
        "model": "viduq2-pro",
        "images": [data_uri()] * 3,
        "prompt": "the two meet",
        "duration": 1,
    }
    task_id = requests.post(url, json=body, headers=AUTH, timeout=10).json()["task_id"]
    assert wait_final(sim, task_id)["state"] == "success"
    lacking = requests.post(url, json={**body, "prompt": None}, headers=AUTH, timeout=10)
    assert lacking.status_code == 400
    too_many = requests.post(url, json={**body, "images": [data_uri()] * 8}, headers=AUTH)
    assert_error(too_many, 400, "FieldItemCountOutOfRange")


def test_file_preflight_allows_cross_origin_range_requests(sim):
    resp = requests.options(sim.root_url + "/files/1/video.mp4", timeout=10)
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Range" in resp.headers["Access-Control-Allow-Headers"]


def test_stop_hangs_up_and_restart_keeps_tasks_on_the_same_port(tmp_path):
    sim = Simulator(speed=200, data_dir=tmp_path)
    with sim:
        task_id = submit(sim).json()["task_id"]
        url = wait_final(sim, task_id)["creations"][0]["url"]
        session = requests.Session()  # a pooled keep-alive connection
        assert session.get(url, timeout=10).status_code == 200
    with pytest.raises(requests.ConnectionError):
        session.get(url, timeout=10)
    with sim:
        assert query(sim, task_id)["state"] == "success"
        assert requests.get(url, timeout=10).status_code == 200


def test_a_batch_of_200_tasks_finishes_with_few_encodes():
    """No prompt and drawn seeds: the seed only picks one of a few motions (no caption)."""
    with Simulator(speed=1000, concurrency=5) as sim:
        session = requests.Session()
        body = {"model": "viduq3-pro", "images": [data_uri()], "duration": 1}
        url = sim.base_url + "/ent/v2/img2video"
        ids = [session.post(url, json=body, headers=AUTH).json()["task_id"] for _ in range(200)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(sim.task_state(i).state == "success" for i in ids):
                break
            time.sleep(0.05)
        views = sorted((sim.task_state(i) for i in ids), key=lambda v: v.started_at)
        assert [v.id for v in views] == ids and all(v.state == "success" for v in views)
        assert 1 <= sim.videos.encodes <= len(MOTIONS)


# -- what a clip shows depends on the request ---------------------------------------------
def test_look_motion_from_the_seed_caption_from_prompt_and_seed():
    assert look_for("a cat", 6).motion == 6 % len(MOTIONS) != look_for("a cat", 7).motion
    assert (look_for("a  cat\n", 6).prompt, look_for("a cat", 6).seed) == (
        "\u201ca cat\u201d",
        "seed 6",
    )
    assert look_for("a cat", 6, show_seed=False).seed == ""  # a seed the server drew
    assert look_for().caption == "" and look_for(seed=3).caption == "seed 3"
    long = look_for("x" * 5000, 1).prompt
    assert len(long) < 100 and long.endswith("\u2026\u201d")


def frames_of(url: str, tmp_path, name: str):
    path = tmp_path / name
    path.write_bytes(requests.get(url, timeout=10).content)
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)
    frames = list(reader)
    return frames


def test_clips_differ_by_seed_and_prompt_and_repeat_for_the_same_request(sim, tmp_path):
    def clip(**fields):
        task_id = submit(sim, duration=1, **fields).json()["task_id"]
        return wait_final(sim, task_id)["creations"][0]

    base = clip(seed=1, prompt="waves")
    again, other_seed, other_prompt = (
        clip(seed=1, prompt="waves"),
        clip(seed=2, prompt="waves"),
        clip(seed=1, prompt="sky"),
    )
    encodes = sim.videos.encodes
    assert encodes == 3  # the repeat was served from the cache
    last = [
        frames_of(c["url"], tmp_path, f"{i}.mp4")[-1]
        for i, c in enumerate((base, again, other_seed, other_prompt))
    ]
    assert last[0] == last[1] and last[0] != last[2] and last[0] != last[3]
    covers = [
        requests.get(c["cover_url"], timeout=10).content for c in (base, other_seed, other_prompt)
    ]
    assert len(set(covers)) == 3  # each poster shows its own first frame and caption


def test_video_size_follows_the_resolution_and_the_images_aspect(tmp_path):
    """426x240 whatever was asked, before: now the resolution's lines on the short side, the
    image's aspect, one scale for all (``video_height`` lines for 1080p), said in the file."""
    wide, tall = [data_uri(640, 360)], [data_uri(180, 320)]  # 16:9 and 9:16
    asked = [(wide, "1080p"), (wide, "540p"), (tall, "720p"), ([data_uri()], "1080p")]
    with Simulator(speed=100, video_height=360) as server:
        ids = [
            submit(server, images=images, resolution=res, duration=1).json()["task_id"]
            for images, res in asked
        ]
        answers = [wait_final(server, task_id) for task_id in ids]
        covers = [requests.get(a["creations"][0]["cover_url"], timeout=10) for a in answers]
        assert [Image.open(io.BytesIO(c.content)).size for c in covers] == [
            (640, 360),  # 1080p at the default scale, 1/3
            (320, 180),  # 540p, the same scale
            (240, 426),  # 720p from a portrait image: its lines on the short side
            (480, 360),  # 1080p from a 4:3 image
        ]
        listed = requests.get(
            server.base_url + "/ent/v2/tasks", params={"task_ids": ids[0]}, headers=AUTH, timeout=10
        ).json()["tasks"][0]
        assert listed["creations"][0]["video"]["resolution"] == {"width": 640, "height": 360}
        video = requests.get(answers[0]["creations"][0]["url"], timeout=10).content
    path = tmp_path / "v.mp4"
    path.write_bytes(video)
    probe = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "640x360" in probe.stderr
    assert "vidu-nb simulator: 640x360 for 1080p, scaled down" in probe.stderr
