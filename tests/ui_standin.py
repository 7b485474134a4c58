"""A scripted stand-in for the Vidu service, for tests that need answers the simulator never
gives: hostile texts, states the service may add, refused cancels, a slow or missing credits
endpoint. Each answer is set by the test; every request is recorded."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from simhelpers import serving


@dataclass
class StandIn:
    """What the stand-in answers. ``tasks`` maps a task id to its query answer (``state``,
    ``err_code``, ...); a submit creates ``t1``, ``t2``, ... in state ``created`` unless
    ``tasks`` already says otherwise. ``cancel``, ``credits`` and ``submit`` (when set, every
    submit is refused with it) are (status, body) pairs; ``credits_gate``, when set, holds
    every credits request until the test opens it."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    cancel: tuple[int, Any] = (200, {})
    #: When set, every submit gets this (status, body) instead of a new task.
    submit: tuple[int, Any] | None = None
    credits: tuple[int, Any] = (404, {"code": 404, "reason": "NotFound", "message": "no route"})
    credits_gate: threading.Event | None = None
    seen: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""
    _next: int = 0

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for m, p in list(self.seen) if m == method and path_part in p)


def _handler(stand: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            stand.seen.append(("POST", self.path))
            if self.path.endswith("/cancel"):
                self._answer(*stand.cancel)
                return
            if stand.submit is not None:
                self._answer(*stand.submit)
                return
            stand._next += 1
            task_id = f"t{stand._next}"
            answer = {"task_id": task_id, "state": "created", "credits": 10}
            answer.update(stand.tasks.setdefault(task_id, {"state": "created"}))
            self._answer(200, answer)

        def do_GET(self) -> None:
            stand.seen.append(("GET", self.path))
            path = self.path.split("?", 1)[0]
            if path.endswith("/credits"):
                if stand.credits_gate is not None:
                    stand.credits_gate.wait(30)
                self._answer(*stand.credits)
                return
            task_id = path.rstrip("/").split("/")[-2]
            body = {"id": task_id, "state": "created", "err_code": "", "credits": 10}
            body.update(stand.tasks.get(task_id, {}))
            self._answer(200, {**body, "creations": body.get("creations", [])})

    return Handler


@contextmanager
def stand_in(stand: StandIn | None = None) -> Iterator[StandIn]:
    stand = stand or StandIn()
    with serving(_handler(stand)) as url:
        stand.url = url
        yield stand
        if stand.credits_gate is not None:
            stand.credits_gate.set()  # a request still held must not keep the server busy
