"""What the task log's parts send becomes what PostgreSQL runs: their qmark SQL in psycopg's
style, and the values as SQLite gives them back (one place for each difference).

The parts write SQL both databases run (``store``'s rules); the differences left are here:
``?`` placeholders (psycopg takes ``%s`` and reads every ``%``), ``LIKE`` (SQLite's ignores
the case of ASCII letters), the sums of integers (``numeric`` in PostgreSQL, never a
``Decimal`` for pandas), and a ``bool`` argument (the flag columns hold 0/1).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader


def adapt(conn: psycopg.Connection[Any]) -> None:
    """Make ``conn`` load and dump values as the task log's parts expect them."""
    conn.adapters.register_loader("numeric", Numbers)
    conn.adapters.register_dumper(bool, Flag)


@functools.lru_cache(maxsize=1024)
def convert(sql: str) -> str:
    """The parts' qmark SQL as psycopg takes it: ``?`` -> ``%s`` outside quoted literals, and
    every ``%`` (a ``LIKE`` pattern) doubled, since psycopg reads ``%`` anywhere. ``LIKE``
    becomes ``ILIKE``: SQLite's ``LIKE`` ignores the case of ASCII letters, PostgreSQL's not."""
    pieces = sql.replace("%", "%%").split("'")
    for i in range(0, len(pieces), 2):  # outside quotes
        pieces[i] = _LIKE.sub("ILIKE", pieces[i].replace("?", "%s"))
    return "'".join(pieces)


_LIKE = re.compile(r"(?<![\w])LIKE(?![\w])", re.IGNORECASE)


class Numbers(Loader):
    """``SUM``/``AVG`` of integers come back as ``numeric``: an ``int`` when whole, as SQLite
    gives them, else a ``float`` (never ``Decimal``, which pandas and the ledger do not add)."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


class Flag(Dumper):
    """A ``bool`` argument is stored as the 0/1 the integer flag columns hold."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"
