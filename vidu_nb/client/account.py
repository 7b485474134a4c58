"""The account endpoints: credits and concurrency (``GET /ent/v2/credits``) and the task list
(``GET /ent/v2/tasks``), as typed values, plus the checks of the task list's arguments.

Both matter before spending and after losing track: a sweep's estimate can be checked against
the balance, the organisation's real concurrency limit and queue are known (not only this
kernel's), and a submission whose answer was lost can be found again in the list.

The answers are read tolerantly, because the documentation disagrees with itself: the credit
entries are called ``remains`` in the example and ``remaining_credits`` in the field table
(both are read), numbers may come as strings, and a missing or odd field becomes ``None``
rather than an error. Nothing here does I/O; ``ViduClient.credits`` and ``list_tasks`` do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..errors import ValidationError
from .task import Task
from .times import parse_time, rfc3339

CREDITS_PATH = "/ent/v2/credits"
TASKS_PATH = "/ent/v2/tasks"
#: The service refuses larger pages (400 ``PageSizeOutOfRange``).
MAX_PAGE_SIZE = 100

When = datetime | str


def _count(value: Any) -> int | None:
    """A whole number from a JSON number or numeric string; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return int(value)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _time(value: Any) -> datetime | None:
    """An RFC 3339 string or epoch seconds as a datetime; None when unreadable."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_time(value)


@dataclass(frozen=True)
class CreditRemain:
    """One balance entry: credits left of a ``type`` (``test``, ``metered``, ``concurrent``)
    and the organisation's concurrency: limit, running now, waiting in the queue."""

    type: str = ""
    credit_remain: int | None = None
    concurrency_limit: int | None = None
    current_concurrency: int | None = None
    queue_count: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreditRemain:
        return cls(
            type=_text(data.get("type")),
            credit_remain=_count(data.get("credit_remain")),
            concurrency_limit=_count(data.get("concurrency_limit")),
            current_concurrency=_count(data.get("current_concurrency")),
            queue_count=_count(data.get("queue_count")),
        )


@dataclass(frozen=True)
class CreditPackage:
    """One purchased package (only with ``credits(detail=True)``)."""

    id: str = ""
    name: str = ""
    type: str = ""
    concurrency: int | None = None
    credit_amount: int | None = None
    credit_remain: int | None = None
    created_at: datetime | None = None
    purchase_at: datetime | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CreditPackage:
        return cls(
            id=_text(data.get("id")),
            name=_text(data.get("name")),
            type=_text(data.get("type")),
            concurrency=_count(data.get("concurrency")),
            credit_amount=_count(data.get("credit_amount")),
            credit_remain=_count(data.get("credit_remain")),
            created_at=_time(data.get("created_at")),
            purchase_at=_time(data.get("purchase_at")),
            valid_from=_time(data.get("valid_from")),
            valid_to=_time(data.get("valid_to")),
        )


def _entries(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _largest(values: Iterable[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class Credits:
    """The account's balance and concurrency (``GET /ent/v2/credits``)."""

    remains: tuple[CreditRemain, ...] = ()
    packages: tuple[CreditPackage, ...] = ()

    @classmethod
    def from_response(cls, data: Mapping[str, Any]) -> Credits:
        """Read an answer whose entries are under ``remains`` or ``remaining_credits``."""
        remains = _entries(data.get("remains")) or _entries(data.get("remaining_credits"))
        return cls(
            remains=tuple(CreditRemain.from_dict(r) for r in remains),
            packages=tuple(CreditPackage.from_dict(p) for p in _entries(data.get("packages"))),
        )

    @property
    def total(self) -> int:
        """Credits left over every entry (an entry without a figure counts 0)."""
        return sum(r.credit_remain or 0 for r in self.remains)

    # The concurrency figures describe the whole organisation, and every entry repeats them:
    # the largest one reported is taken (None when no entry says).
    @property
    def concurrency_limit(self) -> int | None:
        return _largest(r.concurrency_limit for r in self.remains)

    @property
    def current_concurrency(self) -> int | None:
        return _largest(r.current_concurrency for r in self.remains)

    @property
    def queue_count(self) -> int | None:
        return _largest(r.queue_count for r in self.remains)

    @property
    def by_type(self) -> dict[str, int]:
        """Credits left per entry type (``{"metered": 12000, "test": 0}``)."""
        out: dict[str, int] = {}
        for r in self.remains:
            out[r.type] = out.get(r.type, 0) + (r.credit_remain or 0)
        return out


# -- the task list ----------------------------------------------------------------------------
def listed_task(data: Mapping[str, Any], trace_id: str = "") -> Task:
    """A task of the list: no ``payload`` or ``credits`` there, and ``state`` is ``""`` when
    the list does not say (the documented list has no state field)."""
    return Task.from_response(dict(data), trace_id=trace_id, previous=Task(id="", state=""))


def utc_time(name: str, value: When) -> datetime:
    """``value`` as an aware UTC datetime; a naive datetime, or an ISO string without an
    offset, is taken as UTC already."""
    when: datetime | None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, str) and value.strip():
        when = parse_time(value)
    else:
        when = None
    if when is None:
        raise ValidationError(name, value, "must be a datetime or an ISO 8601 time string")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


#: The short names the task list documents for ``model_versions`` (not model ids).
MODEL_VERSIONS = ("2.0", "q1", "q2", "q2-pro", "q2-pro-fast")


def list_param(name: str, value: Any) -> list[str]:
    """The items of an array filter. A bare string is one item (``states="success"`` means
    ``["success"]``, never its letters); ``None`` or an empty list means no filter. Tasks are
    accepted for ``task_ids``."""
    if value is None:
        return []
    items = [value] if isinstance(value, (str, Task)) else value
    limit = "must be a string or a list of non-empty strings"
    if isinstance(items, Mapping) or not isinstance(items, Iterable):
        raise ValidationError(name, value, limit)
    out: list[str] = []
    for item in items:
        text = item.id if isinstance(item, Task) else item
        if not isinstance(text, str) or not text.strip():
            raise ValidationError(name, value, limit)
        out.append(text.strip())
    return out


def list_params(
    *,
    since: When | None,
    until: When | None,
    states: Any,
    task_ids: Any,
    model_versions: Any,
    resolutions: Any,
    page_size: Any,
) -> list[tuple[str, str]]:
    """The query of ``GET /ent/v2/tasks`` (page token aside), every argument checked."""
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValidationError("page_size", page_size, f"must be an integer 1-{MAX_PAGE_SIZE}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError("page_size", page_size, f"must be an integer 1-{MAX_PAGE_SIZE}")
    start = None if since is None else utc_time("since", since)
    end = None if until is None else utc_time("until", until)
    if start is not None and end is not None and end < start:
        raise ValidationError("until", until, "must not be before since")
    params: list[tuple[str, str]] = []
    if start is not None:
        params.append(("created_at.from", rfc3339(start)))
    if end is not None:
        params.append(("created_at.to", rfc3339(end)))
    for name, value in (("task_ids", task_ids), ("states", states), ("resolutions", resolutions)):
        params += [(name, item) for item in list_param(name, value)]
    versions = list_param("model_versions", model_versions)
    for version in versions:
        # A model id is no version name, and which name covers which model is not documented
        # (is viduq2-turbo "q2"?): refuse it rather than guess and filter out the wrong tasks.
        if version.lower().startswith("vidu"):
            shown = ", ".join(MODEL_VERSIONS)
            limit = f"takes short version names ({shown}, ...), not model ids"
            raise ValidationError("model_versions", model_versions, limit)
    params += [("model_versions", v) for v in versions]
    params.append(("pager.pagesz", str(page_size)))
    return params
