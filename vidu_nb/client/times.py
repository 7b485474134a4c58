"""Times as the API writes them (RFC 3339), read tolerantly and written back.

A task's ``created_at`` (``task``) and the account's dates and list filters (``account``) share
one format; reading it lives here, below both, so neither has to borrow it from the other.
Nothing here checks arguments: a bad time read from an answer is ``None``, and the account's
argument checks decide what a bad *argument* is.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 string as a datetime (naive when it has no offset); None when unreadable."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().upper().replace("Z", "+00:00")  # RFC 3339 allows "t" and "z"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # Python 3.10 cannot parse 6+ fractional digits with some offsets; trim and retry.
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())[:6]
        tz = rest[len("".join(c for c in rest if c.isdigit())) :] if rest else ""
        try:
            return datetime.fromisoformat(f"{head}.{digits}{tz}" if digits else head + tz)
        except ValueError:
            return None


def rfc3339(when: datetime) -> str:
    """``2025-06-03T08:30:00Z`` (microseconds only when there are some)."""
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
