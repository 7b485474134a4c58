"""Callback delivery: signed POSTs of the task status to ``callback_url``, from a worker thread.

Like the service, final states (``success``, ``failed``; also a forced ``canceled``) are
retried up to 3 times when the receiver fails; other states are sent once. Each attempt is
signed afresh (``signing``: the query of ``callback_url`` exactly as written). Only loopback receivers are contacted: the
simulator never sends traffic off the machine (other hosts are logged and skipped).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .contract import CANCELLED_STATES, FINAL_STATES
from .frames import is_loopback, loopback_opener
from .signing import callback_headers

log = logging.getLogger("vidu_nb.simulator")


@dataclass(frozen=True)
class Delivery:
    url: str
    task_id: str
    state: str
    status: int  # last HTTP status, 0 when there was no answer, -1 when skipped
    attempts: int


class CallbackSender:
    def __init__(
        self, key: str, *, retries: int = 3, retry_delay: float = 0.2, timeout: float = 5.0
    ) -> None:
        self._key = key
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="vidu-sim-callbacks", daemon=True)
        self._thread.start()

    def send(self, url: str, body: dict[str, Any]) -> None:
        self._queue.put((url, body))

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            url, body = item
            try:
                self.deliveries.append(self._deliver(url, body))
            except Exception:  # pragma: no cover - a broken receiver must not stop the worker
                log.exception("callback delivery to %s failed", url)

    def _deliver(self, url: str, body: dict[str, Any]) -> Delivery:
        state = body.get("state", "")
        if not is_loopback(urlsplit(url).hostname):
            log.warning("callback to non-loopback host skipped: %s", urlsplit(url).hostname)
            return Delivery(url, body["id"], state, -1, 0)
        final = state in FINAL_STATES or state in CANCELLED_STATES
        tries = 1 + (self.retries if final else 0)
        data = json.dumps(body).encode()
        status = 0
        opener = loopback_opener()
        for attempt in range(1, tries + 1):
            headers = callback_headers(self._key, url)
            headers["Content-Type"] = "application/json"
            req = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with opener.open(req, timeout=self.timeout) as resp:
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            if 200 <= status < 300:
                return Delivery(url, body["id"], state, status, attempt)
            if attempt < tries:
                time.sleep(self.retry_delay * attempt)
        return Delivery(url, body["id"], state, status, tries)
