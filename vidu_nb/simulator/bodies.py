"""Request bodies, read as the service would: by ``Content-Length`` or chunked, within 20 MB.

A body over the limit is refused with the service's 400 ``PageSizeOutOfRange``. Where it is
not too far over (``DRAIN_LIMIT``), it is still read to its end, so the connection can carry the
client's next request; a body whose end is unknown, or too large to be worth reading, is
refused with ``Unread``, and the handler hangs up after the answer (its next bytes would be
taken for a request).
"""

from __future__ import annotations

from email.message import Message
from io import BufferedIOBase

from .contract import MAX_BODY_BYTES
from .rejects import Reject

DRAIN_LIMIT = 200 * 1024 * 1024  # beyond this an oversized body is not even read


class Unread(Reject):
    """A refusal that leaves (part of) the body unread: the connection must close after it."""


def read_body(headers: Message, rfile: BufferedIOBase) -> bytes:
    """The request's body (``b""`` when it has none); ``Reject`` or ``Unread`` when refused."""
    coding = (headers.get("Transfer-Encoding") or "").strip().lower()
    if coding:
        if coding != "chunked":
            raise Unread(400, "BadRequest", f"Transfer-Encoding {coding!r} is not supported")
        return _read_chunked(rfile)
    try:
        length = max(0, int(headers.get("Content-Length") or 0))
    except ValueError:
        raise Unread(400, "BadRequest", "Content-Length is not a number") from None
    if length > MAX_BODY_BYTES:
        if length > DRAIN_LIMIT:
            raise _too_big(length, Unread)
        remaining = length
        while remaining > 0:
            chunk = rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)
        raise _too_big(length)
    return rfile.read(length) if length else b""


def _read_chunked(rfile: BufferedIOBase) -> bytes:
    """A ``Transfer-Encoding: chunked`` body, held to the same 20 MB limit."""
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1 << 16)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise Unread(400, "BadRequest", "malformed chunked body") from None
        if size == 0:
            while rfile.readline(1 << 16) not in (b"\r\n", b"\n", b""):
                pass  # trailer fields
            break
        total += size
        if total > DRAIN_LIMIT:
            raise _too_big(total, Unread)
        chunk = rfile.read(size)
        if total <= MAX_BODY_BYTES:
            parts.append(chunk)
        rfile.readline(1 << 16)  # the CRLF after the chunk
    if total > MAX_BODY_BYTES:
        raise _too_big(total)
    return b"".join(parts)


def _too_big(length: int, kind: type[Reject] = Reject) -> Reject:
    return kind(
        400,
        "PageSizeOutOfRange",
        f"request body is {length:,} bytes; the limit is {MAX_BODY_BYTES:,} (20 MB)",
    )
