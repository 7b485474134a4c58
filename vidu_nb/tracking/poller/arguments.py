"""The poller's arguments, checked before anything is recorded or sent: a wrong one is named
(``ValidationError``) in the notebook cell that passed it, not found later on a worker thread."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ...errors import ValidationError
from ...request.spec import Img2VideoRequest
from ..cache import VideoCache
from ..tasklog import TaskLog
from .submissions import POLICIES


def check_settings(
    client: Any,
    log: Any,
    *,
    cache: Any,
    policy: Any,
    max_running: Any,
    http_workers: Any,
    download_workers: Any,
    credit_backoff: Any,
    find_uncertain: Any = True,
    uncertain_window: Any = 600.0,
    clock_skew: Any = 120.0,
    measure: Any = True,
    lease: Any = 60.0,
    watch: Any = 0.5,
) -> None:
    """``Poller(...)``'s arguments: the settings first, then the client and the log."""
    if policy not in POLICIES:
        raise ValidationError("policy", policy, "must be one of " + ", ".join(POLICIES))
    if max_running is not None and (not _whole(max_running) or max_running < 1):
        raise ValidationError("max_running", max_running, "must be a whole number >= 1")
    for name, value in (("http_workers", http_workers), ("download_workers", download_workers)):
        if not _whole(value) or not 1 <= value <= 32:
            raise ValidationError(name, value, "must be a whole number between 1 and 32")
    if not _seconds(credit_backoff):
        raise ValidationError("credit_backoff", credit_backoff, "must be seconds > 0")
    for name, flag in (("find_uncertain", find_uncertain), ("measure", measure)):
        if not isinstance(flag, bool):
            raise ValidationError(name, flag, "must be True or False")
    for name, value in (("uncertain_window", uncertain_window), ("clock_skew", clock_skew)):
        if not (_seconds(value) or value == 0) or isinstance(value, bool):
            raise ValidationError(name, value, "must be a number of seconds >= 0")
    if not _seconds(lease) or lease < 1:
        raise ValidationError("lease", lease, "must be seconds >= 1")
    if watch is not None and not _seconds(watch):
        raise ValidationError("watch", watch, "must be seconds > 0, or None (no watching)")
    if not (cache is None or isinstance(cache, (bool, VideoCache))):
        raise ValidationError("cache", cache, "must be True, False, None or a VideoCache")
    if not all(callable(getattr(client, name, None)) for name in ("get", "submit")):
        raise ValidationError("client", client, "must have get() and submit() (a ViduClient)")
    if not isinstance(log, TaskLog):
        raise ValidationError("log", log, "must be a TaskLog")


def check_labels(experiment: Any, tags: Any, notes: Any) -> tuple[str, ...]:
    """The labels a submission is recorded with, checked before anything is queued; returns
    the tags as a tuple."""
    if experiment is not None and not isinstance(experiment, str):
        raise ValidationError("experiment", experiment, "must be a string or None")
    if not isinstance(notes, str):
        raise ValidationError("notes", notes, "must be a string")
    items = (tags,) if isinstance(tags, str) else tags
    if isinstance(items, Iterable):
        items = tuple(items)
        if all(isinstance(t, str) for t in items):
            return items
    raise ValidationError("tags", tags, "must be a string or a list of strings")


def check_request(request: Any) -> Img2VideoRequest:
    """``Poller.submit``'s request: one ``Img2VideoRequest`` (a list is pointed to
    ``submit_many``)."""
    if not isinstance(request, Img2VideoRequest):
        why = f"must be an Img2VideoRequest, not {type(request).__name__}"
        if isinstance(request, (list, tuple)):
            why += "; use submit_many() for several"
        raise ValidationError("request", request, why)
    return request


def check_batch(requests: Any) -> None:
    """``Poller.submit_many``'s requests: a list (any iterable) and not one request alone,
    which is pointed to ``submit`` (the items are checked by ``check_items``)."""
    if isinstance(requests, (str, bytes, Img2VideoRequest)) or not isinstance(requests, Iterable):
        why = f"must be a list of Img2VideoRequest, not {type(requests).__name__}"
        if isinstance(requests, Img2VideoRequest):
            why += "; use submit() for one"
        raise ValidationError("requests", requests, why)


def check_items(requests: list[Any]) -> None:
    """Every item of ``submit_many``'s list is an ``Img2VideoRequest``; the first that is
    not is named by its index."""
    for i, request in enumerate(requests):
        if not isinstance(request, Img2VideoRequest):
            why = f"must be an Img2VideoRequest, not {type(request).__name__}"
            raise ValidationError(f"requests[{i}]", request, why)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(value: Any) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return ok and math.isfinite(value) and value > 0
