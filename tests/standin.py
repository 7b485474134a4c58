"""A stand-in for the remote service that answers exact bytes and records every request.

Answers are queued per ``(method, path)``: each request takes the next one, the last one
repeats. Every request is recorded with its raw query string and its body, so a test can
assert what the client really sent (and count that nothing was sent).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from simhelpers import serving

KEY = "sk-standin-key-77"


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


class StandIn:
    def __init__(self) -> None:
        self.answers: dict[tuple[str, str], list[tuple[int, bytes, dict[str, str]]]] = {}
        self.seen: list[Seen] = []

    def answer(self, method: str, path: str, status: int, body: Any, **headers: str) -> StandIn:
        """Queue an answer; ``body`` is sent as bytes when it is bytes, else as JSON."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.setdefault((method, path), []).append((status, raw, headers))
        return self

    def handler(self) -> type[BaseHTTPRequestHandler]:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                standin.seen.append(Seen(self.command, parts.path, parts.query, headers, body))
                queue = standin.answers.get((self.command, parts.path))
                status, raw, extra = (
                    (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else (404, b"", {})
                )
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _answer

        return Handler


@contextmanager
def standin() -> Iterator[tuple[StandIn, str]]:
    """A running stand-in and its base URL."""
    service = StandIn()
    with serving(service.handler()) as url:
        yield service, url
