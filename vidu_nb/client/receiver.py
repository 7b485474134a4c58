"""``CallbackReceiver``: the endpoint the service POSTs task updates to (``callback_url``).

Polling costs requests and detection lag because the client has to guess when a task ends; a
callback is the service saying so the moment it happens. Where the kernel can be reached (a
server, JupyterHub behind an ingress, a tunnel the user runs), a receiver turns those POSTs
into ``Delivery`` objects for its subscribers, usually a ``Poller`` (``use_callbacks``), which
then confirms each final state with one GET instead of polling on a schedule.

Every request is checked before its body is read: its signature must verify with the API key
(``callbacks.verify_callback``; the query exactly as received, the ``Date`` recent), else 401
(the body is not signed, so nothing in it can vouch for it). The body is bounded (413 over
``max_body``), and must be a task (a JSON object with an id and a state), else 400. A subscriber that fails makes the answer 500, so the service delivers
again (it retries final states up to 3 times). Duplicates and out-of-order deliveries reach
the subscribers as they come; ordering them is the subscriber's job (``states.progress``).

One receiver, three ways to run it: ``wsgi_app`` (any WSGI server or framework),
``asgi_app`` (any ASGI server; the blocking work runs in a thread) and ``serve()``, a small
threaded server of its own with ``url``, ``stop()`` and restart on the same port. Behind an
ingress or a tunnel, ``public_url`` is the address the service must call (what
``callback_url`` gives); a proxy that rewrites the path on the way in is fine, because the
public URL's path is tried too when the received one does not verify.

The key is held as a ``Secret``: it is never logged and never in a repr or an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from ..errors import ValidationError
from .callbacks import environ_headers, environ_path, verify_callback
from .config import Secret
from .task import Task

log = logging.getLogger("vidu_nb.receiver")

#: A task body is a few hundred bytes; this leaves room for long payloads and creation lists.
MAX_BODY = 1 << 20
DEFAULT_PATH = "/vidu/callback"
#: A signed body over the bound is still read (and dropped) up to this many times the bound,
#: so the sender sees the 413 instead of a reset connection.
DRAIN = 8
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
            413: "Payload Too Large", 500: "Internal Server Error"}  # fmt: skip

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class Delivery:
    """One verified callback: the task it reports (as ``Task.from_response`` reads it), the
    raw body (for ``TaskLog.reconcile_from_callback``) and when it arrived (monotonic)."""

    task: Task
    body: dict[str, Any] = field(repr=False)
    at: float


@dataclass
class ReceiverStats:
    """What the receiver answered so far, for diagnostics and tests."""

    accepted: int = 0
    unauthorized: int = 0
    bad_request: int = 0
    too_large: int = 0
    failed: int = 0  # a subscriber raised: answered 500 so the service tries again
    #: When the last verified callback arrived (``time.monotonic()``), or None.
    last_delivery: float | None = None


class CallbackReceiver:
    """Verifies signed callbacks and hands them to subscribers (see the module docstring).

    ``key``: a ``ViduClient`` (its key is used), a ``Secret`` or the key as text.
    ``public_url``: where the service should send callbacks when that is not the receiver's
    own address (an ingress, a tunnel). ``path``: the path the standalone server advertises.
    ``max_skew``: how old (or how far in the future) a signed ``Date`` may be, in seconds.
    """

    def __init__(
        self,
        key: Any,
        *,
        public_url: str | None = None,
        path: str = DEFAULT_PATH,
        max_body: int = MAX_BODY,
        max_skew: float = 300.0,
    ) -> None:
        self._key = _secret(key)
        if public_url is not None:
            parts = urlsplit(public_url) if isinstance(public_url, str) else None
            if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
                why = "must be an http:// or https:// URL with a host"
                raise ValidationError("public_url", public_url, why)
        if not isinstance(path, str) or not path.startswith("/") or "?" in path:
            raise ValidationError("path", path, "must be a URL path starting with '/'")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1024:
            raise ValidationError("max_body", max_body, "must be a whole number of bytes >= 1024")
        if isinstance(max_skew, bool) or not isinstance(max_skew, (int, float)) or max_skew <= 0:
            raise ValidationError("max_skew", max_skew, "must be seconds > 0")
        self.public_url = public_url
        self.path = path
        self.max_body = max_body
        self.max_skew = float(max_skew)
        self.stats = ReceiverStats()
        #: True after ``stop()`` until ``serve()`` again: the poller then falls back to polling.
        #: (A receiver mounted in someone else's server is presumed to be running.)
        self.stopped = False
        self._lock = threading.Lock()
        self._subscribers: list[tuple[Callable[[Delivery], None], Callable[[], None] | None]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._host = "127.0.0.1"

    # -- description ---------------------------------------------------------------------
    @property
    def url(self) -> str | None:
        """The standalone server's own address (with ``path``), or None when not serving."""
        server = self._server
        if server is None:
            return None
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{server.server_address[1]}{self.path}"

    @property
    def port(self) -> int | None:
        server = self._server
        return None if server is None else int(server.server_address[1])

    @property
    def callback_url(self) -> str | None:
        """What requests should carry as ``callback_url``: ``public_url`` when given, else
        ``url`` (a loopback address is right only when the service runs on this machine)."""
        return self.public_url or self.url

    def __repr__(self) -> str:
        where = self.url or ("stopped" if self.stopped else "not serving")
        public = f", public_url={self.public_url!r}" if self.public_url else ""
        return f"CallbackReceiver({where}{public}, accepted={self.stats.accepted})"

    # -- subscribers ---------------------------------------------------------------------
    def subscribe(
        self,
        on_delivery: Callable[[Delivery], None],
        *,
        on_stop: Callable[[], None] | None = None,
    ) -> Callable[[], None]:
        """Call ``on_delivery(delivery)`` for every verified callback (from the server's
        threads) and ``on_stop()`` when the standalone server stops; returns a function that
        unsubscribes both."""
        entry = (on_delivery, on_stop)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    # -- the request, whatever server carries it -------------------------------------------
    def check(
        self, method: str, path: str, query: str, headers: Mapping[str, str], length: int | None
    ) -> int | None:
        """Everything decided before the body is read: the status to refuse with, or None.
        ``path`` and ``query`` are the request's, exactly as received."""
        method = method.upper()
        if method in ("GET", "HEAD"):
            return 200  # a reachability check for tunnels and ingresses: nothing is revealed
        if method != "POST":
            return 405
        if not self._verified(method, path, query, headers):
            self._count("unauthorized")
            log.info("callback refused: no valid signature (path %s)", path)
            return 401
        if length is not None and length > self.max_body:
            self._count("too_large")
            return 413
        return None

    def deliver(self, body: bytes) -> int:
        """A verified request's body: 400 when it is not a task, 500 when a subscriber
        failed (the service sends it again), else 200."""
        if len(body) > self.max_body:
            self._count("too_large")
            return 413
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        task = _task_of(data)
        if task is None:
            self._count("bad_request")
            return 400
        assert isinstance(data, dict)
        delivery = Delivery(task, data, time.monotonic())
        with self._lock:
            self.stats.accepted += 1
            self.stats.last_delivery = delivery.at
            subscribers = [on for on, _ in self._subscribers]
        status = 200
        for on_delivery in subscribers:
            try:
                on_delivery(delivery)
            except Exception:
                log.exception("callback subscriber %r failed (task %s)", on_delivery, task.id)
                status = 500
        if status == 500:
            self._count("failed")
        return status

    def _verified(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> bool:
        """The signature covers the path and query of ``callback_url`` as written. A proxy
        may have rewritten them on the way here, so the public URL's are tried as well."""
        tries = [(path or "/", query)]
        if self.public_url:
            public = urlsplit(self.public_url)
            tries += [(public.path or "/", query), (public.path or "/", public.query)]
        key = self._key.reveal()
        for p, q in dict.fromkeys(tries):
            if verify_callback(key, method, p, q, headers, max_skew=self.max_skew):
                return True
        return False

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self.stats, name, getattr(self.stats, name) + 1)

    # -- WSGI ----------------------------------------------------------------------------
    def wsgi_app(self, environ: Mapping[str, Any], start_response: StartResponse) -> list[bytes]:
        """The receiver as a WSGI application (PEP 3333)."""
        method = str(environ.get("REQUEST_METHOD") or "GET")
        length = _length(environ.get("CONTENT_LENGTH"))
        status = self.check(
            method,
            environ_path(environ),
            str(environ.get("QUERY_STRING") or ""),
            environ_headers(environ),
            length,
        )
        if status is None:
            stream = environ["wsgi.input"]
            if length is not None:
                body = stream.read(length)
            elif environ.get("wsgi.input_terminated"):  # a chunked body the server ends
                body = stream.read(self.max_body + 1)
            else:  # PEP 3333: no length means nothing may be read
                body = b""
            status = self.deliver(body)
        elif status == 413 and length is not None and length <= DRAIN * self.max_body:
            _drain(environ["wsgi.input"], length)  # so the sender reads the answer, not a reset
        text, headers = _answer(status, method)
        start_response(f"{status} {_REASONS[status]}", headers)
        return [] if method.upper() == "HEAD" else [text]

    # -- ASGI ----------------------------------------------------------------------------
    async def asgi_app(
        self,
        scope: Mapping[str, Any],
        receive: Callable[[], Awaitable[Mapping[str, Any]]],
        send: Callable[[Mapping[str, Any]], Awaitable[None]],
    ) -> None:
        """The receiver as an ASGI application (HTTP and lifespan); the verification and the
        subscribers run in a worker thread, so the event loop is never blocked."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        method = str(scope.get("method") or "GET")
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if isinstance(raw, bytes) and raw else str(scope["path"])
        path = urlsplit(path).path if "?" in path else path
        headers = _asgi_headers(scope.get("headers") or ())
        length = _length(headers.get("content-length"))
        query = bytes(scope.get("query_string") or b"").decode("latin-1")
        loop = asyncio.get_running_loop()
        status = await loop.run_in_executor(None, self.check, method, path, query, headers, length)
        if status is None:
            body = await _read_body(receive, self.max_body)
            status = 413 if body is None else await loop.run_in_executor(None, self.deliver, body)
        text, response_headers = _answer(status, method)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in response_headers],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else text})

    # -- the standalone server -----------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> CallbackReceiver:
        """Serve on ``host:port`` from a daemon thread (port 0: any free port; pass the old
        ``port`` to start again where the service already sends). Returns the receiver."""
        with self._lock:
            if self._server is not None:
                return self
            server = _Server((host, port), _Handler)
            server.set_app(self.wsgi_app)
            self._server, self._host, self.stopped = server, host, False
            self._thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.1},
                name="vidu-callbacks", daemon=True,
            )  # fmt: skip
            self._thread.start()
        log.info("callback receiver serving at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop the standalone server; subscribers' ``on_stop`` are told (a poller then
        falls back to polling). Nothing happens when it is not serving."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
            if server is None:
                return
            self.stopped = True
            listeners = [on_stop for _, on_stop in self._subscribers if on_stop is not None]
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        for on_stop in listeners:
            try:
                on_stop()
            except Exception:
                log.exception("callback receiver: a stop listener failed")

    def __enter__(self) -> CallbackReceiver:
        return self.serve() if self._server is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    """wsgiref's handler, quiet, and passing the raw request path (``RAW_URI``), which the
    signature covers byte for byte."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["RAW_URI"] = self.path
        return environ

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("callback receiver: " + format, *args)


def _secret(key: Any) -> Secret:
    """The API key from a client, a ``Secret`` or text; the value itself is never shown."""
    config = getattr(key, "config", None)
    if config is not None and isinstance(getattr(config, "api_key", None), Secret):
        key = config.api_key
    if isinstance(key, str):
        key = Secret(key.strip())
    if not isinstance(key, Secret) or not key:
        shown = "<empty>" if isinstance(key, Secret) else type(key).__name__
        raise ValidationError("key", shown, "must be a ViduClient, a Secret or the API key text")
    return key


def _task_of(data: Any) -> Task | None:
    """The task a body reports, or None when it is not one (no id, no state)."""
    if not isinstance(data, dict):
        return None
    ident = data.get("id") or data.get("task_id")
    state = data.get("state")
    if not isinstance(ident, (str, int)) or not str(ident).strip():
        return None
    if not isinstance(state, str) or not state.strip():
        return None
    try:
        return Task.from_response(data)
    except (TypeError, ValueError):
        return None


def _drain(stream: Any, length: int) -> None:
    while length > 0:
        chunk = stream.read(min(length, 1 << 16))
        if not chunk:
            return
        length -= len(chunk)


def _length(value: Any) -> int | None:
    try:
        length = int(value)
    except (TypeError, ValueError):
        return None
    return length if length >= 0 else None


def _answer(status: int, method: str) -> tuple[bytes, list[tuple[str, str]]]:
    if status == 200 and method.upper() in ("GET", "HEAD"):
        text = b'{"service": "vidu-nb callback receiver", "accepts": "POST"}'
    else:
        text = json.dumps({"code": status, "message": _REASONS[status]}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(text)))]
    if status == 405:
        headers.append(("Allow", "POST, GET, HEAD"))
    return text, headers


def _asgi_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    return {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in raw}


async def _read_body(
    receive: Callable[[], Awaitable[Mapping[str, Any]]], limit: int
) -> bytes | None:
    """The whole request body, or None as soon as it grows past ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = bytes(message.get("body") or b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)
