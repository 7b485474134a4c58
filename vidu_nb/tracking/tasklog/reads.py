"""Reading the task log: single tasks as dicts, what is left to follow, and DataFrames.

Reads share the process's connection under the store's lock, so the notebook can read
``log.df`` while the poller thread writes; other processes' commits are visible at once (WAL).
The whole log as a DataFrame is kept between reads and patched with the rows that changed
(``framecache``); filtered reads ask SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ... import states
from ...errors import ValidationError
from . import frame, framecache
from .rows import need_text, need_texts, need_time
from .store import Store

if TYPE_CHECKING:
    import pandas as pd


class Reads(Store):
    """The questions a task log answers (mixed into ``TaskLog``)."""

    def _setup(self, conn: sqlite3.Connection) -> None:
        super()._setup(conn)
        framecache.install(conn)  # the change sequence the cached frame follows

    def close(self) -> None:
        cache = self.__dict__.get("_frames")
        if cache is not None:
            cache.clear()  # the frame of a big log is large: free it with the connection
        super().close()

    @property
    def _frame_cache(self) -> framecache.FrameCache:
        with self._lock:
            cache = self.__dict__.get("_frames")
            if cache is None:
                cache = self.__dict__["_frames"] = framecache.FrameCache(self)
            return cache

    def get(self, task_id: str) -> dict[str, Any] | None:
        """One task as a dict of Python values (times as aware datetimes), or ``None``."""
        found = self._dicts("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        return found[0] if found else None

    def get_by_ref(self, client_ref: str) -> dict[str, Any] | None:
        found = self._dicts(
            "SELECT * FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1", (client_ref,)
        )
        return found[0] if found else None

    def pending(self) -> list[str]:
        """Ids of tasks that are not finished yet, oldest first (what ``resume`` follows):
        any state that is not final, an unknown one included (``states.is_final``)."""
        # The states present are found by hopping along the state index (a few lookups), then
        # only the rows of the open ones are read: not every finished task of a big log.
        keep = [
            s for s in self.states_present()
            if not states.is_final(s) and states.norm(s) != states.UNCERTAIN
        ]  # fmt: skip
        if not keep:
            return []
        marks = ", ".join("?" for _ in keep)
        _, rows = self._query(
            "SELECT task_id FROM tasks WHERE task_id IS NOT NULL AND task_id != ''"
            f" AND state IN ({marks}) ORDER BY row_id",
            keep,
        )
        return [r[0] for r in rows]

    def states_present(self) -> list[str]:
        """Every distinct state in the log, raw as stored (an unknown one too), sorted; read
        by hopping along the state index, a lookup per distinct state."""
        _, rows = self._query(
            "WITH RECURSIVE present(state) AS (SELECT MIN(state) FROM tasks UNION ALL"
            " SELECT (SELECT MIN(state) FROM tasks WHERE state > present.state) FROM present"
            " WHERE present.state IS NOT NULL)"
            " SELECT state FROM present WHERE state IS NOT NULL"
        )
        return [str(r[0]) for r in rows]

    def recent_seeds(self, limit: int = 30) -> list[tuple[str, int]]:
        """``(task_id, seed)`` of the last ``limit`` succeeded tasks with a seed, newest first
        (the form's "use its seed" choices): read through the state index, never the whole
        log."""
        _, rows = self._query(
            "SELECT task_id, seed FROM tasks WHERE state = 'success' AND seed IS NOT NULL"
            " ORDER BY row_id DESC LIMIT ?",
            (int(limit),),
        )
        return [(str(tid), int(seed)) for tid, seed in rows]

    def missing_files(self) -> list[str]:
        """Ids of succeeded tasks whose video is not cached yet (``resume`` fetches them)."""
        _, rows = self._query(
            "SELECT task_id FROM tasks WHERE state = 'success' AND task_id IS NOT NULL"
            " AND video_path IS NULL ORDER BY row_id"
        )
        return [r[0] for r in rows]

    def uncertain(self) -> list[dict[str, Any]]:
        """Submissions whose outcome is unknown, to reconcile by their ``client_ref``."""
        return self._dicts("SELECT * FROM tasks WHERE state = 'uncertain'")

    def charged_credits(self) -> list[tuple[Any, ...]]:
        """``(model, resolution, duration, off_peak, is_rec, credits, count)`` over successful
        tasks, grouped: the ledger learns its estimates from this."""
        with self._lock:
            return self._db.execute(_CHARGED_COUNT + " GROUP BY 1, 2, 3, 4, 5, 6").fetchall()

    def charged_since(
        self, mark: tuple[int, int] | None, most: int = 500
    ) -> tuple[tuple[int, int], bool, list[tuple[Any, ...]]]:
        """What ``charged_credits`` gained since ``mark`` (a value this method returned):
        ``(new mark, full, rows)`` in its format. ``full`` rows are the whole table (no mark,
        more than ``most`` rows changed, or a change it cannot follow); otherwise ``rows`` are
        the tasks that succeeded since the mark, to add.

        The changes are found through the events every state change writes (a range of their
        primary key) and the rows added since (of the tasks' one), so a log that changes as a
        poller follows a few tasks costs a few indexed lookups, whatever its size. The credits
        of a succeeded task are final (``tasks.md``): a later write that keeps the state does
        not change what it charged.
        """
        with self._lock:
            conn = self._db
            own = not conn.in_transaction
            if own:  # one snapshot: another process may be writing meanwhile
                conn.execute("BEGIN")
            try:
                new_mark, added = self._charged_since(conn, mark, most)
                if added is None:
                    return new_mark, True, self.charged_credits()
                return new_mark, False, added
            finally:
                if own and conn.in_transaction:
                    conn.execute("COMMIT")

    def _charged_since(
        self, conn: sqlite3.Connection, mark: tuple[int, int] | None, most: int
    ) -> tuple[tuple[int, int], list[tuple[Any, ...]] | None]:
        """The new mark, and the rows to add (``None``: recount them all)."""
        (last_event,) = conn.execute("SELECT COALESCE(MAX(event_id), 0) FROM events").fetchone()
        (last_row,) = conn.execute("SELECT COALESCE(MAX(row_id), 0) FROM tasks").fetchone()
        new_mark = (int(last_event), int(last_row))
        if mark is None or new_mark[0] < mark[0] or new_mark[1] < mark[1]:
            return new_mark, None
        changed = conn.execute(
            "SELECT row_id FROM events WHERE event_id > ? AND event_id <= ?"
            " UNION SELECT row_id FROM tasks WHERE row_id > ? AND row_id <= ? LIMIT ?",
            (mark[0], new_mark[0], mark[1], new_mark[1], most + 1),
        ).fetchall()
        if len(changed) > most:
            return new_mark, None
        added: list[tuple[Any, ...]] = []
        for (row_id,) in changed:
            before = conn.execute(
                "SELECT state FROM events WHERE row_id = ? AND event_id <= ?"
                " ORDER BY event_id DESC LIMIT 1",
                (row_id, mark[0]),
            ).fetchone()
            if before is None and row_id <= mark[1]:
                return new_mark, None  # an older row without events: was it counted? recount
            was = before is not None and before[0] == "success"
            now = conn.execute(_CHARGED + " AND row_id = ?", (row_id,)).fetchone()
            if was and now is None:
                return new_mark, None  # it left success (or lost its figures): recount
            if now is not None and not was:
                added.append((*now, 1))
        return new_mark, added

    def timing_history(
        self, base_url: str | None = None, *, limit: int = 5000
    ) -> list[tuple[Any, ...]]:
        """``(model, resolution, duration, off_peak, seconds)`` of the last ``limit`` succeeded
        tasks with both times stored, oldest first: what ``client.timing.Timing`` learns
        processing times from (``seconds`` is ``finished_at - processing_at``, both as the
        poller saw them). Only rows of ``base_url`` (as stored: ``rows.public_url``) when
        given: another service, or a simulator at another speed, has other durations. Read
        through the state index, never the whole log."""
        sql = (
            "SELECT model, resolution, duration, off_peak, finished_at - processing_at FROM tasks"
            " WHERE state = 'success' AND processing_at IS NOT NULL AND finished_at IS NOT NULL"
        )
        args: tuple[Any, ...] = ()
        if base_url is not None:
            sql += " AND base_url = ?"
            args = (base_url,)
        _, rows = self._query(sql + " ORDER BY row_id DESC LIMIT ?", (*args, int(limit)))
        return rows[::-1]

    def events(self, task_id: str | None = None) -> pd.DataFrame:
        """State changes (all, or one task's) with UTC timestamps."""
        sql = f"SELECT {', '.join(frame.EVENT_COLUMNS)} FROM events"
        args: tuple[str, ...] = ()
        if task_id is not None:
            sql += " WHERE row_id = (SELECT row_id FROM tasks WHERE task_id = ?)"
            args = (task_id,)
        _, rows = self._query(sql + " ORDER BY event_id", args)
        return frame.events_frame(rows)

    def to_frame(
        self,
        experiment: str | None = None,
        state: str | Iterable[str] | None = None,
        model: str | Iterable[str] | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        tag: str | None = None,
        *,
        columns: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """The log as a DataFrame (one row per task), filtered in SQL; ``since``/``until``
        bound ``submitted_at`` (naive datetimes are taken as UTC). ``columns`` reads only
        those (and ``row_id``, the index), e.g. for totals over a big log.

        Without filters it is the cached whole log, re-reading only the rows changed since
        the last call (by any process); each call returns a new copy, free to change."""
        filters = (experiment, state, model, since, until, tag, columns)
        if all(f is None for f in filters):
            return self._frame_cache.frame()
        where: list[str] = []
        args: list[Any] = []
        if experiment is not None:
            where.append("experiment = ?")
            args.append(need_text("experiment", experiment))
        for col, want in (("state", state), ("model", model)):
            values = need_texts(col, want)
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
        what = "*"
        if columns is not None:
            known = set(self._query("SELECT * FROM tasks LIMIT 0")[0])
            wanted = list(dict.fromkeys(["row_id", *columns]))
            unknown = [c for c in wanted if c not in known]
            if unknown:
                why = f"no such column in the task log: {', '.join(map(str, unknown))}"
                raise ValidationError("columns", list(columns), why)
            what = ", ".join(wanted)
        cols, rows = self._query(f"SELECT {what} FROM tasks{clause} ORDER BY row_id", args)
        return frame.tasks_frame(rows, cols)

    @property
    def df(self) -> pd.DataFrame:
        """The whole log as a DataFrame (``to_frame()`` with no filter)."""
        return self.to_frame()


#: The charged figures of succeeded tasks (``charged_credits`` adds the count per group).
_CHARGED = (
    "SELECT model, resolution, duration, COALESCE(off_peak, 0), COALESCE(is_rec, 0), credits"
    " FROM tasks WHERE state = 'success' AND credits IS NOT NULL AND model IS NOT NULL"
    " AND resolution IS NOT NULL AND duration IS NOT NULL"
)
_CHARGED_COUNT = _CHARGED.replace(", credits FROM", ", credits, COUNT(*) FROM", 1)


def like_literal(text: str) -> str:
    """``text`` for a LIKE pattern with ``ESCAPE '\\'``: its ``\\``, ``%`` and ``_`` match
    themselves (ASCII letters still match either case, as LIKE does)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
