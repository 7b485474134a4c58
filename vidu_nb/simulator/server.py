"""HTTP handler and routing of the simulator (one thread per connection, keep-alive).

The server answers for whatever it is given as a ``Backend`` (the ``Simulator`` that starts it):
it only reads requests, routes them to the backend and writes the answers.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .api import ENDPOINTS, submit_body
from .backend import Backend
from .bodies import Unread, read_body
from .files import NAMES, content_type, parse_range
from .rejects import Reject, error_body

log = logging.getLogger("vidu_nb.simulator")


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Backend) -> None:
        self.sim = sim
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Hang up on keep-alive clients, so a stopped simulator really stops answering."""
        with self._open_lock:
            open_now, self._open = list(self._open), set()
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, dropped faults) is normal here, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        log.exception("simulator request from %s failed", client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: SimHTTPServer
    _recording: tuple[str, str] | None = None  # (method, path) until the status is sent

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.sim.verbose:
            super().log_message(format, *args)

    def send_response(self, code: int, message: str | None = None) -> None:
        # Recorded before a byte goes out, so a client that has its answer can count on it.
        if self._recording is not None:
            self.server.sim.record(*self._recording, code, self._agent())
            self._recording = None
        super().send_response(code, message)

    def _agent(self) -> str:
        headers = getattr(self, "headers", None)
        return str(headers.get("User-Agent", "")) if headers is not None else ""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    # -- dispatch ------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        sim = self.server.sim
        self.trace_id = secrets.token_hex(8)
        self.status = 0
        url = urlsplit(self.path)
        path, api_root = url.path, sim.prefix + "/ent/"
        self._recording = (method, path)
        try:
            body = read_body(self.headers, self.rfile)
        except Reject as exc:
            if isinstance(exc, Unread):
                self.close_connection = True
            self._error(exc)
            return
        decision = sim.faults.decide(method, path, api=path.startswith(api_root))
        if decision.action == "drop":
            return self._drop(method, path)
        try:
            if decision.action == "rate_limit":
                rule = decision.rule
                retry = rule.retry_after if rule else 1.0
                raise Reject(
                    429,
                    (rule.reason if rule else "") or "TooManyRequests",
                    "too many requests; retry later",
                    {"Retry-After": f"{retry:g}"},
                )
            if decision.action == "server_error":
                raise Reject(500, "InternalServiceFailure", "internal service failure")
            respond = self._route(method, path, url.query, body)
        except Reject as exc:
            rejected = exc  # ``exc`` is unbound after the except block
            respond = lambda: self._error(rejected)  # noqa: E731
        except Exception:  # a simulator bug must look like the service failing, not hang
            log.exception("simulator error on %s %s", method, path)
            failure = Reject(500, "InternalServiceFailure", "simulator error (see its log)")
            respond = lambda: self._error(failure)  # noqa: E731
        if decision.action == "drop_after":
            return self._drop(method, path)
        if decision.delay:
            time.sleep(decision.delay)
        respond()

    def _drop(self, method: str, path: str) -> None:
        """Close the connection without a byte of response."""
        self.close_connection = True
        self._recording = None
        self.server.sim.record(method, path, 0, self._agent())

    def _route(self, method: str, path: str, query: str, body: bytes) -> Callable[[], None]:
        """Do the work now; return a function that writes the response (faults may delay it)."""
        sim = self.server.sim
        if path.startswith("/files/") and method in ("GET", "HEAD"):
            return self._file(path, query, head=method == "HEAD")
        if path.startswith("/files/") and method == "OPTIONS":
            return self._preflight
        head = sim.prefix + "/ent/v2/"
        if not path.startswith(head):
            raise Reject(404, "NotFound", f"no route for {method} {path}")
        self._check_auth()
        rest = path[len(head) :]
        parts = rest.split("/")
        if method == "POST" and rest in ENDPOINTS:
            task = sim.submit(ENDPOINTS[rest], self._json(body), path)
            return lambda: self._json_response(200, submit_body(task))
        if method == "GET" and rest in ("tasks", "credits"):
            listing = sim.list_tasks(query) if rest == "tasks" else sim.credits(query)
            return lambda: self._json_response(200, listing)
        if len(parts) == 3 and parts[0] == "tasks":
            task_id, action = parts[1], parts[2]
            if method == "GET" and action == "creations":
                data = sim.query(task_id)
                return lambda: self._json_response(200, data)
            if method == "POST" and action == "cancel":
                sim.cancel(task_id, body)
                answer = sim.cancel_answer.encode()
                return lambda: self._raw_response(200, answer)
        raise Reject(404, "NotFound", f"no route for {method} {path}")

    # -- pieces --------------------------------------------------------------------------
    def _json(self, body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise Reject(400, "BadRequest", "the request body is not valid JSON") from None

    def _check_auth(self) -> None:
        sim = self.server.sim
        given = self.headers.get("Authorization") or ""
        scheme, _, key = given.partition(" ")
        schemes = (sim.auth_scheme,) if sim.auth_scheme else ("Token", "Bearer")
        if not given:
            raise Reject(401, "Unauthorized", "missing Authorization header")
        if scheme.lower() not in [s.lower() for s in schemes]:  # schemes ignore case (RFC 7235)
            raise Reject(
                401, "Unauthorized", f"Authorization scheme must be {' or '.join(schemes)}"
            )
        if not secrets.compare_digest(key.strip().encode(), sim.api_key.encode()):
            raise Reject(401, "Unauthorized", "invalid API key")

    def _file(self, path: str, query: str, head: bool) -> Callable[[], None]:
        sim = self.server.sim
        parts = path.split("/")  # ["", "files", task_id, name]
        if len(parts) != 4 or parts[3] not in NAMES:
            raise Reject(404, "NotFound", "no such file")
        problem = sim.signer.check(path, query)
        if problem:
            raise Reject(403, "Forbidden", problem)
        file = sim.file_for(parts[2], parts[3])
        if file is None:
            raise Reject(404, "CreationNotFound", "no such creation")
        size = file.stat().st_size
        rng = parse_range(self.headers.get("Range"), size)
        if rng == "bad":
            raise Reject(416, "RangeNotSatisfiable", f"range outside 0..{size - 1}",
                         {"Content-Range": f"bytes */{size}"})  # fmt: skip
        start, end = rng if isinstance(rng, tuple) else (0, size - 1)

        def write() -> None:
            self.status = 206 if isinstance(rng, tuple) else 200
            self.send_response(self.status)
            self.send_header("Content-Type", content_type(file))
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Cache-Control", "private, max-age=3600")
            self.send_header("X-Trace-Id", self.trace_id)
            if isinstance(rng, tuple):
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.end_headers()
            if head:
                return
            with open(file, "rb") as fh:
                fh.seek(start)
                remaining = end - start + 1
                while remaining > 0:
                    chunk = fh.read(min(remaining, 1 << 16))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)

        return write

    def _preflight(self) -> None:
        """CORS preflight for file URLs (a page on another origin may fetch videos)."""
        self.status = 204
        self.send_response(204)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header("Access-Control-Max-Age", "86400")
        self.send_header("Content-Length", "0")
        self.send_header("X-Trace-Id", self.trace_id)
        self.end_headers()

    def _json_response(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._raw_response(status, json.dumps(data).encode(), headers)

    def _raw_response(
        self, status: int, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """An answer whose body is ``payload`` as it is (an empty body has no content type)."""
        self.status = status
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Trace-Id", self.trace_id)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _error(self, exc: Reject) -> None:
        body = error_body(exc.status, exc.reason, exc.message, self.trace_id)
        self._json_response(exc.status, body, exc.headers)


__all__ = ["Handler", "SimHTTPServer"]
