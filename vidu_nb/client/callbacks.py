"""Callback signatures: how the service signs the status POSTs it sends to ``callback_url``.

The service signs each callback with HMAC-SHA256 keyed by the API key that created the task,
over ``METHOD\\n path\\n query\\n vidu\\n Date\\n`` followed by one ``Key:Value\\n`` line per
signed header (``X-HMAC-SIGNED-HEADERS``, normally ``Date;x-request-nonce``). The official
example: for ``http://127.0.0.1:8080/vidu/callback?name=james&age=36`` the signed text is
``POST\\n/vidu/callback\\nname=james&age=36\\nvidu\\n<Date>\\nDate:<Date>\\nx-request-nonce:<n>\\n``.

``query`` is the query string *exactly* as it appears in ``callback_url`` (the part after
``?`` as ``urlsplit`` gives it, empty when none): never sorted, decoded or re-encoded, because
the service signs the text it was given. A receiver should therefore pass the raw query of the
request line (``verify_callback_url`` and ``verify_callback_environ`` do that for it). A
``Mapping`` is still accepted for convenience and is encoded with ``urlencode`` in its own
order, which only matches when the ``callback_url`` was written that way.

The simulator signs with these functions and receivers verify with them, so both sides agree.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from datetime import timezone
from email.utils import formatdate, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

ACCESS_KEY = "vidu"
ALGORITHM = "hmac-sha256"
DEFAULT_SIGNED_HEADERS = "Date;x-request-nonce"

#: The raw query string (preferred), or name/value pairs encoded in their given order.
Query = str | Mapping[str, str] | None


def query_text(query: Query) -> str:
    """The query as it goes into the signed text: a string verbatim, a mapping urlencoded in
    its own order (``{"b": "2", "a": "1"}`` gives ``b=2&a=1``), nothing as ``""``."""
    if not query:
        return ""
    if isinstance(query, str):
        return query
    return urlencode([(str(k), str(v)) for k, v in query.items()])


def _header(headers: Mapping[str, str], name: str) -> str | None:
    low = name.lower()
    for key, value in headers.items():
        if key.lower() == low:
            return value
    return None


def _signed_names(headers: Mapping[str, str]) -> list[str]:
    signed = _header(headers, "X-HMAC-SIGNED-HEADERS") or DEFAULT_SIGNED_HEADERS
    return [n.strip() for n in signed.split(";") if n.strip()]


def string_to_sign(method: str, path: str, query: Query, headers: Mapping[str, str]) -> str:
    """The exact text that is signed (exposed so a mismatch can be debugged)."""
    date = _header(headers, "Date") or ""
    text = f"{method.upper()}\n{path or '/'}\n{query_text(query)}\n{ACCESS_KEY}\n{date}\n"
    for name in _signed_names(headers):
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
    """All headers of a signed callback request to ``url`` (what the service sends); the
    path and query are taken from ``url`` as written."""
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


def _sent_at(headers: Mapping[str, str]) -> float | None:
    """``Date`` as a timestamp (a zone-less date is read as GMT), or None when unusable."""
    try:
        when = parsedate_to_datetime(_header(headers, "Date") or "")
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def verify_callback(
    key: str,
    method: str,
    path: str,
    query: Query,
    headers: Mapping[str, str],
    *,
    max_skew: float = 300,
    now: float | None = None,
) -> bool:
    """True when the signature matches and ``Date`` is within ``max_skew`` seconds of ``now``.

    Refused: no signature; an algorithm other than ``hmac-sha256``; a ``Date`` that is missing,
    unparseable, too old or too far in the future; signed headers that leave out ``Date`` (an
    unsigned Date would let a captured request be replayed forever) or that name a header the
    request does not carry. ``query`` is the raw query string (see the module docstring).
    """
    given = _header(headers, "X-HMAC-SIGNATURE")
    algorithm = (_header(headers, "X-HMAC-ALGORITHM") or ALGORITHM).strip().lower()
    if not given or algorithm != ALGORITHM:
        return False
    names = _signed_names(headers)
    if "date" not in [n.lower() for n in names]:
        return False
    if any(_header(headers, n) is None for n in names):
        return False
    sent = _sent_at(headers)
    if sent is None or abs((time.time() if now is None else now) - sent) > max_skew:
        return False
    expected = sign_callback(key, method, path, query, headers)
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def verify_callback_url(
    key: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    *,
    max_skew: float = 300,
    now: float | None = None,
) -> bool:
    """``verify_callback`` for a request URL as received (absolute, or the request line's
    ``/path?query``): its path and raw query are used exactly as written."""
    parts = urlsplit(url)
    return verify_callback(
        key, method, parts.path, parts.query, headers, max_skew=max_skew, now=now
    )


def environ_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request headers of a WSGI ``environ`` (``HTTP_X_REQUEST_NONCE`` ->
    ``x-request-nonce``)."""
    out = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k[:5] == "HTTP_"}
    for name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(name):
            out[name.replace("_", "-").lower()] = str(environ[name])
    return out


def environ_path(environ: Mapping[str, Any]) -> str:
    """The request path as the client wrote it. WSGI decodes ``PATH_INFO``, so the raw request
    URI is preferred when the server provides one (``RAW_URI``, ``REQUEST_URI``); otherwise
    the decoded path is percent-encoded again, which is exact for ordinary paths."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw:
        return urlsplit(raw).path or "/"
    path = str(environ.get("SCRIPT_NAME") or "") + str(environ.get("PATH_INFO") or "")
    # PEP 3333: the decoded bytes are carried as latin-1 text.
    return quote(path.encode("latin-1", "replace"), safe="/;=,:@!$&'()*+~-._") or "/"


def verify_callback_environ(
    key: str, environ: Mapping[str, Any], *, max_skew: float = 300, now: float | None = None
) -> bool:
    """``verify_callback`` for a WSGI request: method, path, the raw ``QUERY_STRING`` and the
    headers all come from ``environ`` (the body is not signed and is not read)."""
    return verify_callback(
        key,
        str(environ.get("REQUEST_METHOD") or "POST"),
        environ_path(environ),
        str(environ.get("QUERY_STRING") or ""),
        environ_headers(environ),
        max_skew=max_skew,
        now=now,
    )
