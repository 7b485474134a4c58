"""Reading the task log: single tasks as dicts, what is left to follow, and the sums others
learn from (the ledger's charged credits, the client's processing times).

Reads share the process's connection under the store's lock, so the notebook can read while
the poller thread writes; other processes' commits are visible at once. The log as a
DataFrame is ``frames``'.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ... import states
from . import frame
from .rows import dicts

if TYPE_CHECKING:
    import pandas as pd

    from .store import Connection, Store


class Reads:
    """The questions a task log answers (``TaskLog`` delegates them here)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def dicts(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        """Rows of ``tasks`` as dicts of Python values (see ``rows.pythonic``)."""
        with self._store.read() as conn:
            cols, rows = conn.table(sql, args)
        return dicts(cols, rows, self._store.path.parent)

    def _rows(self, sql: str, args: Any = ()) -> list[tuple[Any, ...]]:
        with self._store.read() as conn:
            return conn.rows(sql, args)

    def changed_since(
        self, mark: tuple[bool, float] | None, most: int = 5000
    ) -> tuple[tuple[bool, float], list[dict[str, Any]]]:
        """The rows any process changed after ``mark`` (a mark this method returned; None:
        from now on, no rows yet) and the new mark: from the store's change feed (the one the
        cached frame follows), or, for a store without one, the rows whose ``updated_at`` is
        at most a few seconds before the mark (the caller compares them with what it saw)."""
        with self._store.snapshot() as conn:
            seq = conn.change_mark()[0]
            if seq is not None and (mark is None or mark[0]):
                if mark is None or seq == mark[1]:
                    return (True, float(seq)), []
                changed = conn.changed_rows(int(mark[1]), most)
                cols = ["change_row_id", *conn.table("SELECT * FROM tasks LIMIT 0")[0]]
                found = [r[1:] for r in changed if r[1] is not None]  # deleted rows: skipped
                return (True, float(seq)), dicts(cols[1:], found, self._store.path.parent)
            now = time.time()
            if mark is None:
                return (False, now), []
            cols, rows = conn.table(
                "SELECT * FROM tasks WHERE updated_at >= ? ORDER BY row_id", (mark[1] - 5.0,)
            )
        return (False, now), dicts(cols, rows, self._store.path.parent)

    def count(self) -> int:
        """How many tasks the log holds (``len(log)``)."""
        with self._store.read() as conn:
            found = conn.row("SELECT COUNT(*) FROM tasks")
        return int(found[0]) if found else 0

    def get(self, task_id: str) -> dict[str, Any] | None:
        """One task as a dict of Python values (times as aware datetimes), or ``None``."""
        found = self.dicts("SELECT * FROM tasks WHERE task_id = ?", (task_id,))
        return found[0] if found else None

    def get_by_ref(self, client_ref: str) -> dict[str, Any] | None:
        found = self.dicts(
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
        rows = self._rows(
            "SELECT task_id FROM tasks WHERE task_id IS NOT NULL AND task_id != ''"
            f" AND state IN ({marks}) ORDER BY row_id",
            keep,
        )
        return [r[0] for r in rows]

    def states_present(self) -> list[str]:
        """Every distinct state in the log, raw as stored (an unknown one too), sorted; read
        by hopping along the state index, a lookup per distinct state."""
        rows = self._rows(
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
        rows = self._rows(
            "SELECT task_id, seed FROM tasks WHERE state = 'success' AND seed IS NOT NULL"
            " ORDER BY row_id DESC LIMIT ?",
            (int(limit),),
        )
        return [(str(tid), int(seed)) for tid, seed in rows]

    def missing_files(self) -> list[str]:
        """Ids of succeeded tasks whose video is not cached yet (``resume`` fetches them)."""
        rows = self._rows(
            "SELECT task_id FROM tasks WHERE state = 'success' AND task_id IS NOT NULL"
            " AND video_path IS NULL ORDER BY row_id"
        )
        return [r[0] for r in rows]

    def uncertain(self) -> list[dict[str, Any]]:
        """Submissions whose outcome is unknown, to reconcile by their ``client_ref``."""
        return self.dicts("SELECT * FROM tasks WHERE state = 'uncertain'")

    def charged_credits(self) -> list[tuple[Any, ...]]:
        """``(model, resolution, duration, off_peak, is_rec, credits, count)`` over successful
        tasks, grouped: the ledger learns its estimates from this."""
        return self._rows(_CHARGED_COUNT + " GROUP BY 1, 2, 3, 4, 5, 6")

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
        with self._store.snapshot() as conn:  # one snapshot: another process may be writing
            new_mark, added = self._charged_since(conn, mark, most)
            if added is None:
                return new_mark, True, conn.rows(_CHARGED_COUNT + " GROUP BY 1, 2, 3, 4, 5, 6")
            return new_mark, False, added

    def _charged_since(
        self, conn: Connection, mark: tuple[int, int] | None, most: int
    ) -> tuple[tuple[int, int], list[tuple[Any, ...]] | None]:
        """The new mark, and the rows to add (``None``: recount them all)."""
        (last_event,) = conn.row("SELECT COALESCE(MAX(event_id), 0) FROM events") or (0,)
        (last_row,) = conn.row("SELECT COALESCE(MAX(row_id), 0) FROM tasks") or (0,)
        new_mark = (int(last_event), int(last_row))
        if mark is None or new_mark[0] < mark[0] or new_mark[1] < mark[1]:
            return new_mark, None
        changed = conn.rows(
            "SELECT row_id FROM events WHERE event_id > ? AND event_id <= ?"
            " UNION SELECT row_id FROM tasks WHERE row_id > ? AND row_id <= ? LIMIT ?",
            (mark[0], new_mark[0], mark[1], new_mark[1], most + 1),
        )
        if len(changed) > most:
            return new_mark, None
        added: list[tuple[Any, ...]] = []
        for (row_id,) in changed:
            before = conn.row(
                "SELECT state FROM events WHERE row_id = ? AND event_id <= ?"
                " ORDER BY event_id DESC LIMIT 1",
                (row_id, mark[0]),
            )
            if before is None and row_id <= mark[1]:
                return new_mark, None  # an older row without events: was it counted? recount
            was = before is not None and before[0] == "success"
            now = conn.row(_CHARGED + " AND row_id = ?", (row_id,))
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
        poller saw them). Only successes, in any spelling (``states.is_success``): a failed or
        cancelled task stopped early, its time says nothing of how long a generation takes.
        Only rows of ``base_url`` (as stored: ``rows.public_url``) when given: another service,
        or a simulator at another speed, has other durations. Read through the state index,
        never the whole log."""
        done = [s for s in self.states_present() if states.is_success(s)]
        if not done:
            return []
        sql = (
            "SELECT model, resolution, duration, off_peak, finished_at - processing_at FROM tasks"
            f" WHERE state IN ({', '.join('?' for _ in done)})"
            " AND processing_at IS NOT NULL AND finished_at IS NOT NULL"
        )
        args: tuple[Any, ...] = tuple(done)
        if base_url is not None:
            sql += " AND base_url = ?"
            args = (*args, base_url)
        return self._rows(sql + " ORDER BY row_id DESC LIMIT ?", (*args, int(limit)))[::-1]

    def events(self, task_id: str | None = None) -> pd.DataFrame:
        """State changes (all, or one task's) with UTC timestamps."""
        sql = f"SELECT {', '.join(frame.EVENT_COLUMNS)} FROM events"
        args: tuple[str, ...] = ()
        if task_id is not None:
            sql += " WHERE row_id = (SELECT row_id FROM tasks WHERE task_id = ?)"
            args = (task_id,)
        return frame.events_frame(self._rows(sql + " ORDER BY event_id", args))


#: The charged figures of succeeded tasks (``charged_credits`` adds the count per group).
_CHARGED = (
    "SELECT model, resolution, duration, COALESCE(off_peak, 0), COALESCE(is_rec, 0), credits"
    " FROM tasks WHERE state = 'success' AND credits IS NOT NULL AND model IS NOT NULL"
    " AND resolution IS NOT NULL AND duration IS NOT NULL"
)
_CHARGED_COUNT = _CHARGED.replace(", credits FROM", ", credits, COUNT(*) FROM", 1)
