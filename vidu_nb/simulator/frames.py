"""Start frames of a submitted task: data URIs and URLs checked as the API checks images.

The rules (formats png, jpeg, webp; at most 50 MB; aspect ratio 1:4 to 4:1) come from the
simulator's ``contract``. Loopback URLs are fetched, never through the environment's proxy and
never following a redirect off the machine; any other host gets a generated frame, so no
traffic leaves the machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import ipaddress
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from .contract import IMAGE_FORMATS, MAX_IMAGE_BYTES, ratio_ok, sniff_image
from .rejects import Reject

_DATA_URI = re.compile(r"^data:image/(?P<fmt>[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.S)


@dataclass(frozen=True)
class Frame:
    """A checked image: its bytes and size (the size gives the task's aspect ratio)."""

    data: bytes
    width: int
    height: int


def start_frame(count: tuple[int, int] | None, images: list[Any] | None, prompt: str) -> Frame:
    """The first image of ``images`` after checking them all; ``count`` is the allowed number
    of items (None: the endpoint takes no images, the frame is made from the prompt)."""
    if count is None:
        return check_image("prompt", placeholder_frame(prompt))  # text to video
    low, high = count
    if not images or not low <= len(images) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise Reject(
            400,
            "FieldItemCountOutOfRange",
            f"images must hold {want} item(s), got {len(images or [])}",
        )
    frames = [_load(i, item) for i, item in enumerate(images)]
    return frames[0]


def _load(index: int, item: Any) -> Frame:
    where = f"images[{index}]"
    if not isinstance(item, str) or not item:
        raise Reject(400, "FieldInvalid", f"{where} must be a URL or a data URI string")
    if item.startswith("data:"):
        match = _DATA_URI.match(item)
        if not match:
            raise Reject(400, "ImageFormatInvalid", f"{where}: not a data:image/<fmt>;base64 URI")
        if match["fmt"].lower() not in IMAGE_FORMATS:
            raise Reject(
                400, "ImageFormatInvalid", f"{where}: format {match['fmt']!r}; use png, jpeg, webp"
            )
        try:
            data = base64.b64decode(match["data"], validate=True)
        except (binascii.Error, ValueError):
            raise Reject(400, "ImageFormatInvalid", f"{where}: invalid base64") from None
    elif urlsplit(item).scheme in ("http", "https"):
        data = _fetch(where, item)
    else:
        raise Reject(400, "FieldInvalid", f"{where} must be an http(s) URL or a data URI")
    return check_image(where, data)


def check_image(where: str, data: bytes) -> Frame:
    """The API's image checks: size, real format, decodable, aspect ratio."""
    if len(data) > MAX_IMAGE_BYTES:
        raise Reject(400, "PageSizeOutOfRange", f"{where} is {len(data):,} bytes; at most 50 MB")
    if sniff_image(data) is None:
        raise Reject(400, "ImageFormatInvalid", f"{where}: not a png, jpeg or webp image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            width, height = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Reject(400, "ImageFormatInvalid", f"{where}: corrupt or truncated image") from None
    if not ratio_ok(width, height):
        ratio = width / height if height else 0
        raise Reject(
            400,
            "PageSizeOutOfRange",
            f"{where}: aspect ratio {width}x{height} ({ratio:.2f}) is outside 1:4 to 4:1",
        )
    return Frame(data, width, height)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _LoopbackRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only while they stay on this machine."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not is_loopback(urlsplit(newurl).hostname):
            raise urllib.error.HTTPError(
                newurl, code, "redirect off the machine refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def loopback_opener() -> urllib.request.OpenerDirector:
    """An opener for loopback URLs: never through the environment's proxy (``http_proxy``
    would carry the request, signed callbacks included, off the machine), and never
    redirected to another host."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirects())


def _fetch(where: str, url: str) -> bytes:
    """Loopback URLs are fetched; any other host gets a generated frame (no internet here)."""
    if not is_loopback(urlsplit(url).hostname):
        return placeholder_frame(url)
    try:
        with loopback_opener().open(url, timeout=5) as resp:
            data: bytes = resp.read(MAX_IMAGE_BYTES + 1)
            return data
    except (OSError, ValueError) as exc:
        raise Reject(400, "ImageDownloadFailure", f"{where}: cannot download ({exc})") from None


def placeholder_frame(text: str, size: tuple[int, int] = (640, 360)) -> bytes:
    """A 16:9 gradient whose colours derive from ``text``, standing in for a remote image."""
    digest = hashlib.sha256(text.encode()).digest()
    a, b = digest[:3], digest[3:6]
    w, h = size
    im = Image.linear_gradient("L").resize((w, h)).convert("L")
    colour = Image.merge(
        "RGB", [im.point(lambda v, i=i: (a[i] * (255 - v) + b[i] * v) // 255) for i in range(3)]
    )
    out = io.BytesIO()
    colour.save(out, "PNG")
    return out.getvalue()
