"""Result files behind expiring signed URLs, served with HTTP Range support.

Creation URLs of the real service stop working after 24 hours; here the lifetime is ``ttl``
real seconds. An expired or tampered URL answers 403, and a fresh query hands out fresh URLs.
Range requests answer 206 so a browser's ``<video>`` can seek.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from pathlib import Path
from urllib.parse import parse_qs

CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}
NAMES = ("video.mp4", "watermarked.mp4", "cover.jpg")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class UrlSigner:
    """Signs ``/files/{task}/{name}`` paths with an expiry; checks them when fetched."""

    def __init__(self, secret: bytes, ttl: float) -> None:
        self.secret = secret
        self.ttl = ttl

    def _sig(self, path: str, exp: int) -> str:
        return hmac.new(self.secret, f"{path}:{exp}".encode(), hashlib.sha256).hexdigest()[:32]

    def url(self, root: str, task_id: str, name: str) -> str:
        path = f"/files/{task_id}/{name}"
        exp = math.ceil(time.time() + self.ttl)  # whole seconds, never shorter than ttl
        return f"{root}{path}?exp={exp}&sig={self._sig(path, exp)}"

    def check(self, path: str, query: str) -> str | None:
        """None when the URL is valid, else why it is not (for the 403 message)."""
        params = parse_qs(query)
        try:
            exp = int(params["exp"][0])
            sig = params["sig"][0]
        except (KeyError, ValueError, IndexError):
            return "missing or malformed signature"
        if not hmac.compare_digest(sig, self._sig(path, exp)):
            return "signature does not match"
        if time.time() > exp:
            return "the URL has expired; query the task again for fresh URLs"
        return None


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(start, end)`` inclusive for a single byte range, None for no range, "bad" if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or not (match[1] or match[2]):
        return None  # unsupported forms (e.g. several ranges) get the whole file
    if match[1]:
        start = int(match[1])
        end = int(match[2]) if match[2] else size - 1
    else:
        length = int(match[2])
        start, end = max(0, size - length), size - 1
    end = min(end, size - 1)
    if start >= size or start > end:
        return "bad"
    return start, end


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
