"""The account endpoints of the simulated service: the task list and the credit balance.

``GET /ent/v2/tasks`` filters by creation window (RFC 3339 times, the last 7 days by default),
task ids, states, model versions (short names such as ``q2-pro``) and resolutions, and pages
with ``pager.page`` / ``pager.pagesz`` or the ``next_page_token`` of the previous page. Arrays
come as repeated names (``states=a&states=b``) or comma-separated. Listed tasks show what the
account page lists (no ``payload``, no ``credits``). ``GET /ent/v2/credits`` answers the
balance per package type with the concurrency limit and what is running or queued.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

from .contract import (
    CANCELLED_STATES,
    LIST_MAX_PAGE_SIZE,
    LIST_PAGE_SIZE,
    LIST_WINDOW_DAYS,
    MODELS,
    RESOLUTIONS,
    STATES,
    UNDOCUMENTED_STATES,
    VERSIONS,
)
from .engine import SimTask
from .rejects import Reject

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_ARRAYS = ("task_ids", "states", "model_versions", "resolutions", "templates")


@dataclass(frozen=True)
class ListQuery:
    since: datetime
    until: datetime | None  # None: up to now
    arrays: dict[str, tuple[str, ...]]
    page: int
    size: int
    after: int | None  # from a page token: list tasks older than this sequence number


def parse_list_query(query: str, now: datetime) -> ListQuery:
    """The list parameters, checked; raises ``Reject`` naming the parameter."""
    params = parse_qs(query, keep_blank_values=True)
    arrays = {name: _array(params.get(name, ())) for name in _ARRAYS}
    _check_values("states", arrays["states"], (*STATES, *UNDOCUMENTED_STATES))
    _check_values("model_versions", arrays["model_versions"], tuple(VERSIONS))
    _check_values("resolutions", arrays["resolutions"], RESOLUTIONS)
    until = _time(params, "created_at.to")
    since = _time(params, "created_at.from") or (until or now) - timedelta(days=LIST_WINDOW_DAYS)
    # the account page spells it ``paper.page`` once: the typo is accepted too
    page_text = _one(params, "pager.page") or _one(params, "paper.page") or "0"
    page = _int("pager.page", page_text)
    size = _int("pager.pagesz", _one(params, "pager.pagesz") or str(LIST_PAGE_SIZE))
    if page < 0:
        raise Reject(400, "FieldInvalid", f"pager.page {page} must be 0 or more")
    if not 1 <= size <= LIST_MAX_PAGE_SIZE:
        raise Reject(
            400,
            "PageSizeOutOfRange",
            f"pager.pagesz {size} is outside 1..{LIST_MAX_PAGE_SIZE}",
        )
    token = _one(params, "pager.page_token")
    return ListQuery(since, until, arrays, page, size, _token_seq(token) if token else None)


def list_body(
    tasks: Sequence[SimTask],
    q: ListQuery,
    state_of: Callable[[SimTask], str],
    creations: Callable[[SimTask, str], list[dict[str, Any]]],
    key_id: str,
    with_state: bool = False,
) -> dict[str, Any]:
    """One page of tasks, newest first, and the token of the next page ("" on the last)."""
    chosen = []
    since = q.since.timestamp()
    until = q.until.timestamp() if q.until is not None else float("inf")
    for task in sorted(tasks, key=lambda t: t.seq, reverse=True):
        if not since <= task.created_wall <= until:
            continue
        if q.after is not None and task.seq >= q.after:
            continue
        state = state_of(task)
        if not _matches(task, state, q.arrays):
            continue
        chosen.append((task, state))
    start = 0 if q.after is not None else q.page * q.size
    page = chosen[start : start + q.size]
    more = len(chosen) > start + q.size
    listed = [_listed(t, s, creations(t, s), key_id, with_state) for t, s in page]
    next_token = _token(page[-1][0].seq) if more and page else ""
    return {"tasks": listed, "next_page_token": next_token}


def credits_body(
    balance: int,
    amount: int,
    concurrency: int,
    load: tuple[int, int],
    created: datetime,
    field_name: str,
    detail: bool,
) -> dict[str, Any]:
    """The balance as one metered package (the simulator sells nothing else)."""
    running, queued = load
    remain = {
        "type": "metered",
        "credit_remain": balance,
        "concurrency_limit": concurrency,
        "current_concurrency": running,
        "queue_count": queued,
    }
    body: dict[str, Any] = {field_name: [remain]}
    if detail:
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        body["packages"] = [
            {
                "id": "sim-package-1",
                "name": "simulated credits",
                "type": "metered",
                "concurrency": concurrency,
                "credit_amount": amount,
                "credit_remain": balance,
                "created_at": stamp,
                "purchase_at": stamp,
                "valid_from": stamp,
                "valid_to": (created + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        ]
    return body


def parse_show_detail(query: str) -> bool:
    values = parse_qs(query, keep_blank_values=True).get("show_detail", ["false"])
    text = values[-1].strip().lower()
    if text not in ("true", "false"):
        raise Reject(400, "FieldInvalid", f"show_detail {values[-1]!r} must be true or false")
    return text == "true"


# -- pieces ---------------------------------------------------------------------------------
def _listed(
    task: SimTask, state: str, creations: list[dict[str, Any]], key_id: str, with_state: bool
) -> dict[str, Any]:
    f = task.fields
    item: dict[str, Any] = {
        "id": task.id,
        "key_id": key_id,
        "model": f["model"],
        "prompt": f["prompt"],
        "images": f["images"],
        "duration": f["duration"],
        "resolution": f["resolution"],
        "aspect_ratio": f.get("aspect_ratio", ""),
        "creations": creations,
    }
    if with_state:
        item.update(state=state, created_at=f["created_at"])
    return item


def _matches(task: SimTask, state: str, arrays: dict[str, tuple[str, ...]]) -> bool:
    f = task.fields
    wanted_states = arrays["states"]
    if wanted_states:
        # both cancelled spellings name the same state
        names = set(wanted_states) | (
            set(CANCELLED_STATES) if set(wanted_states) & set(CANCELLED_STATES) else set()
        )
        if state not in names:
            return False
    checks = (
        ("task_ids", task.id),
        ("model_versions", MODELS[f["model"]].version),
        ("resolutions", f["resolution"]),
    )
    if any(arrays[name] and value not in arrays[name] for name, value in checks):
        return False
    return not arrays["templates"]  # no task here comes from a template


def _array(values: Sequence[str]) -> tuple[str, ...]:
    """Repeated names and comma-separated lists alike; blanks dropped."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def _check_values(name: str, values: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for value in values:
        if value not in allowed:
            raise Reject(
                400, "FieldInvalid", f"{name} {value!r} is not one of {', '.join(allowed)}"
            )


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1].strip() if values and values[-1].strip() else None


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Reject(400, "FieldInvalid", f"{name} {text!r} must be an integer") from None


def _time(params: dict[str, list[str]], name: str) -> datetime | None:
    text = _one(params, name)
    if text is None:
        return None
    if not _RFC3339.match(text):
        raise Reject(
            400, "FieldInvalid", f"{name} {text!r} must be an RFC 3339 time with a UTC offset"
        )
    norm = text.upper().replace(" ", "T").replace("Z", "+00:00")
    whole, _, rest = norm.partition(".")
    if rest:  # fromisoformat before 3.11 takes 3 or 6 fraction digits only
        digits, zone = rest[:-6], rest[-6:]
        norm = f"{whole}.{(digits + '000000')[:6]}{zone}"
    try:
        return datetime.fromisoformat(norm).astimezone(timezone.utc)
    except ValueError:
        raise Reject(400, "FieldInvalid", f"{name} {text!r} is not a valid time") from None


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"after:{seq}".encode()).decode().rstrip("=")


def _token_seq(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        kind, _, seq = text.partition(":")
        if kind == "after":
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Reject(400, "FieldInvalid", f"pager.page_token {token!r} is not one this service gave")
