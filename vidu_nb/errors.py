"""One exception hierarchy for everything vidu-nb raises.

Every error carries what a user needs to act on it: the field and limit for bad input,
the HTTP status and trace id for API errors, the task id for waiting and failed tasks.
None of them ever holds the API key.
"""

from __future__ import annotations

from typing import Any


class ViduError(Exception):
    """Base class of every error raised by vidu-nb."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than their message: a pickle (another process, an
        # error reporter) rebuilds the error from its message and attributes, not __init__.
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[ViduError], args: tuple[Any, ...], state: dict[str, Any]) -> ViduError:
    exc = cls.__new__(cls, *args)
    exc.args = args  # OSError subclasses (WaitTimeout) leave it to __init__
    exc.__dict__.update(state)
    return exc


class ValidationError(ViduError, ValueError):
    """A request field is invalid; raised before anything goes over the network."""

    def __init__(self, field: str, value: Any, limit: str) -> None:
        self.field = field
        self.value = value
        self.limit = limit
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}={shown}: {limit}")


class ImageError(ValidationError):
    """The start image cannot be used (format, ratio, size, corrupt data)."""


class APIError(ViduError):
    """The API answered with an error body (``code``, ``reason``, ``message``, ``trace_id``)."""

    def __init__(
        self,
        status: int,
        reason: str = "",
        message: str = "",
        trace_id: str = "",
        *,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.trace_id = trace_id
        self.retry_after = retry_after
        text = f"HTTP {status}"
        if reason:
            text += f" {reason}"
        if message:
            text += f": {message}"
        if trace_id:
            text += f" (trace_id={trace_id})"
        super().__init__(text)


class BadRequest(APIError):
    """HTTP 400: the service rejected the request."""


class CreditInsufficient(BadRequest):
    """HTTP 400 ``CreditInsufficient``: the balance cannot pay for this task; nothing was
    created, so the request can be sent again once credits are added."""


class AuthenticationError(APIError):
    """HTTP 401/403: the key is missing, wrong, or not allowed to do this."""


class NotFound(APIError):
    """HTTP 404: no such task or creation."""


class RateLimited(APIError):
    """HTTP 429: over the concurrency limit or throttled; ``retry_after`` says when to retry."""


class ServerError(APIError):
    """HTTP 5xx: the service failed; safe to retry reads, never blindly a submit."""


class ConnectionFailed(ViduError):
    """The service could not be reached or dropped the connection."""


class TaskLogError(ViduError):
    """The task log file cannot be used (not a task log, or from a newer release)."""


class SubmissionUncertain(ViduError):
    """A submit may or may not have reached the service; it was not sent again.

    ``client_ref`` is the reference placed in ``payload`` so the task can be found later
    (for example in the callback or by listing tasks on the service's dashboard).
    """

    def __init__(self, message: str, *, client_ref: str = "", cause: str = "") -> None:
        self.client_ref = client_ref
        self.cause = cause
        super().__init__(message)


class TaskFailed(ViduError):
    """The task ended in state ``failed``; ``err_code`` is the service's reason."""

    def __init__(self, task_id: str, err_code: str = "", task: Any = None) -> None:
        self.task_id = task_id
        self.err_code = err_code
        self.task = task
        super().__init__(f"task {task_id} failed" + (f": {err_code}" if err_code else ""))


class WaitTimeout(ViduError, TimeoutError):
    """``wait`` gave up before the task finished; the task itself may still finish."""

    def __init__(self, task_id: str, timeout: float, state: str = "", cancelled: bool = False):
        self.task_id = task_id
        self.timeout = timeout
        self.state = state
        self.cancelled = cancelled
        text = f"task {task_id} not finished after {timeout:g} s"
        if state:
            text += f" (last state: {state})"
        if cancelled:
            text += "; cancel requested"
        super().__init__(text)


def error_for_status(
    status: int,
    reason: str = "",
    message: str = "",
    trace_id: str = "",
    retry_after: float | None = None,
) -> APIError:
    """The most specific ``APIError`` subclass for an HTTP status."""
    cls: type[APIError]
    if status in (401, 403):
        cls = AuthenticationError
    elif status == 404:
        cls = NotFound
    elif status == 429:
        cls = RateLimited
    elif status >= 500:
        cls = ServerError
    elif status == 400:
        cls = CreditInsufficient if reason == "CreditInsufficient" else BadRequest
    else:
        cls = APIError
    return cls(status, reason, message, trace_id, retry_after=retry_after)
