"""The client against the documentation's own examples, served byte for byte by a stand-in.

Cancel (the documented body, every documented success answer, the documented failure) and
the credits endpoint (the example JSON with ``remains``, and the ``remaining_credits`` spelling
of the field table).
"""

from __future__ import annotations

import pytest
from standin import KEY, standin

from vidu_nb import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import APIError, BadRequest, CreditInsufficient, NotFound

CANCEL = "/ent/v2/tasks/{id}/cancel"
CANCEL_REFUSED = (
    b'{"code": 400, "reason": "BadRequest", "message": "task state is scheduled, can not cancel",'
    b' "metadata": {"trace_id": "trace-cancel-0001"}}'
)
CREDITS_EXAMPLE = b"""{"remains": [{"type": "metered", "credit_remain": 12000, "concurrency_limit": 5,
              "current_concurrency": 2, "queue_count": 3}],
 "packages": [{"id": "...", "name": "...", "type": "metered", "concurrency": 5,
               "credit_amount": 20000, "credit_remain": 12000, "created_at": "...",
               "purchase_at": "...", "valid_from": "...", "valid_to": "..."}]}"""


# -- cancel -----------------------------------------------------------------------------------
@pytest.mark.parametrize("answer", [b"", b"{}", b"null", b" null\n", b"{ }"])
def test_cancel_sends_the_id_in_the_body_and_accepts_every_documented_success(answer: bytes):
    with standin() as (service, url), ViduClient(KEY, url, max_retries=0) as client:
        service.answer("POST", CANCEL.format(id="task-1"), 200, answer)
        assert client.cancel("task-1") is None
        assert client.cancel(Task(id="task-1")) is None
        assert Task(id="task-1").bind(client).cancel() is None
    assert len(service.seen) == 3
    for seen in service.seen:
        assert (seen.method, seen.path) == ("POST", "/ent/v2/tasks/task-1/cancel")
        assert seen.json == {"id": "task-1"}
        assert seen.headers["content-type"] == "application/json"
        assert seen.headers["authorization"] == f"Token {KEY}"


def test_cancel_of_an_id_with_odd_characters_quotes_the_path_not_the_body():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("POST", CANCEL.format(id="a%2Fb%20c"), 200, b"{}")
        client.cancel(" a/b c ")
    assert service.seen[0].path == "/ent/v2/tasks/a%2Fb%20c/cancel"
    assert service.seen[0].json == {"id": "a/b c"}


def test_documented_cancel_failure_is_bad_request_with_its_trace_id():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("POST", CANCEL.format(id="t9"), 400, CANCEL_REFUSED)
        with pytest.raises(BadRequest) as info:
            client.cancel("t9")
    error = info.value
    assert error.status == 400 and error.reason == "BadRequest"
    assert error.message == "task state is scheduled, can not cancel"
    assert error.trace_id == "trace-cancel-0001" and "trace-cancel-0001" in str(error)
    assert len(service.seen) == 1  # a refusal is not sent again


def test_cancel_refusal_sent_with_http_200_is_still_a_refusal():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("POST", CANCEL.format(id="t9"), 200, CANCEL_REFUSED)
        with pytest.raises(BadRequest) as info:
            client.cancel("t9")
    assert info.value.trace_id == "trace-cancel-0001"


def test_cancel_of_an_unknown_task_is_not_found():
    body = {"code": 404, "reason": "TaskNotFound", "message": "no such task",
            "metadata": {"trace_id": "tr-404"}}  # fmt: skip
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("POST", CANCEL.format(id="nope"), 404, body)
        with pytest.raises(NotFound) as info:
            client.cancel("nope")
    assert info.value.reason == "TaskNotFound" and info.value.trace_id == "tr-404"


def test_null_is_an_empty_answer_only_where_the_caller_allows_it():
    """A query or submit answering ``null`` is still an invalid answer, not an empty task."""
    with standin() as (service, url), ViduClient(KEY, url, max_retries=0) as client:
        service.answer("GET", "/ent/v2/tasks/t1/creations", 200, b"null")
        with pytest.raises(APIError) as info:
            client.get("t1")
    assert info.value.reason == "InvalidResponse" and "null" in str(info.value)


# -- credits ----------------------------------------------------------------------------------
def test_credits_example_of_the_documentation():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, CREDITS_EXAMPLE)
        credits = client.credits(detail=True)
        plain = client.credits()
    assert credits == plain  # the stand-in answers the same either way
    assert credits.total == 12000
    assert (credits.concurrency_limit, credits.current_concurrency, credits.queue_count) == (
        5,
        2,
        3,
    )
    assert credits.by_type == {"metered": 12000}
    (remain,) = credits.remains
    assert (remain.type, remain.credit_remain) == ("metered", 12000)
    (package,) = credits.packages
    assert (package.id, package.name, package.type) == ("...", "...", "metered")
    assert (package.concurrency, package.credit_amount, package.credit_remain) == (5, 20000, 12000)
    assert package.created_at is None and package.valid_to is None  # "..." is no time
    assert [(s.method, s.path, s.params) for s in service.seen] == [
        ("GET", "/ent/v2/credits", [("show_detail", "true")]),
        ("GET", "/ent/v2/credits", [("show_detail", "false")]),
    ]
    assert service.seen[0].body == b""


def test_credits_under_the_field_tables_name():
    body = CREDITS_EXAMPLE.replace(b'"remains"', b'"remaining_credits"')
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, body)
        credits = client.credits()
    assert credits.total == 12000 and credits.concurrency_limit == 5 and credits.queue_count == 3


def test_credits_read_odd_fields_without_failing():
    body = {
        "remaining_credits": [
            {"type": "test", "credit_remain": "1500", "concurrency_limit": None},
            {"type": "metered", "credit_remain": 800.0, "concurrency_limit": 5,
             "current_concurrency": "1", "queue_count": "many"},
            {"type": "metered", "credit_remain": True},
            "not an entry",
            {"credit_remain": 7, "surprise": {"nested": 1}},
        ],
        "packages": {"not": "a list"},
    }  # fmt: skip
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, body)
        credits = client.credits()
    assert credits.total == 1500 + 800 + 7
    assert credits.by_type == {"test": 1500, "metered": 800, "": 7}
    assert credits.concurrency_limit == 5 and credits.current_concurrency == 1
    assert credits.queue_count is None and credits.packages == ()
    assert len(credits.remains) == 4


def test_credits_with_times_in_rfc3339_or_epoch_seconds():
    package = {"id": "p1", "created_at": "2025-06-01T08:00:00Z", "valid_to": 1751328000,
               "valid_from": "2025-06-01T08:00:00.123456789+08:00"}  # fmt: skip
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, {"remains": [], "packages": [package]})
        (got,) = client.credits(detail=True).packages
    assert got.created_at is not None and got.created_at.isoformat() == "2025-06-01T08:00:00+00:00"
    assert got.valid_to is not None and got.valid_to.year == 2025
    assert got.valid_from is not None and got.valid_from.utcoffset().total_seconds() == 8 * 3600


def test_an_empty_account_has_no_credits_and_unknown_concurrency():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, b"{}")
        credits = client.credits()
    assert credits.total == 0 and credits.remains == () and credits.concurrency_limit is None


def test_credits_is_a_read_and_is_retried():
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 503, b"busy", **{"Retry-After": "0"})
        service.answer("GET", "/ent/v2/credits", 200, CREDITS_EXAMPLE)
        assert client.credits().total == 12000
    assert len(service.seen) == 2


def test_credits_error_bodies_raise_their_error():
    body = {"code": 400, "reason": "CreditInsufficient", "message": "no credits",
            "metadata": {"trace_id": "tr-c"}}  # fmt: skip
    with standin() as (service, url), ViduClient(KEY, url) as client:
        service.answer("GET", "/ent/v2/credits", 200, body)
        with pytest.raises(CreditInsufficient) as info:
            client.credits()
        service.answers.clear()
        service.answer("GET", "/ent/v2/credits", 200, [1, 2])
        with pytest.raises(APIError, match="not an object"):
            client.credits()
    assert info.value.trace_id == "tr-c"
