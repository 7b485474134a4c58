"""``TaskLog.df`` kept between reads and brought up to date by re-reading only changed rows.

A notebook reads ``log.df`` again and again while a poller changes a few rows; reading and
converting 100,000 rows each time took seconds. The store numbers every change of a row of
``tasks``, whoever writes (``Connection.change_mark``/``changed_rows``; SQLite does it with
triggers, ``sqlitechanges``), so a read costs one lookup when nothing changed, and re-reads
only the rows numbered after the cached frame's mark otherwise (``framepatch`` merges them).

A fresh process starts from a snapshot (``framesnapshot``: the typed frame as an Arrow file in
the log's cache folder, memory-mapped) plus the rows changed since it was written, so the
first ``log.df`` of a kernel does not read the whole log either. Anything the cache cannot
vouch for (a schema change, a deleted row, a snapshot of another log) means one full read.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from . import frame, framesnapshot
from .framepatch import Unpatchable, patched

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from .store import Connection, Store

log = logging.getLogger("vidu_nb.tasklog")


class Plan(NamedTuple):
    """What one read found under the store's lock; converted after the lock is released."""

    mark: int
    schema: int
    columns: list[str]
    rows: list[tuple[Any, ...]]  # all rows (full), or (row id, *row) of changed ones
    full: bool
    snapshot: pd.DataFrame | None = None


class FrameCache:
    """The typed frame of one ``TaskLog`` and the change mark it reflects."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._mutex = threading.Lock()
        self._master: pd.DataFrame | None = None
        self._arrays: dict[str, Any] = {}  # the master's columns (the arrays patches replace)
        self._ids: np.ndarray | None = None  # row ids of the master, ascending
        self._mark = -1
        self._schema = -1
        self._columns: list[str] = []
        #: Rows re-read since the snapshot on disk was written (None: no snapshot of it).
        self._stale: int | None = None
        self._writer: threading.Thread | None = None  # writing the snapshot again

    def clear(self) -> None:
        with self._mutex:
            self.wait()
            self._master = self._ids = self._stale = self._writer = None
            self._arrays = {}
            self._mark = self._schema = -1

    def frame(self) -> pd.DataFrame:
        """The whole log as ``to_frame()`` gives it: a copy the caller may change freely."""
        with self._mutex:
            plan = self._plan(full=False)
            if plan is not None:
                try:
                    self._apply(plan)
                except Unpatchable as exc:
                    log.debug("task log frame: reading every row (%s)", exc)
                    self._apply(self._plan(full=True))
                self._save_snapshot()
            assert self._master is not None
            return self._master.copy()

    # -- reading (one statement when nothing changed, else one read transaction) ------------
    def _plan(self, full: bool) -> Plan | None:
        store = self._store
        if not full and self._master is not None:  # the usual case: one statement
            with store.read() as conn:
                state = conn.change_mark()
            if state == (self._mark, self._schema):
                return None
            if state[1] != self._schema:
                store.watch_changes()  # the schema changed: a tool may have dropped the feed
        with store.snapshot() as conn:  # another process may be writing meanwhile
            mark, schema = conn.change_mark()
            if mark is None:  # the counter's row was deleted by hand: nothing to go by
                full, mark = True, -1
            if not full and self._master is not None and schema == self._schema:
                if mark == self._mark:
                    return None
                return self._changes(conn, mark, schema, self._mark, self._columns)
            columns = conn.table("SELECT * FROM tasks LIMIT 0")[0]
            if not full and self._master is None:
                snap = framesnapshot.load(store.cache_dir, conn.identity(), schema, columns)
                if snap is not None and snap.mark <= mark:
                    plan = self._changes(conn, mark, schema, snap.mark, columns)
                    if not plan.full:
                        return plan._replace(snapshot=snap.frame)
            rows = conn.rows("SELECT * FROM tasks ORDER BY row_id")
            return Plan(mark, schema, columns, rows, full=True)

    def _changes(
        self, conn: Connection, mark: int, schema: int, since: int, columns: list[str]
    ) -> Plan:
        """The rows changed after ``since``; a full read when they are too many to patch."""
        have = len(self._master) if self._master is not None else 0
        most = max(1000, have // 4)
        rows = sorted(conn.changed_rows(since, most + 1), key=_first)
        if len(rows) > most:
            rows = conn.rows("SELECT * FROM tasks ORDER BY row_id")
            return Plan(mark, schema, columns, rows, full=True)
        return Plan(mark, schema, columns, rows, full=False)

    # -- converting (no lock on the store) -----------------------------------------------
    def _apply(self, plan: Plan | None) -> None:
        """Make the plan's frame the cached one (all state set at once, at the end)."""
        if plan is None:
            return
        if plan.full:
            master = frame.tasks_frame(plan.rows, plan.columns)
            arrays, ids = _arrays(master), _row_ids(master)
            stale = None  # no snapshot of it on disk yet
        else:
            if plan.snapshot is not None:
                base = plan.snapshot
                arrays, ids, stale = _arrays(base), _row_ids(base), 0
            elif self._master is not None and self._ids is not None:
                base, arrays, ids, stale = self._master, self._arrays, self._ids, self._stale
            else:
                raise Unpatchable("nothing to patch")
            master, arrays, ids = _patch(base, arrays, ids, plan)
            stale = None if stale is None else stale + len(plan.rows)
        self._master, self._arrays, self._ids, self._stale = master, arrays, ids, stale
        self._mark, self._schema, self._columns = plan.mark, plan.schema, plan.columns

    def _save_snapshot(self) -> None:
        """Write the frame for the next kernel, in a thread (the read that asked returns at
        once), when none of it is on disk or many rows changed since. Big logs only; a failed
        write is not retried before the next changes."""
        master, stale = self._master, self._stale
        if master is None or (stale is not None and stale <= framesnapshot.STALE_ROWS):
            return
        if len(master) < framesnapshot.MIN_ROWS or not frame.arrow_strings():
            return
        if self._writer is not None and self._writer.is_alive():
            return
        store = self._store
        with store.read() as conn:
            identity = conn.identity()
        args = (store.cache_dir, master, identity, self._schema, self._mark)
        self._stale = 0
        # Not a daemon: an exiting kernel finishes the file rather than leave half of it.
        self._writer = threading.Thread(target=framesnapshot.save, args=args)
        self._writer.start()

    def wait(self) -> None:
        """Until the snapshot being written (if any) is on disk."""
        writer = self._writer
        if writer is not None:
            writer.join()


def _patch(
    base: pd.DataFrame, arrays: dict[str, Any], ids: np.ndarray, plan: Plan
) -> tuple[pd.DataFrame, dict[str, Any], np.ndarray]:
    """``base`` with the plan's changed rows: replaced where known, appended when new."""
    import numpy as np
    import pandas as pd

    key = 1 + plan.columns.index("row_id")  # the row's own id: NULL when it is gone
    wanted = np.array([r[0] for r in plan.rows], dtype=np.int64)
    gone = np.array([r[key] is None for r in plan.rows], dtype=bool)
    where = np.searchsorted(ids, wanted)
    known = np.zeros(len(wanted), dtype=bool)
    if len(ids):
        known = (where < len(ids)) & (ids[np.minimum(where, len(ids) - 1)] == wanted)
    if (gone & known).any():
        raise Unpatchable("a row was deleted")
    fresh = ~known & ~gone
    if fresh.any() and len(ids) and wanted[fresh].min() <= ids[-1]:
        raise Unpatchable("a row was inserted before the last one")
    changed = [r[1:] for r, k in zip(plan.rows, known, strict=True) if k]
    added = [r[1:] for r, f in zip(plan.rows, fresh, strict=True) if f]
    if not changed and not added:
        return base, arrays, ids
    more = frame.tasks_frame(added, plan.columns) if added else None
    new = patched(arrays, plan.columns, where[known], changed, more)
    index = base.index if more is None else base.index.append(more.index)
    if added:
        ids = np.concatenate([ids, wanted[fresh]])
    return pd.DataFrame(new, index=index, copy=False), new, ids


def _first(row: tuple[Any, ...]) -> Any:
    return row[0]


def _arrays(df: pd.DataFrame) -> dict[str, Any]:
    return {col: df[col].array for col in df.columns}


def _row_ids(df: pd.DataFrame) -> np.ndarray:
    import numpy as np

    return np.asarray(df["row_id"], dtype=np.int64)
