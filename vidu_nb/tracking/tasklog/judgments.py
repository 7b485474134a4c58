"""Judging videos in the task log: stars, pick or reject, a note, and the votes of blind duels.

A rating, a pick and a note live on the task's own row (``rating``, ``pick``, ``note``), so
they are columns of ``log.df``, filters in SQL or pandas, and the cached frame sees them change
through the same triggers as any other change of a row, whoever writes (another kernel too).
Each ``rate`` sets only the fields it is given, in one transaction: two kernels rating the same
task keep both changes, and where they set the same field the last write wins.

A duel's vote is a row of ``votes`` (left task, right task, the winner or NULL for a tie, when,
who, a note); votes are only ever added (or withdrawn with ``unvote``), and ``rankings`` fits a
Bradley-Terry model over them (``vidu_nb.tracking.rankings``).

``Judgments`` is a part of ``TaskLog`` that needs only the store's transactions and reads.
Views in this process (two grids of one sweep, a grid and the code beside it) ``watch`` its
ratings, so each shows a judgment made through the log anywhere else in the kernel.
"""

from __future__ import annotations

import getpass
import logging
import numbers
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ...errors import ValidationError
from .rows import dicts

if TYPE_CHECKING:
    import pandas as pd

    from .store import Connection, Store

#: The longest note kept with a rating or a vote (characters): a verdict, not an essay.
NOTE_CHARS = 500
#: What ``clear=`` names (``stars`` is stored as ``rating``).
FIELDS = {"stars": "rating", "pick": "pick", "note": "note"}
VOTE_COLUMNS = (
    "vote_id", "at", "left_row_id", "right_row_id", "winner_row_id", "left_task_id",
    "right_task_id", "winner_task_id", "tie", "voter", "note",
)  # fmt: skip
_TAKES = "a task id or handle in the log, a row id (int), a log row or a Task"
_log = logging.getLogger(__name__)


class Judgment(NamedTuple):
    """A task's judgment as stored: ``rating`` 1-5 or None, ``pick`` True (picked), False
    (rejected) or None, ``note`` or None."""

    row_id: int
    task_id: str | None
    rating: int | None
    pick: bool | None
    note: str | None


class Judgments:
    """Ratings, picks, notes and duel votes of one task log (``TaskLog`` delegates to it)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._watchers: list[weakref.WeakMethod[Callable[[Judgment], None]]] = []

    # -- watching ------------------------------------------------------------------------------
    def watch(self, callback: Callable[[Judgment], None]) -> None:
        """Call ``callback(judgment)`` after every ``rate`` through this log that wrote
        something. ``callback`` is a bound method, held weakly: a view that is gone stops
        being called without an ``unwatch``. Another process's ratings are announced when a
        poller's log watcher reads them from the change feed (``heard``)."""
        if not hasattr(callback, "__self__"):
            raise ValidationError("callback", callback, "must be a bound method (held weakly)")
        self.unwatch(callback)
        self._watchers.append(weakref.WeakMethod(callback))

    def unwatch(self, callback: Callable[[Judgment], None]) -> None:
        """Stop calling ``callback`` (nothing happens if it was not watching)."""
        self._watchers = [w for w in self._watchers if w() not in (None, callback)]

    def heard(self, judged: Judgment) -> None:
        """Tell the watchers of a judgment read from the log's change feed (a poller's log
        watcher: another process rated, or this one did and the feed says it again; views
        that already show it change nothing)."""
        self._announce(judged)

    def _announce(self, judged: Judgment) -> None:
        for ref in list(self._watchers):
            callback = ref()
            if callback is None:
                continue
            try:
                callback(judged)
            except Exception as exc:  # a view that cannot redraw must not undo the rating
                why = f"{type(exc).__name__}: {exc}"  # text: a kept record keeps no view alive
                _log.warning("a view of task %s did not take its judgment: %s", judged.task_id, why)

    # -- ratings -----------------------------------------------------------------------------
    def rate(
        self,
        task: Any,
        stars: int | None = None,
        pick: bool | None = None,
        note: str | None = None,
        *,
        clear: bool | str | Iterable[str] = (),
    ) -> Judgment:
        """Set a task's stars (1-5), pick (True) or reject (False), and note; returns the result.

        ``None`` leaves a field as it is; to unset, name it in ``clear`` (``clear="pick"``,
        ``clear=["stars", "note"]``, ``clear=True`` for all three), or give ``stars=0`` or
        ``note=""``, which a star widget and a text box naturally produce. Every argument is
        checked before anything is written (``ValidationError`` naming it).
        """
        values = _rating_values(stars, pick, note, clear)
        if not values:  # nothing to change: no write transaction
            return self.judgment(task)
        with self._store.write() as conn:
            row_id = self.row_id(task, conn=conn)
            sets = ", ".join(f"{col} = ?" for col in values)
            conn.run(f"UPDATE tasks SET {sets} WHERE row_id = ?", (*values.values(), row_id))
            judged = _judgment(conn, row_id)
        self._announce(judged)  # committed: every view of the task shows it
        return judged

    def judgment(self, task: Any) -> Judgment:
        """A task's current rating, pick and note."""
        with self._store.read() as conn:
            return _judgment(conn, self.row_id(task, conn=conn))

    # -- duels -------------------------------------------------------------------------------
    def vote(
        self,
        a: Any,
        b: Any,
        winner: Any = None,
        *,
        note: str | None = None,
        voter: str | None = None,
    ) -> int:
        """Record a blind duel between task ``a`` (shown left) and ``b`` (right): ``winner``
        is ``a`` or ``b`` (or their id), ``None`` for a tie. ``voter`` defaults to the OS user.
        Returns the vote's id (``unvote`` withdraws it)."""
        note = _note(note)
        if voter is not None and not isinstance(voter, str):
            raise ValidationError("voter", voter, "must be a string (default: the OS user)")
        voter = (voter if voter is not None else _os_user()).strip()[:100] or None
        with self._store.write() as conn:
            left = self.row_id(a, field="a", conn=conn)
            right = self.row_id(b, field="b", conn=conn)
            if left == right:
                raise ValidationError("b", b, "must be another task than a: a duel needs two")
            won = None
            if winner is not None:
                won = self.row_id(winner, field="winner", conn=conn)
                if won not in (left, right):
                    raise ValidationError("winner", winner, "must be a, b or None (a tie)")
            values = {
                "left_row_id": left, "right_row_id": right, "winner_row_id": won,
                "at": time.time(), "voter": voter, "note": note,
            }  # fmt: skip
            return conn.insert("votes", values)

    def unvote(self, vote_id: int) -> bool:
        """Withdraw a vote (an undo); False when there was no such vote."""
        if isinstance(vote_id, bool) or not isinstance(vote_id, numbers.Integral):
            raise ValidationError("vote_id", vote_id, "must be a vote id (int) from vote()")
        with self._store.write() as conn:
            return conn.run("DELETE FROM votes WHERE vote_id = ?", (int(vote_id),)) > 0

    def votes(self) -> pd.DataFrame:
        """Every vote, oldest first: ``vote_id`` (the index too), ``at`` (UTC), the row ids and
        task ids of left, right and winner (missing for a tie), ``tie``, ``voter``, ``note``."""
        import pandas as pd

        from .frame import utc_seconds

        with self._store.read() as conn:
            rows = conn.rows(
                "SELECT v.vote_id, v.at, v.left_row_id, v.right_row_id, v.winner_row_id,"
                " l.task_id, r.task_id, w.task_id, v.winner_row_id IS NULL, v.voter, v.note"
                " FROM votes AS v JOIN tasks AS l ON l.row_id = v.left_row_id"
                " JOIN tasks AS r ON r.row_id = v.right_row_id"
                " LEFT JOIN tasks AS w ON w.row_id = v.winner_row_id ORDER BY v.vote_id"
            )
        df = pd.DataFrame.from_records(rows, columns=list(VOTE_COLUMNS))
        df["at"] = utc_seconds(df["at"])
        for col in ("vote_id", "left_row_id", "right_row_id", "winner_row_id"):
            df[col] = df[col].astype("Int64")
        df["tie"] = df["tie"].astype("boolean")
        for col in ("left_task_id", "right_task_id", "winner_task_id", "voter", "note"):
            df[col] = df[col].astype("string")
        df = df.set_index("vote_id", drop=False)
        df.index.name = None
        return df

    def rankings(
        self, by: str | Iterable[str] | None = None, *, prior: float = 1.0
    ) -> pd.DataFrame:
        """A Bradley-Terry ranking of the groups of tasks by ``by`` (``"prompt"``,
        ``["model", "seed"]``, any column of the log; default: each task on its own) fitted
        to every vote; see ``vidu_nb.tracking.rankings.rank`` for the model, the prior (``prior``
        virtual tied duels against an average group) and the columns."""
        from .. import rankings
        from .frame import tasks_frame

        rankings.check_prior(prior)
        with self._store.read() as conn:
            known = conn.table("SELECT * FROM tasks LIMIT 0")[0]
        keys = _by(by, known)
        votes = self.votes()
        ids = sorted({int(i) for i in (*votes["left_row_id"], *votes["right_row_id"])})
        wanted = list(dict.fromkeys(["row_id", *keys]))
        found: list[tuple[Any, ...]] = []
        for start in range(0, len(ids), 500):  # SQLite's limit on parameters
            chunk = ids[start : start + 500]
            with self._store.read() as conn:
                found += conn.rows(
                    f"SELECT {', '.join(wanted)} FROM tasks WHERE row_id IN"
                    f" ({', '.join('?' for _ in chunk)})",
                    chunk,
                )
        return rankings.rank(votes, tasks_frame(found, wanted), keys, prior=prior)

    # -- finding the row -------------------------------------------------------------------
    def row(self, task: Any, *, field: str = "task") -> dict[str, Any]:
        """The whole row of ``task`` (anything ``row_id`` takes) as Python values."""
        with self._store.read() as conn:
            row_id = find_row(conn, field, task, self._store.path)
            cols, rows = conn.table("SELECT * FROM tasks WHERE row_id = ?", (row_id,))
        return dicts(cols, rows, self._store.path.parent)[0]

    def row_id(self, task: Any, *, field: str = "task", conn: Connection | None = None) -> int:
        """The log's row id of ``task``: a task id or ``Poller.submit`` handle, a row id (an
        int, as ``log.df``'s index), a log row (dict or DataFrame row), a ``Task`` or a view
        of a task. Anything else, or a task not in the log, raises ``ValidationError`` naming
        ``field``."""
        if conn is None:
            with self._store.read() as own:
                return find_row(own, field, task, self._store.path)
        return find_row(conn, field, task, self._store.path)


def find_row(conn: Connection, field: str, task: Any, where: Any = "the task log") -> int:
    """``Judgments.row_id`` on a connection (inside the caller's transaction, if any)."""
    row_id, task_id = _identify(field, task)
    if row_id is not None:
        row = conn.row("SELECT row_id FROM tasks WHERE row_id = ?", (row_id,))
    else:
        row = conn.row("SELECT row_id FROM tasks WHERE task_id = ?", (task_id,))
        if row is None:  # the handle of a submission (its task id may not be known yet)
            row = conn.row(
                "SELECT row_id FROM tasks WHERE client_ref = ? ORDER BY row_id DESC LIMIT 1",
                (task_id,),
            )
    if row is None:
        raise ValidationError(field, task, f"no such task in {where}")
    return int(row[0])


def _identify(field: str, task: Any) -> tuple[int | None, str | None]:
    """``(row id, None)`` or ``(None, task id or handle)`` of what the caller gave."""
    if hasattr(task, "row") and isinstance(task.row, Mapping):  # a UI view of a task
        task = task.row
    if isinstance(task, bool) or task is None:
        raise ValidationError(field, task, f"must be {_TAKES}")
    if isinstance(task, numbers.Integral):
        return int(task), None
    if isinstance(task, str):
        if not task.strip():
            raise ValidationError(field, task, f"must be {_TAKES}")
        return None, task.strip()
    if isinstance(task, Mapping) or (hasattr(task, "to_dict") and hasattr(task, "index")):
        row_id, task_id = task.get("row_id"), task.get("task_id")
        if _present(row_id):
            return int(row_id), None
        if _present(task_id) and str(task_id):
            return None, str(task_id)
        raise ValidationError(field, task, "a row without row_id or task_id")
    if hasattr(task, "creations") and isinstance(getattr(task, "id", None), str):  # a Task
        return None, task.id
    raise ValidationError(field, task, f"must be {_TAKES}")


def _present(value: Any) -> bool:
    import pandas as pd

    return value is not None and not bool(pd.isna(value))


def _rating_values(
    stars: Any, pick: Any, note: Any, clear: bool | str | Iterable[str]
) -> dict[str, Any]:
    """The columns ``rate`` sets (``None`` unsets), every argument checked first."""
    values: dict[str, Any] = {}
    if stars is not None:
        if isinstance(stars, bool) or not isinstance(stars, numbers.Integral):
            raise ValidationError("stars", stars, "must be a whole number of stars, 1 to 5")
        if not 0 <= int(stars) <= 5:
            raise ValidationError("stars", stars, "must be 1 to 5 stars (0 unsets the rating)")
        values["rating"] = int(stars) or None
    if pick is not None:
        if type(pick).__name__ not in ("bool", "bool_"):  # numpy's bool too
            raise ValidationError("pick", pick, "must be True (pick) or False (reject)")
        values["pick"] = int(bool(pick))
    if note is not None:
        values["note"] = _note(note)
    for name in _cleared(clear):
        column = FIELDS[name]
        if column in values and values[column] is not None:
            raise ValidationError("clear", clear, f"cannot both set and clear {name}")
        values[column] = None
    return values


def _cleared(clear: bool | str | Iterable[str]) -> list[str]:
    if clear is True:
        return list(FIELDS)
    if clear is False or clear is None:
        return []
    names = [clear] if isinstance(clear, str) else clear
    if not isinstance(names, Iterable):
        raise ValidationError("clear", clear, f"must be True or names among {', '.join(FIELDS)}")
    out = []
    for name in names:
        if name not in FIELDS:
            raise ValidationError("clear", clear, f"names fields among {', '.join(FIELDS)}")
        out.append(str(name))
    return out


def _note(note: Any) -> str | None:
    """A note as stored: stripped, at most ``NOTE_CHARS``; empty is no note."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise ValidationError("note", note, "must be a string")
    text = note.strip()
    if len(text) > NOTE_CHARS:
        raise ValidationError("note", f"{len(text)} characters", f"at most {NOTE_CHARS}")
    return text or None


def _judgment(conn: Connection, row_id: int) -> Judgment:
    found = conn.row("SELECT task_id, rating, pick, note FROM tasks WHERE row_id = ?", (row_id,))
    assert found is not None  # ``row_id`` was found in this transaction
    task_id, rating, pick, note = found
    return Judgment(row_id, task_id, rating, None if pick is None else bool(pick), note)


def _by(by: str | Iterable[str] | None, known: list[str]) -> list[str]:
    """The grouping columns of ``rankings`` (each task on its own: row id and task id)."""
    if by is None:
        return ["row_id", "task_id"]
    keys = [by] if isinstance(by, str) else by
    if not isinstance(keys, Iterable):
        raise ValidationError("by", by, "must be a column name or a list of them")
    keys = list(keys)
    unknown = [k for k in keys if k not in known]
    if not keys or unknown:
        why = f"no such column in the task log: {', '.join(map(str, unknown))}"
        raise ValidationError("by", by, why if unknown else "names no column")
    return keys


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in this environment (a container): anonymous
        return ""
