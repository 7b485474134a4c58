"""The account endpoints (``GET /ent/v2/tasks``, ``GET /ent/v2/credits``) and the key's credit
balance, over raw HTTP, with the expectations written from the account page."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from simhelpers import data_uri

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}
IMAGE = data_uri(64, 48)  # 4:3


def submit(sim: Simulator, **fields: Any) -> requests.Response:
    body = {"model": "viduq3-pro", "images": [IMAGE], "duration": 1, **fields}
    return requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)


def task_id(sim: Simulator, **fields: Any) -> str:
    resp = submit(sim, **fields)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["task_id"])


def get(sim: Simulator, path: str, params: Any = None) -> requests.Response:
    return requests.get(sim.base_url + path, params=params, headers=AUTH, timeout=10)


def listed(sim: Simulator, params: Any = None) -> dict[str, Any]:
    resp = get(sim, "/ent/v2/tasks", params)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def ids(sim: Simulator, params: Any = None) -> list[str]:
    return [t["id"] for t in listed(sim, params)["tasks"]]


def error(resp: requests.Response, reason: str) -> str:
    assert resp.status_code == 400, resp.text
    assert resp.json()["reason"] == reason, resp.text
    return str(resp.json()["message"])


def wait_state(sim: Simulator, tid: str, state: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while sim.task_state(tid).state != state:
        assert time.monotonic() < deadline, f"task {tid} never reached {state}"
        time.sleep(0.02)


@pytest.fixture
def failing() -> Iterator[Simulator]:
    """Tasks fail at once (no videos encoded): for the list's filters and pages."""
    with Simulator(speed=200, seed=2) as sim:
        sim.faults.add("task_failure")
        yield sim


# -- the task list ---------------------------------------------------------------------------
def test_listed_tasks_show_what_the_account_page_lists():
    with Simulator(speed=100, seed=1, video_height=48) as sim:
        done = task_id(sim, prompt="a fox", payload="ref-1")
        wait_state(sim, done, "success")
        waiting = task_id(sim, off_peak=True)
        page = listed(sim)
        (creation,) = page["tasks"][1]["creations"]
        assert requests.get(creation["url"], timeout=10).status_code == 200
    assert page["next_page_token"] == ""
    assert [t["id"] for t in page["tasks"]] == [waiting, done]  # newest first
    fields = {"id", "key_id", "model", "prompt", "images", "duration", "resolution",
              "aspect_ratio", "creations"}  # fmt: skip
    for task in page["tasks"]:
        assert set(task) == fields  # no payload, no credits, no state
        assert task["key_id"] == sim.key_id and "sim-key" not in task["key_id"]
    first = page["tasks"][1]
    assert (first["model"], first["prompt"], first["images"]) == ("viduq3-pro", "a fox", [IMAGE])
    assert (first["duration"], first["resolution"], first["aspect_ratio"]) == (1, "720p", "4:3")
    (creation,) = first["creations"]
    assert set(creation) == {"id", "url", "cover_url", "video"}
    video = creation["video"]
    assert video["duration"] == 1.0 and isinstance(video["duration"], float)
    # The file's real size: 720p is 2/3 of video_height=48 (the lines of 1080p), 4:3.
    assert video["fps"] == sim.fps and video["resolution"] == {"width": 42, "height": 32}
    assert page["tasks"][0]["creations"] == []


def test_list_states_adds_state_and_created_at():
    with Simulator(speed=200, list_states=True) as sim:
        sim.faults.add("task_failure")
        tid = task_id(sim)
        wait_state(sim, tid, "failed")
        (task,) = listed(sim)["tasks"]
    assert task["state"] == "failed" and task["created_at"].endswith("Z")


def test_pages_follow_the_token_to_an_empty_one_on_the_last_page(failing):
    made = [task_id(failing) for _ in range(23)][::-1]  # newest first
    first = listed(failing)
    assert [t["id"] for t in first["tasks"]] == made[:10]  # default page size 10
    seen, token = [], ""
    while True:
        page = listed(failing, {"pager.pagesz": 10, "pager.page_token": token} if token else None)
        seen += [t["id"] for t in page["tasks"]]
        token = page["next_page_token"]
        if not token:
            break
        task_id(failing)  # a task submitted meanwhile does not shift the next pages
    assert seen == made
    # page numbers count from the newest task: the two submitted meanwhile shift them
    assert ids(failing, {"pager.page": 1, "pager.pagesz": 10}) == made[8:18]
    assert ids(failing, {"paper.page": 1, "pager.pagesz": 10}) == made[8:18]  # the typo
    assert ids(failing, {"pager.page": 2}) == made[18:]


def test_page_size_limits(failing):
    for _ in range(3):
        task_id(failing)
    assert len(ids(failing, {"pager.pagesz": 100})) == 3
    assert "100" in error(get(failing, "/ent/v2/tasks", {"pager.pagesz": 101}),
                          "PageSizeOutOfRange")  # fmt: skip
    error(get(failing, "/ent/v2/tasks", {"pager.pagesz": 0}), "PageSizeOutOfRange")
    error(get(failing, "/ent/v2/tasks", {"pager.pagesz": "ten"}), "FieldInvalid")
    error(get(failing, "/ent/v2/tasks", {"pager.page_token": "not-ours"}), "FieldInvalid")


def test_filters_take_repeated_names_and_comma_separated_lists(failing):
    q3 = task_id(failing, resolution="1080p")
    q2 = task_id(failing, model="viduq2-pro", resolution="540p")
    q2_turbo = task_id(failing, model="viduq2-turbo")
    q1 = task_id(failing, model="viduq1-classic", duration=5)
    v2 = task_id(failing, model="vidu2.0", duration=4)
    fast = task_id(failing, model="viduq2-pro-fast")
    for tid in (q3, q2, q2_turbo, q1, v2, fast):
        wait_state(failing, tid, "failed")
    assert ids(failing, {"task_ids": [q1, q3]}) == [q1, q3]
    assert ids(failing, {"task_ids": f"{q1},{q3}"}) == [q1, q3]
    assert ids(failing, {"model_versions": ["q2-pro", "2.0"]}) == [v2, q2]
    assert ids(failing, {"model_versions": "q2"}) == [q2_turbo]
    assert ids(failing, {"model_versions": "q1,q3-pro"}) == [q1, q3]
    assert ids(failing, {"model_versions": "q2-pro-fast"}) == [fast]
    assert ids(failing, {"resolutions": ["540p", "1080p"]}) == [q1, q2, q3]
    assert ids(failing, {"states": "failed", "resolutions": "360p"}) == [v2]
    assert ids(failing, {"states": ["success", "processing"]}) == []
    message = error(get(failing, "/ent/v2/tasks", {"model_versions": "viduq2-pro"}),
                    "FieldInvalid")  # fmt: skip
    assert "q2-pro" in message  # short names, not model ids
    error(get(failing, "/ent/v2/tasks", {"states": "done"}), "FieldInvalid")
    error(get(failing, "/ent/v2/tasks", {"resolutions": "4k"}), "FieldInvalid")
    assert ids(failing, {"templates": "dance"}) == []  # no template tasks here


def test_the_default_window_is_the_last_7_days(failing):
    old, recent = task_id(failing), task_id(failing)
    now = datetime.now(timezone.utc)
    failing.set_created_at(old, now - timedelta(days=8))
    assert ids(failing) == [recent]
    nine_days = (now - timedelta(days=9)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(failing, {"created_at.from": nine_days}) == [recent, old]
    week = (now - timedelta(days=7)).isoformat()  # +00:00 offset, microseconds
    assert ids(failing, {"created_at.from": nine_days, "created_at.to": week}) == [old]
    two_days = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")
    assert ids(failing, {"created_at.to": two_days}) == [old]  # from 7 days before ``to``


@pytest.mark.parametrize("text", ["yesterday", "2025-01-01T00:00:00", "2025-13-01T00:00:00Z"])
def test_times_must_be_rfc_3339(failing, text):
    message = error(get(failing, "/ent/v2/tasks", {"created_at.from": text}), "FieldInvalid")
    assert "created_at.from" in message


# -- credits ---------------------------------------------------------------------------------
def test_credits_report_balance_concurrency_and_queue():
    with Simulator(speed=1, concurrency=1, credits=1000, video_height=48) as sim:
        sim.engine.timing.created = sim.engine.timing.queue_min = 0.0
        body = get(sim, "/ent/v2/credits").json()
        assert body == {"remains": [{"type": "metered", "credit_remain": 1000,
                                     "concurrency_limit": 1, "current_concurrency": 0,
                                     "queue_count": 0}]}  # fmt: skip
        tasks = [task_id(sim) for _ in range(3)]  # 30 credits each (720p, 1 s)
        wait_state(sim, tasks[0], "processing")
        (remain,) = get(sim, "/ent/v2/credits", {"show_detail": "false"}).json()["remains"]
        assert (remain["credit_remain"], remain["current_concurrency"], remain["queue_count"]) == (
            910, 1, 2,
        )  # fmt: skip
        detail = get(sim, "/ent/v2/credits", {"show_detail": "true"}).json()
        (package,) = detail["packages"]
        assert set(package) == {"id", "name", "type", "concurrency", "credit_amount",
                                "credit_remain", "created_at", "purchase_at", "valid_from",
                                "valid_to"}  # fmt: skip
        assert (package["type"], package["credit_amount"], package["credit_remain"]) == (
            "metered", 1000, 910,
        )  # fmt: skip
        assert package["concurrency"] == 1 and package["valid_to"] > package["valid_from"]
        error(get(sim, "/ent/v2/credits", {"show_detail": "maybe"}), "FieldInvalid")


def test_the_other_documented_name_of_the_balance_array():
    with Simulator(speed=200, credits_field="remaining_credits") as sim:
        body = get(sim, "/ent/v2/credits").json()
    assert list(body) == ["remaining_credits"] and body["remaining_credits"][0]["type"] == "metered"


def test_unlimited_credits_are_a_large_metered_package_that_is_charged():
    with Simulator(speed=200, video_height=48) as sim:
        start = sim.balance()
        assert start >= 10**9
        task_id(sim, resolution="1080p", duration=2)  # 64 credits
        assert get(sim, "/ent/v2/credits").json()["remains"][0]["credit_remain"] == start - 64


def test_a_submit_beyond_the_balance_is_refused_and_creates_nothing():
    with Simulator(speed=5, credits=70, video_height=48) as sim:
        sim.faults.add("task_failure", count=1, err_code="InternalServiceFailure")
        charged = submit(sim).json()
        sim.force_state(charged["task_id"], "scheduled")  # held: it cannot fail (and refund) yet
        assert charged["credits"] == 30 and sim.balance() == 40
        second = task_id(sim)
        assert sim.balance() == 10
        message = error(submit(sim), "CreditInsufficient")
        assert "30" in message and "10" in message
        assert len(sim.engine.tasks()) == 2
        sim.force_state(charged["task_id"], None)
        wait_state(sim, charged["task_id"], "failed")  # the failure fault went to the first
        assert sim.balance() == 40  # refunded
        wait_state(sim, second, "success")
        assert sim.balance() == 40  # a success keeps its charge
        sim.set_balance(5)
        assert sim.balance() == 5
        error(submit(sim), "CreditInsufficient")
        assert task_id(sim, model="viduq2-turbo", resolution="540p", duration=5)  # 5 credits
        assert sim.balance() == 0


def test_a_cancelled_task_is_refunded():
    with Simulator(speed=50, credits=100, video_height=48) as sim:
        tid = task_id(sim, off_peak=True)  # 15 credits at half rate
        assert sim.balance() == 85
        url = f"{sim.base_url}/ent/v2/tasks/{tid}/cancel"
        assert requests.post(url, json={"id": tid}, headers=AUTH, timeout=10).status_code == 200
        assert sim.balance() == 100


def test_balance_arguments_are_checked():
    with pytest.raises(ValueError, match="credits"):
        Simulator(credits=-1)
    with pytest.raises(ValueError, match="credits_field"):
        Simulator(credits_field="credits")
    with Simulator(speed=200) as sim, pytest.raises(ValueError):
        sim.set_balance(-5)


def test_cli_options_for_credits_cancel_answer_and_the_field_name():
    cmd = [sys.executable, "-m", "vidu_nb.simulator", "--port", "0", "--speed", "100",
           "--api-key", "sim-key", "--credits", "40", "--cancel-answer", "null",
           "--credits-field", "remaining_credits", "--video-height", "48"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().split()[-1]
        body = {"model": "viduq3-pro", "images": [IMAGE], "duration": 1, "off_peak": True}
        url = base + "/ent/v2/img2video"
        tid = requests.post(url, json=body, headers=AUTH, timeout=10).json()["task_id"]
        credits = requests.get(base + "/ent/v2/credits", headers=AUTH, timeout=10).json()
        assert credits["remaining_credits"][0]["credit_remain"] == 25
        again = requests.post(url, json={**body, "off_peak": False}, headers=AUTH, timeout=10)
        error(again, "CreditInsufficient")
        cancel_url = f"{base}/ent/v2/tasks/{tid}/cancel"
        cancelled = requests.post(cancel_url, json={"id": tid}, headers=AUTH, timeout=10)
        assert cancelled.status_code == 200 and cancelled.content == b"null"
    finally:
        proc.terminate()
        # Stopping waits for a video being encoded (the submit started one): seconds on a
        # machine busy with the rest of the suite.
        assert proc.wait(timeout=30) == 0


def test_cli_refuses_a_negative_balance():
    cmd = [sys.executable, "-m", "vidu_nb.simulator", "--port", "0", "--credits", "-3"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "--credits=-3" in done.stderr
