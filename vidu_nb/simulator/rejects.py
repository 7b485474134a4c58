"""Error answers of the simulated service: status, ``reason`` and a message naming the limit.

Every error body has ``code``, ``reason``, ``message`` and ``metadata.trace_id``, as the tasks
page lists them.
"""

from __future__ import annotations

from typing import Any


class Reject(Exception):
    """An error answer: HTTP status, the API's ``reason`` and a message naming field and limit."""

    def __init__(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}


def error_body(status: int, reason: str, message: str, trace_id: str) -> dict[str, Any]:
    return {
        "code": status,
        "reason": reason,
        "message": message,
        "metadata": {"trace_id": trace_id},
    }
