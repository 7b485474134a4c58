"""Test helpers around the simulator: image data URIs, a real loopback callback receiver, and the
whole running stack (simulator, client, task log, poller) the UI tests work against."""

from __future__ import annotations

import base64
import io
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from PIL import Image

from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog


def image_bytes(width: int = 320, height: int = 240, fmt: str = "PNG", color=(200, 80, 40)):
    im = Image.new("RGB", (width, height), color)
    for x in range(0, width, 8):  # some structure, so the encoder has work to do
        for y in range(0, height, 8):
            im.putpixel((x, y), (x * 255 // width, y * 255 // height, 128))
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def data_uri(width: int = 320, height: int = 240, fmt: str = "PNG", color=(200, 80, 40)) -> str:
    kind = {"JPEG": "jpeg", "GIF": "gif", "WEBP": "webp"}.get(fmt, "png")
    data = base64.b64encode(image_bytes(width, height, fmt, color)).decode()
    return f"data:image/{kind};base64,{data}"


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class CallbackReceiver:
    """A loopback HTTP server that records POSTs; ``fail_first`` answers 500 that many times."""

    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0

    def __enter__(self) -> CallbackReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                receiver.attempts += 1
                status = 500 if receiver.attempts <= receiver.fail_first else 200
                if status == 200:
                    path, _, query = self.path.partition("?")
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(path, query, headers, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/vidu?team=a&b=2"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_stack(
    folder: Path, **simulator_options: Any
) -> Iterator[tuple[Simulator, ViduClient, TaskLog, Poller]]:
    """A simulator, a client of it, a task log in ``folder`` and a started poller over both."""
    with (
        Simulator(**simulator_options) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(folder / "log.sqlite") as log,
        Poller(client, log) as poller,
    ):
        yield sim, client, log, poller


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> Iterator[str]:
    """A threaded HTTP server for ``handler`` (a stand-in for some remote); yields its root URL."""
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
