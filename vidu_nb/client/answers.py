"""What a successful (2xx) answer of the service means, or the error it really is.

Gateways and the service itself sometimes send an error body (``code``, ``reason``,
``message``) with HTTP 200, and a proxy may answer a JSON array or a bare string. Each reader
here returns the part the caller needs or raises the ``APIError`` the body stands for, so the
client's methods stay about the API, not about parsing.
"""

from __future__ import annotations

from typing import Any

from ..errors import APIError, error_for_status
from .transport import Response


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _embedded_error(resp: Response, data: dict[str, Any], what: str) -> APIError | None:
    """The error an error body sent with a 2xx stands for (None when it is no error body)."""
    code = _int_or_none(data.get("code"))
    if code is None or not 400 <= code <= 599:
        return None
    reason = str(data.get("reason") or "InvalidResponse")
    message = str(data.get("message") or f"{what} answer is an error body")
    return error_for_status(code, reason, message, resp.trace_id)


def object_answer(resp: Response, what: str) -> dict[str, Any]:
    """The JSON object of an answer (credits, a task list page)."""
    data = resp.data
    if not isinstance(data, dict):
        raise APIError(
            resp.status,
            "InvalidResponse",
            f"{what} answer is a JSON {type(data).__name__}, not an object",
            resp.trace_id,
        )
    error = _embedded_error(resp, data, what)
    if error is not None:
        raise error
    return data


def task_answer(resp: Response, what: str) -> dict[str, Any]:
    """The JSON object of a submit or query answer, or the error it really is.

    A 2xx whose body is not a task (no ``task_id``/``id``/``state``) is either an error body
    sent with a 200 (its ``code`` decides the exception, as the HTTP status would) or garbage.
    """
    data = resp.data
    if isinstance(data, dict) and any(
        data.get(k) not in (None, "") for k in ("task_id", "id", "state")
    ):
        return data
    data = object_answer(resp, what)
    reason = str(data.get("reason") or "InvalidResponse")
    message = str(data.get("message") or f"{what} answer has no task id or state")
    raise APIError(resp.status, reason, message, resp.trace_id)


def cancel_answer(resp: Response) -> None:
    """A cancel succeeded unless its 2xx body is an error body: the documented answers are an
    empty body, ``{}`` and ``null`` (the transport gives all three as ``{}``)."""
    if isinstance(resp.data, dict):
        error = _embedded_error(resp, resp.data, "cancel")
        if error is not None:
            raise error
