"""HTTP to the Vidu API: JSON in and out, typed errors, and retries that never double-submit.

Reads (GET) are retried on 429, 5xx, dropped connections and read timeouts, with capped
exponential backoff and jitter, honouring ``Retry-After``. A submit (POST) costs credits, so it
is only sent again when it provably never left: the connection failed before the request was
written, or the service answered 429 (it rejected the request). When the request may have
reached the service (read timeout, connection dropped after sending, 5xx) a submit raises
``SubmissionUncertain`` instead. urllib3's own retries are switched off so nothing below us
resends either.

Every response and error keeps the service's trace id. The key is only ever put in the
``Authorization`` header; logs show method, path, status and trace id, never headers.
"""

from __future__ import annotations

import base64
import email.utils
import html
import json
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from ..errors import (
    APIError,
    ConnectionFailed,
    RateLimited,
    ServerError,
    SubmissionUncertain,
    ValidationError,
    error_for_status,
)
from .config import Secret, is_loopback_url

log = logging.getLogger("vidu_nb.transport")

TRACE_HEADERS = ("x-trace-id", "trace-id", "x-request-id", "x-b3-traceid")
USER_AGENT = "vidu-nb"
#: The shortest connect/read timeout a deadline-bounded attempt gets (seconds).
MIN_ATTEMPT_TIMEOUT = 1.0
#: Query parameters: name/value pairs, in order; a name may repeat.
Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Response:
    """A successful answer: decoded JSON, status and the trace id (header or body)."""

    status: int
    data: Any
    trace_id: str = ""
    headers: dict[str, str] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for retried requests: ``base * 2**n`` capped, with full jitter in [50 %, 100 %]."""

    max_retries: int = 4
    base: float = 0.5
    cap: float = 8.0
    #: A ``Retry-After`` longer than this is not slept through; the error is raised instead.
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        delay = min(self.cap, self.base * 2 ** min(attempt, 30)) * random.uniform(0.5, 1.0)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


class _Auth(AuthBase):
    """Adds ``Authorization: <scheme> <key>`` per request; its repr hides the key."""

    def __init__(self, scheme: str, key: Secret) -> None:
        self.scheme = scheme
        self._key = key

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"{self.scheme} {self._key.reveal()}"
        return r

    def __repr__(self) -> str:
        return f"_Auth({self.scheme!r}, <redacted>)"


class _NoCredentials(AuthBase):
    """Attaches nothing; setting any auth keeps requests from reading ``~/.netrc``."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        return r


def file_session() -> requests.Session:
    """A session for pre-signed file URLs: no credentials at all (ours or ``~/.netrc``), but
    the environment's proxies and CA bundle. Pass ``proxies=direct_if_loopback(url)``."""
    session = requests.Session()
    session.auth = _NoCredentials()
    session.headers.update({"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
    return session


def direct_if_loopback(url: str) -> dict[str, Any] | None:
    """Per-request proxies that bypass any configured proxy for a loopback URL.

    Each value is ``None`` (requests drops a scheme mapped to ``None``, so no proxy is used);
    typed ``Any`` because requests' own hints allow only strings there."""
    return {"http": None, "https": None} if is_loopback_url(url) else None


def check_timeout(timeout: Any) -> float | tuple[float, float]:
    """``timeout`` as requests takes it: seconds > 0, or a ``(connect, read)`` pair of them.

    Checked up front: requests would only reject a bad value with a bare ``ValueError`` on
    every call, and ``None`` (wait forever) would let one stalled answer hang a notebook."""
    limit = "must be seconds > 0, or a (connect, read) pair of them"
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    if len(parts) != (2 if isinstance(timeout, tuple) else 1) or not all(
        isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < math.inf for t in parts
    ):
        raise ValidationError("timeout", timeout, limit)
    if isinstance(timeout, tuple):
        return (float(timeout[0]), float(timeout[1]))
    return float(timeout)


class Transport:
    """A ``requests.Session`` wrapper bound to one base URL and key."""

    def __init__(
        self,
        base_url: str,
        api_key: Secret,
        auth_scheme: str = "Token",
        *,
        timeout: float | tuple[float, float] = (5, 60),
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_scheme = auth_scheme
        self.timeout = check_timeout(timeout)
        self.retry = retry or RetryPolicy()
        self._key = api_key
        # Every form the key could be echoed in, computed once: each answer is scrubbed.
        self._key_forms = key_forms(auth_scheme, api_key.reveal())
        self._sleep = sleep
        self._count_lock = threading.Lock()
        #: HTTP requests actually sent (retries included): the API-call cost of a strategy.
        self.requests_sent = 0
        self.session = requests.Session()
        self.session.auth = _Auth(auth_scheme, api_key)
        # The environment's proxies and CA bundle are honoured (corporate networks need them);
        # ~/.netrc is never read because the session has its own auth. A loopback simulator is
        # always reached directly, whatever HTTP(S)_PROXY says.
        self.session.trust_env = not is_loopback_url(base_url)
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        adapter = HTTPAdapter(max_retries=Retry(total=0, read=False, redirect=False))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def __repr__(self) -> str:
        return f"Transport({self.base_url!r}, auth_scheme={self.auth_scheme!r})"

    def close(self) -> None:
        self.session.close()

    # -- public verbs --------------------------------------------------------------------
    def get(
        self, path: str, *, params: Params | None = None, deadline: float | None = None
    ) -> Response:
        """GET with retries on 429, 5xx, connection errors and read timeouts.

        ``params`` are name/value pairs for the query; a name may repeat (``states=a&states=b``
        is how the API takes arrays).

        ``deadline`` (a ``time.monotonic()`` value) bounds the whole call: no retry is slept
        into past it and each attempt's timeouts are cut to the time left (never below
        ``MIN_ATTEMPT_TIMEOUT``), so a caller with its own timeout is not held for minutes.
        """
        for attempt in self._attempts():
            try:
                return self._send("GET", path, params=params, timeout=self._timeout_until(deadline))
            except (RateLimited, ServerError, ConnectionFailed) as exc:
                if not self._may_retry(attempt, exc):
                    raise
                delay = self.retry.delay(attempt, getattr(exc, "retry_after", None))
                if deadline is not None and time.monotonic() + delay >= deadline:
                    raise
                self._pause("GET", path, attempt, exc, delay)
        raise AssertionError("unreachable")

    def post(
        self,
        path: str,
        body: Any,
        *,
        client_ref: str = "",
        submit: bool = True,
        allow_null: bool = False,
    ) -> Response:
        """POST, resent only when it provably was not received (see the module docstring).

        With ``submit`` true an outcome that may have created a task raises
        ``SubmissionUncertain`` naming ``client_ref``; otherwise the error itself is raised.
        ``allow_null``: a JSON ``null`` answer means "nothing to say" (the cancel endpoint's
        success), given to the caller as ``{}`` like an empty body.
        """
        for attempt in self._attempts():
            try:
                return self._send("POST", path, body, allow_null=allow_null)
            except _NotSent as exc:
                if not self._may_retry(attempt, exc.error):
                    raise exc.error from None
                self._pause("POST", path, attempt, exc.error)
            except RateLimited as exc:
                if not self._may_retry(attempt, exc):
                    raise
                self._pause("POST", path, attempt, exc)
            except (ServerError, ConnectionFailed) as exc:
                if not submit:
                    raise
                raise uncertain_submit(path, client_ref, exc) from exc
        raise AssertionError("unreachable")

    # -- internals -----------------------------------------------------------------------
    def _attempts(self) -> Iterator[int]:
        yield from range(self.retry.max_retries + 1)

    def _may_retry(self, attempt: int, exc: Exception) -> bool:
        if attempt >= self.retry.max_retries:
            return False
        retry_after = getattr(exc, "retry_after", None)
        return retry_after is None or retry_after <= self.retry.max_retry_after

    def _pause(
        self, method: str, path: str, attempt: int, exc: Exception, delay: float | None = None
    ) -> None:
        if delay is None:
            delay = self.retry.delay(attempt, getattr(exc, "retry_after", None))
        log.info("%s %s: %s; retry %d in %.2f s", method, path, exc, attempt + 1, delay)
        self._sleep(delay)

    def _timeout_until(self, deadline: float | None) -> float | tuple[float, float]:
        if deadline is None:
            return self.timeout
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout,) * 2
        left = max(deadline - time.monotonic(), MIN_ATTEMPT_TIMEOUT)
        return (min(connect, left), min(read, left))

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: Params | None = None,
        timeout: float | tuple[float, float] | None = None,
        allow_null: bool = False,
    ) -> Response:
        url = self.base_url + path
        with self._count_lock:
            self.requests_sent += 1
        started = time.monotonic()
        failure: Exception | None = None
        try:
            resp = self.session.request(
                method,
                url,
                params=params,
                json=body,
                timeout=self.timeout if timeout is None else timeout,
            )
        except requests.exceptions.RequestException as exc:
            failure = self._connection_failure(method, path, exc)
        if failure is not None:
            # Raised outside the except block on purpose: the requests exception holds the
            # prepared request, Authorization header included, and must not stay reachable
            # through __context__ (error reporters walk it; pickles carry it).
            raise failure
        elapsed = time.monotonic() - started
        trace_id = _trace_from_headers(resp.headers)
        data: Any = None
        text = resp.text
        parsed = False
        if text.strip():
            try:
                data, parsed = resp.json(), True
            except ValueError:
                data = None
        if isinstance(data, dict):
            meta = data.get("metadata")
            if isinstance(meta, dict) and meta.get("trace_id"):
                trace_id = str(meta["trace_id"])
        # A server (or a proxy, or a wrong base URL) that echoes the Authorization header must
        # not get the key into errors, logs, tasks or the task log: scrub what came back.
        data, trace_id = self._scrub_data(data), self._scrub(trace_id)
        log.debug(
            "%s %s -> %d in %.3f s (trace_id=%s)", method, path, resp.status_code, elapsed, trace_id
        )
        if resp.status_code >= 400:
            raise self._error(resp, data, text, trace_id)
        if data is None and text.strip() and not (parsed and allow_null):
            what = "a JSON answer" if not parsed else "an answer other than JSON null"
            raise APIError(
                resp.status_code,
                "InvalidResponse",
                f"expected {what}, got {_snippet(self._scrub(text))}",
                trace_id,
            )
        return Response(
            resp.status_code, data if data is not None else {}, trace_id, dict(resp.headers)
        )

    def _connection_failure(
        self, method: str, path: str, exc: requests.exceptions.RequestException
    ) -> Exception:
        error = ConnectionFailed(f"{method} {path}: {self._scrub(_describe(exc))}")
        log.info("%s %s failed: %s", method, path, error)
        unsent = not was_sent(exc) and not isinstance(exc, requests.exceptions.SSLError)
        # Only a POST needs to know: a GET is retried on any connection failure.
        return _NotSent(error) if unsent and method == "POST" else error

    def _error(self, resp: requests.Response, data: Any, text: str, trace_id: str) -> APIError:
        reason, message = resp.reason or "", ""
        if isinstance(data, dict):
            reason = str(data.get("reason") or reason)
            message = str(data.get("message") or "")
        elif text.strip():
            message = _snippet(self._scrub(readable_text(text)))
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        error = error_for_status(
            resp.status_code, self._scrub(reason), self._scrub(message), trace_id, retry_after
        )
        log.info("%s %s: %s", resp.request.method, _path_of(resp.request.url), error)
        return error

    def _scrub(self, text: str) -> str:
        """``text`` without the key, also HTML-, URL-, JSON- or base64-encoded."""
        for form in self._key_forms:
            if form in text:
                text = text.replace(form, "<redacted>")
        return text

    def _scrub_data(self, data: Any) -> Any:
        if isinstance(data, str):
            return self._scrub(data)
        if isinstance(data, dict):
            return {self._scrub_data(k): self._scrub_data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self._scrub_data(v) for v in data]
        return data


MIN_SCRUBBED = 8


def key_forms(scheme: str, key: str) -> list[str]:
    """The ways a server may echo a key back (longest first, so none is half replaced)."""
    if not key:
        return []
    forms = {key, html.escape(key), quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1]}
    for text in (key, f"{scheme} {key}"):
        b64 = base64.b64encode(text.encode()).decode()
        forms.update((b64, b64.rstrip("=")))
    # A form this short is ordinary text (the local simulator's key is "sim-key"): blanking it
    # would corrupt echoed prompts while protecting no real key.
    return sorted((f for f in forms if len(f) >= MIN_SCRUBBED), key=len, reverse=True)


class _NotSent(Exception):
    """Internal: the request never reached the service, so resending is safe."""

    def __init__(self, error: ConnectionFailed) -> None:
        super().__init__(str(error))
        self.error = error


def was_sent(exc: BaseException) -> bool:
    """False only when the failure provably happened before the request was written.

    ``requests`` wraps urllib3 errors: a refused or timed-out connect shows up as a
    ``NewConnectionError`` / ``ConnectTimeoutError`` somewhere in the chain. Anything else
    (read timeout, reset or dropped connection after sending) may have reached the service.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    return not any(isinstance(e, (NewConnectionError, ConnectTimeoutError)) for e in _chain(exc))


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend([e.__cause__, e.__context__, getattr(e, "reason", None), *e.args])


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def uncertain_submit(path: str, client_ref: str, exc: Exception) -> SubmissionUncertain:
    """The error for a submit that may have created a task (it is never sent again)."""
    how = (
        f"look for a task whose payload is {client_ref!r} (it is echoed in the task and in "
        "callbacks) before submitting again"
        if client_ref
        else "check the service's task list before submitting again"
    )
    return SubmissionUncertain(
        f"POST {path} may or may not have created a task ({exc}); it was not sent again to "
        f"avoid paying twice: {how}",
        client_ref=client_ref,
        cause=str(exc),
    )


def _trace_from_headers(headers: Any) -> str:
    for name in TRACE_HEADERS:
        if headers.get(name):
            return str(headers[name])
    return ""


def _describe(exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "read timed out (no answer in time)"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {exc}"
    for e in _chain(exc):
        if isinstance(e, NewConnectionError):
            return "connection refused or host unreachable"
    return f"connection error: {exc}"


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.IGNORECASE | re.DOTALL)


def readable_text(text: str) -> str:
    """A non-JSON error body as words: an HTML page (a gateway's 502/504) gives its title,
    or its text without tags; anything else is returned as it is."""
    head = text.lstrip()[:200].lower()
    if not (head.startswith("<") and ("<html" in head or "<!doctype" in head or "<h" in head)):
        return text
    title = _TITLE.search(text)
    words = " ".join(html.unescape(_TAGS.sub(" ", title.group(1) if title else text)).split())
    return words or text


def _snippet(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return json.dumps(flat[:limit] + ("..." if len(flat) > limit else ""))


def _path_of(url: str | None) -> str:
    return urlsplit(url or "").path
