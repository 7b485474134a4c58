"""How the simulated service signs the callbacks it POSTs, from the tasks page ("Callbacks").

Signature = base64(HMAC-SHA256(key = the API token that created the task, message =
``METHOD\\n`` + ``path\\n`` + ``query\\n`` + ``vidu\\n`` + ``Date\\n`` + one ``Key:Value\\n`` per
signed header)). The query is the part of ``callback_url`` after ``?`` exactly as it is
written there: not sorted, not decoded, not re-encoded (the official example signs
``name=james&age=36`` in that order). The path is the URL's path, ``/`` when empty.

This is the simulator's own reading of the page, deliberately not shared with the client's
verifier: a receiver that canonicalises the query differently must fail against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from email.utils import formatdate
from urllib.parse import urlsplit

ACCESS_KEY = "vidu"
ALGORITHM = "hmac-sha256"
SIGNED_HEADERS = ("Date", "x-request-nonce")


def string_to_sign(method: str, url: str, headers: dict[str, str]) -> str:
    """The signed text for a request to ``url`` with ``headers`` (Date and the nonce)."""
    parts = urlsplit(url)
    date = headers["Date"]
    text = f"{method.upper()}\n{parts.path or '/'}\n{parts.query}\n{ACCESS_KEY}\n{date}\n"
    return text + "".join(f"{name}:{headers[name]}\n" for name in SIGNED_HEADERS)


def signature(key: str, text: str) -> str:
    digest = hmac.new(key.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def callback_headers(
    key: str, url: str, method: str = "POST", *, now: float | None = None, nonce: str | None = None
) -> dict[str, str]:
    """Every header of a signed callback to ``url``, as the service sends them."""
    headers = {
        "Date": formatdate(time.time() if now is None else now, usegmt=True),
        "x-request-nonce": nonce or secrets.token_hex(16),
        "X-HMAC-SIGNED-HEADERS": ";".join(SIGNED_HEADERS),
        "X-HMAC-ALGORITHM": ALGORITHM,
        "X-HMAC-ACCESS-KEY": ACCESS_KEY,
    }
    headers["X-HMAC-SIGNATURE"] = signature(key, string_to_sign(method, url, headers))
    return headers
