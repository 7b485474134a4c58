"""Callback signatures: how the service signs the status POSTs it sends to ``callback_url``.

The service signs each callback with HMAC-SHA256 keyed by the API key that created the task,
over ``METHOD\\n path\\n canonical query\\n vidu\\n Date\\n`` followed by one ``Key:Value\\n``
line per signed header (``X-HMAC-SIGNED-HEADERS``, normally ``Date;x-request-nonce``). The
simulator signs with these functions and receivers verify with them, so both sides agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from email.utils import formatdate, parsedate_to_datetime
from urllib.parse import parse_qsl, quote, urlsplit

ACCESS_KEY = "vidu"
ALGORITHM = "hmac-sha256"
DEFAULT_SIGNED_HEADERS = "Date;x-request-nonce"

Query = str | Mapping[str, str] | None


def canonical_query(query: Query) -> str:
    """Query parameters sorted by name then value, percent-encoded, joined with ``&``."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else query.items()
    encoded = sorted((quote(str(k), safe="-_.~"), quote(str(v), safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    for key, value in headers.items():
        if key.lower() == low:
            return value
    return None


def string_to_sign(method: str, path: str, query: Query, headers: Mapping[str, str]) -> str:
    """The exact text that is signed (exposed so a mismatch can be debugged)."""
    signed = _header(headers, "X-HMAC-SIGNED-HEADERS") or DEFAULT_SIGNED_HEADERS
    date = _header(headers, "Date") or ""
    text = f"{method.upper()}\n{path or '/'}\n{canonical_query(query)}\n{ACCESS_KEY}\n{date}\n"
    for name in (n.strip() for n in signed.split(";") if n.strip()):
        text += f"{name}:{_header(headers, name) or ''}\n"
    return text


def sign_callback(
    key: str, method: str, path: str, query: Query, headers: Mapping[str, str]
) -> str:
    """``X-HMAC-SIGNATURE`` for a request: base64 of HMAC-SHA256 over ``string_to_sign``."""
    message = string_to_sign(method, path, query, headers).encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def callback_headers(
    key: str, url: str, method: str = "POST", *, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    """All headers of a signed callback request to ``url`` (what the service sends)."""
    parts = urlsplit(url)
    headers = {
        "Date": formatdate(time.time() if now is None else now, usegmt=True),
        "x-request-nonce": nonce or secrets.token_hex(16),
        "X-HMAC-SIGNED-HEADERS": DEFAULT_SIGNED_HEADERS,
        "X-HMAC-ALGORITHM": ALGORITHM,
        "X-HMAC-ACCESS-KEY": ACCESS_KEY,
    }
    headers["X-HMAC-SIGNATURE"] = sign_callback(key, method, parts.path, parts.query, headers)
    return headers


def verify_callback(
    key: str,
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    *,
    max_skew: float = 300,
) -> bool:
    """True when the signature matches and ``Date`` is within ``max_skew`` seconds of now."""
    given = _header(headers, "X-HMAC-SIGNATURE")
    algorithm = (_header(headers, "X-HMAC-ALGORITHM") or ALGORITHM).lower()
    if not given or algorithm != ALGORITHM:
        return False
    signed = (_header(headers, "X-HMAC-SIGNED-HEADERS") or DEFAULT_SIGNED_HEADERS).lower()
    if "date" not in [n.strip() for n in signed.split(";")]:
        return False  # an unsigned Date would let a captured request be replayed forever
    try:
        sent = parsedate_to_datetime(_header(headers, "Date") or "").timestamp()
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent) > max_skew:
        return False
    expected = sign_callback(key, method, path, query, headers)
    return hmac.compare_digest(expected.encode(), given.strip().encode())
