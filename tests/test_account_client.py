"""``ViduClient.list_tasks``: a lazy walk over ``GET /ent/v2/tasks`` pages, filters encoded as
the API family takes them, and every argument checked before a request is sent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from standin import KEY, standin

from vidu_nb import ViduClient
from vidu_nb.client import AccountReader
from vidu_nb.client.task import Task
from vidu_nb.errors import APIError, ValidationError

LIST = "/ent/v2/tasks"


def listed(task_id: str, **fields) -> dict:
    """A task as the documented list shows it (no state, payload or credits)."""
    return {
        "id": task_id,
        "key_id": "key-1",
        "model": "viduq2-pro",
        "prompt": f"prompt of {task_id}",
        "images": ["https://example.invalid/start.png"],
        "duration": 5,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "creations": [
            {
                "id": f"c-{task_id}",
                "url": f"https://files.example.invalid/{task_id}.mp4",
                "cover_url": f"https://files.example.invalid/{task_id}.jpg",
                "video": {
                    "duration": 5.04,
                    "fps": 24,
                    "resolution": {"width": 1280, "height": 720},
                },
            }
        ],
        **fields,
    }


PAGE_1 = {"next_page_token": "tok-2", "tasks": [listed("t1"), listed("t2", state="success")]}
PAGE_2 = {"next_page_token": "", "tasks": [listed("t3", template="dance")]}


def test_two_pages_are_fetched_lazily_and_followed_by_token():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, PAGE_1).answer("GET", LIST, 200, PAGE_2)
        tasks = client.list_tasks()
        assert service.seen == []  # nothing is fetched before iterating
        first = next(tasks)
        assert len(service.seen) == 1
        rest = list(tasks)
    assert [t.id for t in (first, *rest)] == ["t1", "t2", "t3"]
    assert len(service.seen) == 2
    assert service.seen[0].params == [("pager.pagesz", "100")]
    assert service.seen[1].params == [("pager.pagesz", "100"), ("pager.page_token", "tok-2")]
    assert all(s.headers["authorization"] == f"Token {KEY}" for s in service.seen)


def test_listed_tasks_keep_what_the_list_says_and_nothing_more():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, PAGE_1).answer("GET", LIST, 200, PAGE_2)
        t1, t2, t3 = client.list_tasks()
        # Bound to the client: a refresh asks the task's own endpoint.
        service.answer("GET", "/ent/v2/tasks/t1/creations", 200,
                       {"id": "t1", "state": "success", "credits": 40, "payload": "vidu-nb:x"})  # fmt: skip
        fresh = t1.refresh()
    assert t1.state == "" and not t1.done  # the documented list has no state
    assert t2.state == "success" and t2.done
    assert t1.payload == "" and t1.credits is None
    assert t1.model == "viduq2-pro" and t1.request["prompt"] == "prompt of t1"
    assert t1.request["resolution"] == "720p" and "images" not in t1.request
    assert t1.video_url == "https://files.example.invalid/t1.mp4"
    assert t3.request["template"] == "dance"
    assert (fresh.state, fresh.credits, fresh.payload) == ("success", 40, "vidu-nb:x")


@pytest.mark.parametrize(
    "last_page",
    [{"tasks": [listed("t3")]}, {"next_page_token": None, "tasks": []}, {"next_page_token": ""}],
)
def test_the_walk_stops_on_an_empty_or_absent_token(last_page):
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, PAGE_1).answer("GET", LIST, 200, last_page)
        ids = [t.id for t in client.list_tasks()]
    assert ids[:2] == ["t1", "t2"] and len(service.seen) == 2


def test_a_token_that_comes_back_again_stops_the_walk_with_an_error():
    looping = {"next_page_token": "tok-2", "tasks": [listed("t3")]}
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, PAGE_1).answer("GET", LIST, 200, looping)
        got: list[str] = []
        with pytest.raises(APIError, match="tok-2") as info:
            for task in client.list_tasks():
                got.append(task.id)
    assert info.value.reason == "InvalidResponse"
    assert got == ["t1", "t2", "t3"] and len(service.seen) == 2


def test_odd_pages_do_not_crash():
    odd = {"next_page_token": "", "tasks": [None, "t9", {"id": "t4", "state": "Preparation"}, 7]}
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, {"next_page_token": "n", "tasks": None})
        service.answer("GET", LIST, 200, odd)
        tasks = list(client.list_tasks())
    assert [(t.id, t.state) for t in tasks] == [("t4", "Preparation")]


def test_filters_are_repeated_names_and_times_are_rfc3339_utc():
    beijing = timezone(timedelta(hours=8))
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, {"tasks": []})
        list(
            client.list_tasks(
                since=datetime(2025, 6, 1, 8, 0, tzinfo=beijing),
                until="2025-06-03T08:30:00Z",
                states=["success", "failed"],
                task_ids=["t1", Task(id="t2")],
                model_versions=["q2-pro", "q1", "2.0"],
                resolutions=("720p", "1080p"),
                page_size=25,
            )
        )
    (seen,) = service.seen
    assert seen.params == [
        ("created_at.from", "2025-06-01T00:00:00Z"),
        ("created_at.to", "2025-06-03T08:30:00Z"),
        ("task_ids", "t1"),
        ("task_ids", "t2"),
        ("states", "success"),
        ("states", "failed"),
        ("resolutions", "720p"),
        ("resolutions", "1080p"),
        ("model_versions", "q2-pro"),
        ("model_versions", "q1"),
        ("model_versions", "2.0"),
        ("pager.pagesz", "25"),
    ]
    assert "states=success&states=failed" in seen.query


def test_naive_times_are_utc_and_offsets_are_converted():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, {"tasks": []})
        list(client.list_tasks(since=datetime(2025, 6, 1, 12, 30, 15, 250000),
                               until="2025-06-02T03:00:00+02:00"))  # fmt: skip
    assert service.seen[0].params[:2] == [
        ("created_at.from", "2025-06-01T12:30:15.250000Z"),
        ("created_at.to", "2025-06-02T01:00:00Z"),
    ]


def test_a_bare_string_is_one_item_not_its_letters():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 200, {"tasks": []})
        list(client.list_tasks(states="success", task_ids="t1", resolutions=[]))
    assert service.seen[0].params == [
        ("task_ids", "t1"),
        ("states", "success"),
        ("pager.pagesz", "100"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page_size": True}, "page_size"),
        ({"page_size": "10"}, "page_size"),
        ({"page_size": 10.0}, "page_size"),
        ({"since": "yesterday"}, "since"),
        ({"since": 1748939400}, "since"),
        ({"until": ""}, "until"),
        ({"since": "2025-06-03", "until": "2025-06-01"}, "until"),
        ({"states": [1]}, "states"),
        ({"states": ["success", ""]}, "states"),
        ({"states": {"success": True}}, "states"),
        ({"task_ids": 42}, "task_ids"),
        ({"model_versions": [None]}, "model_versions"),
        ({"model_versions": ["q1", "viduq2-pro"]}, "model_versions"),
        ({"model_versions": "vidu2.0"}, "model_versions"),
        ({"resolutions": b"720p"}, "resolutions"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(kwargs, field):
    with standin() as (service, url), ViduClient(KEY, url) as client:
        with pytest.raises(ValidationError) as info:
            client.list_tasks(**kwargs)  # refused at the call, not on first iteration
        assert client.requests_sent == 0
    assert info.value.field == field and field in str(info.value)
    assert service.seen == []


def test_page_size_out_of_range_names_the_limit():
    with (
        standin() as (_, url),
        ViduClient(KEY, url) as client,
        pytest.raises(ValidationError, match="1-100"),
    ):
        client.list_tasks(page_size=500)


def test_the_task_list_is_a_read_and_is_retried():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 502, b"<html><title>502 Bad Gateway</title></html>",
                       **{"Retry-After": "0"})  # fmt: skip
        service.answer("GET", LIST, 200, PAGE_2)
        assert [t.id for t in client.list_tasks()] == ["t3"]
    assert len(service.seen) == 2


def test_the_service_refusing_a_page_size_raises_its_error():
    body = {"code": 400, "reason": "PageSizeOutOfRange", "message": "pagesz too big",
            "metadata": {"trace_id": "tr-ps"}}  # fmt: skip
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", LIST, 400, body)
        with pytest.raises(APIError) as info:
            list(client.list_tasks())
    assert info.value.reason == "PageSizeOutOfRange" and info.value.trace_id == "tr-ps"


def test_the_client_is_an_account_reader():
    with ViduClient(KEY, "http://127.0.0.1:9") as client:
        assert isinstance(client, AccountReader)
    assert not isinstance(object(), AccountReader)
