"""Conversions between requests, tasks and rows of the task log (pure, no I/O).

What is stored is what the service will use (``request.resolved()``: defaults filled in) plus
what the user set (``options`` as JSON), so a row answers both "what ran" and "what I asked".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ... import states
from ...client.task import Task
from ...errors import ValidationError, ViduError
from . import schema

if TYPE_CHECKING:
    from ...request.spec import Img2VideoRequest

#: Request fields stored as columns of their own (a request type without them stores NULL).
WATERMARK_FIELDS = ("watermark", "wm_position", "wm_url", "meta_data")
#: States that will not change any more: nothing left to poll (``states.FINAL_STATES``; the
#: old name stays importable).
CLOSED_STATES = states.FINAL_STATES


def request_values(
    request: Img2VideoRequest,
    *,
    experiment: str | None,
    tags: Iterable[str],
    notes: str,
    base_url: str | None,
    thumbnail_path: str | None,
    image_sha256: str | None = None,
) -> dict[str, Any]:
    """The columns a request fills (image as a fingerprint, never its bytes; pass
    ``image_sha256`` when it is known, to hash a large image once)."""
    resolved = request.resolved()
    img = request.start_image
    # What the service will use (``resolved``: position 3 when a watermark is asked for
    # without one), or as set on a request type that does not resolve them.
    marks = {name: resolved.get(name, getattr(request, name, None)) for name in WATERMARK_FIELDS}
    return {
        "experiment": experiment,
        "tags": join_tags(check_tags(tags)),
        "notes": str(notes or ""),
        "model": request.model,
        "prompt": request.prompt,
        "duration": resolved["duration"],
        "resolution": resolved["resolution"],
        "seed_requested": request.seed,
        "audio": resolved["audio"],
        "audio_type": resolved["audio_type"],
        "voice_id": request.voice_id,
        "is_rec": resolved["is_rec"],
        "bgm": resolved["bgm"],
        "movement_amplitude": resolved["movement_amplitude"],
        "off_peak": resolved["off_peak"],
        **marks,
        "payload": request.payload,
        "callback_url": request.callback_url,
        "options": json.dumps(request.options(), default=str, sort_keys=True),
        "image_sha256": image_sha256 or img.sha256,
        "image_format": img.format,
        "image_width": img.width,
        "image_height": img.height,
        "image_bytes": img.size_bytes or None,
        "image_url": img.url,
        "thumbnail_path": thumbnail_path,
        "state": "created",
        "submitted_at": time.time(),
        "base_url": public_url(base_url),
    }


def pythonic(row: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """A stored row as Python values: aware datetimes, bools, lists, absolute paths."""
    for col in schema.TIME_COLUMNS:
        if row.get(col) is not None:
            row[col] = datetime.fromtimestamp(row[col], tz=timezone.utc)
    for col in schema.BOOL_COLUMNS:
        if row.get(col) is not None:
            row[col] = bool(row[col])
    for col in ("video_path", "cover_path", "thumbnail_path", "image_path"):
        if row.get(col):
            row[col] = str(base_dir / row[col])
    row["tags"] = [t for t in (row.get("tags") or "").split(",") if t]
    row["trace_ids"] = [t for t in (row.get("trace_ids") or "").split(",") if t]
    return row


def dicts(
    columns: list[str], rows: Iterable[tuple[Any, ...]], base_dir: Path
) -> list[dict[str, Any]]:
    """Stored rows (``columns`` named) as dicts of Python values (``pythonic``)."""
    return [pythonic(dict(zip(columns, r, strict=True)), base_dir) for r in rows]


def task_values(task: Task) -> dict[str, Any]:
    now = time.time()
    return {
        "task_id": task.id,
        "state": task.state,
        "err_code": task.err_code,
        "credits": task.credits,
        "seed": task.seed,
        "created_at": epoch(task.created_at) if task.created_at else None,
        "trace_ids": merge_traces("", task.trace_ids),
        "video_url": task.video_url or None,
        "cover_url": task.cover_url or None,
        "urls_fetched_at": now if task.creations else None,
        "submitted_at": now,
        "updated_at": now,
        "finished_at": now if states.is_final(task.state) else None,
        **refund(task),
    }


def update_values(
    stored: dict[str, Any], task: Task, error: BaseException | str | None, now: float
) -> dict[str, Any]:
    """The columns to set when the service reports ``task`` for the ``stored`` row.

    Unknown fields keep their stored values; the first time a state is reached, and the moment
    the task closes, are stamped with ``now``; a success clears the last error.
    """
    values: dict[str, Any] = {"state": task.state, "err_code": task.err_code, "updated_at": now}
    if task.credits is not None:
        values["credits"] = task.credits
    values.update(refund(task))
    if task.seed is not None:
        values["seed"] = task.seed
    if task.created_at is not None:
        values["created_at"] = epoch(task.created_at)
    if task.creations and task.video_url != stored["video_url"]:
        values.update(video_url=task.video_url, cover_url=task.cover_url, urls_fetched_at=now)
    merged = merge_traces(stored["trace_ids"], task.trace_ids)
    if merged != stored["trace_ids"]:
        values["trace_ids"] = merged
    if error is not None:
        values["error"] = error_text(error)
    elif states.is_success(task.state):
        values["error"] = None
    if task.state != stored["state"]:
        if states.norm(task.state) == states.QUEUEING and stored["queueing_at"] is None:
            values["queueing_at"] = now
        if states.norm(task.state) == states.PROCESSING and stored["processing_at"] is None:
            values["processing_at"] = now
        if states.is_final(task.state):
            values["finished_at"] = now
    return values


def refund(task: Task) -> dict[str, Any]:
    """A cancelled task costs nothing: the service refunds it (the simulator reports 0), and a
    spelling of cancelled that comes without a figure must not keep an earlier charge."""
    return {"credits": 0} if states.is_cancelled(task.state) else {}


def check_tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    out = []
    for tag in tags:
        text = str(tag).strip()
        if "," in text:
            raise ViduError(f"tag {text!r} contains a comma; tags are stored comma-separated")
        if text:
            out.append(text)
    return out


def join_tags(tags: Iterable[str]) -> str:
    return ",".join(sorted({t for t in tags if t}))


def merge_traces(stored: str, new: Iterable[str]) -> str:
    traces = [t for t in (stored or "").split(",") if t]
    traces += [t for t in new if t and t not in traces and "," not in t]
    return ",".join(traces[-20:])


def error_text(error: BaseException | str | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return str(error)


def epoch(value: datetime | str | float) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def public_url(url: str | None) -> str | None:
    """The base URL without user info or query: nothing secret ends up in the log."""
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


# -- argument checks: a wrong type is named before anything is read or written ---------------
def need_task(field: str, value: Any, hint: str = "") -> Task:
    """``value`` when it is a ``Task``; else a ``ValidationError`` naming ``field``."""
    if not isinstance(value, Task):
        raise ValidationError(field, value, f"must be a Task, not {type(value).__name__}{hint}")
    return value


def need_text(field: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` as a non-empty, stripped string (``None`` passes when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, value, "must be a non-empty string")
    return value.strip()


def need_texts(field: str, value: Any) -> list[str] | None:
    """A filter of one string or several (``None``: no filter), each a non-empty string."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise ValidationError(field, value, "must be a string or a list of strings")
    return [str(need_text(field, item)) for item in items]


def need_time(field: str, value: Any) -> float | None:
    """A ``since``/``until`` bound as Unix seconds: a datetime, an ISO string or a number."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (datetime, str, int, float)):
        raise ValidationError(field, value, "must be a datetime or an ISO date/time string")
    try:
        return epoch(value)
    except (ValueError, OverflowError, OSError):
        raise ValidationError(field, value, "must be an ISO date/time, e.g. 2025-01-31") from None
