"""The task log as DataFrames: the whole log kept between reads, filtered reads from the store.

``log.df`` is read again and again while a poller changes a few rows, so the whole log is kept
(``framecache``) and patched with the rows changed since; a filter (an experiment, states,
models, a time range, a tag, some columns) is a query of its own, so it reads only what it
returns. Either way the result is typed by ``frame`` and is the caller's to change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import ValidationError
from . import frame
from .framecache import FrameCache
from .rows import need_text, need_texts, need_time

if TYPE_CHECKING:
    import pandas as pd

    from .store import Store


class Frames:
    """The DataFrames of one task log (``TaskLog`` delegates ``to_frame`` and ``df`` here)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache = FrameCache(store)

    def close(self) -> None:
        """Free the cached frame (the frame of a big log is large) with the store."""
        self._cache.clear()

    def to_frame(
        self,
        experiment: str | None = None,
        state: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tag: str | None = None,
        user: str | Iterable[str] | None = None,
        *,
        columns: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """The log as a DataFrame (one row per task), filtered in SQL; ``since``/``until``
        bound ``submitted_at`` (naive datetimes are taken as UTC); ``user`` keeps the tasks
        ``submitted_by`` that user (or those users). ``columns`` reads only those (and
        ``row_id``, the index), e.g. for totals over a big log.

        Without filters it is the cached whole log, re-reading only the rows changed since
        the last call (by any process); each call returns a new copy, free to change."""
        filters = (experiment, state, model, since, until, tag, user, columns)
        if all(f is None for f in filters):
            return self._cache.frame()
        where: list[str] = []
        args: list[Any] = []
        if experiment is not None:
            where.append("experiment = ?")
            args.append(need_text("experiment", experiment))
        for col, want in (("state", state), ("model", model), ("user", user)):
            values = need_texts(col, want)
            col = "submitted_by" if col == "user" else col
            if values is not None:
                where.append(f"{col} IN ({', '.join('?' for _ in values)})")
                args.extend(values)
        for col, bound, op in (("since", since, ">="), ("until", until, "<")):
            seconds = need_time(col, bound)
            if seconds is not None:
                where.append(f"submitted_at {op} ?")
                args.append(seconds)
        if tag is not None:
            tag = need_text("tag", tag)
        if columns is not None and isinstance(columns, str):
            raise ValidationError("columns", columns, "must be a list of column names")
        if tag is not None:  # a literal tag: its % and _ are not wildcards
            where.append("(',' || tags || ',') LIKE ? ESCAPE '\\'")
            args.append(f"%,{like_literal(tag)},%")
        clause = " WHERE " + " AND ".join(where) if where else ""
        with self._store.read() as conn:
            what = "*"
            if columns is not None:
                known = set(conn.table("SELECT * FROM tasks LIMIT 0")[0])
                wanted = list(dict.fromkeys(["row_id", *columns]))
                unknown = [c for c in wanted if c not in known]
                if unknown:
                    why = f"no such column in the task log: {', '.join(map(str, unknown))}"
                    raise ValidationError("columns", list(columns), why)
                what = ", ".join(wanted)
            cols, rows = conn.table(f"SELECT {what} FROM tasks{clause} ORDER BY row_id", args)
        return frame.tasks_frame(rows, cols)

    @property
    def df(self) -> pd.DataFrame:
        """The whole log as a DataFrame (``to_frame()`` with no filter)."""
        return self.to_frame()


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``ESCAPE '\\'``: its ``\\``, ``%`` and ``_`` match
    themselves (ASCII letters still match either case, as LIKE does)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
