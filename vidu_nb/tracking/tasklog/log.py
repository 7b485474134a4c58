"""``TaskLog``: a durable record of every task, read back as a pandas DataFrame.

The class is a facade: it builds one part per job over one ``store.Store`` and hands each public
method to the part that does it. ``Writes`` (submissions, state changes, events), ``Unsent``
(requests recorded before they are sent), ``Reconcile`` and ``Searches`` (settling uncertain
submissions; ``sync``), ``Reads`` (lookups and the sums others learn from), ``Frames`` (the
typed DataFrame, kept between reads), ``Exports`` (CSV, Parquet), ``Judgments`` (ratings,
duel votes, rankings) and ``Measured`` (measures of the cached videos). Parts hold the store and the parts they need, never each other's state,
and run SQL only through the store, so another database is another store (``sqlite.py``, or
``postgres.py`` for a URL: ``store_for``). Following unfinished tasks after a restart is the poller's (``Poller.resume(client,
log)``): the log is what it reads, and builds nothing above itself.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ...errors import TaskLogError, ValidationError
from .exports import Exports
from .files import Files
from .frames import Frames
from .judgments import Judgments
from .leases import Leases
from .measured import Measured
from .owners import ServerLocks
from .reads import Reads
from .reconcile import Reconcile
from .search import Searches
from .sqlite import SQLiteStore
from .store import DEFAULT_PATH, Store, default_log_path, provides, shown_target
from .unsent import Unsent
from .writes import Writes

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_PATH",
    "TaskLog",
    "UncertainSubmissionsWarning",
    "default_log_path",
    "is_log_url",
    "shown_target",
    "store_for",
]

#: A team's log: the URL of its PostgreSQL database, used when ``TaskLog()`` gets no path.
LOG_URL_ENV = "VIDU_LOG_URL"
_P = ParamSpec("_P")
_R = TypeVar("_R")


def is_log_url(target: object) -> bool:
    """Whether ``target`` names a team's log on a server (``postgresql://...``)."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def store_for(target: str | os.PathLike[str] | None, env: Mapping[str, str] | None = None) -> Store:
    """The store a ``TaskLog(target)`` opens: a PostgreSQL URL (``postgresql://``, given or
    ``$VIDU_LOG_URL`` when no target is given) or a SQLite file."""
    env = os.environ if env is None else env
    if target is None and env.get(LOG_URL_ENV):
        target = env[LOG_URL_ENV]
    if isinstance(target, str) and is_log_url(target):
        try:
            from .postgres import PostgresStore
        except ImportError as exc:
            raise TaskLogError(
                f"a PostgreSQL task log needs its driver ({exc.name} is not installed): "
                "pip install 'vidu-nb[postgres]'"
            ) from None
        return PostgresStore(target, env=env)
    return SQLiteStore(target)


class UncertainSubmissionsWarning(UserWarning):
    """Some submissions may or may not have created a task: reconcile them
    (``Poller.resume`` warns with it)."""


def _to(
    part: str, method: Callable[Concatenate[Any, _P], _R]
) -> Callable[Concatenate[Any, _P], _R]:
    """A ``TaskLog`` method that is ``method`` of the part held in attribute ``part`` (same
    name, parameters, types and docstring)."""

    @functools.wraps(method)
    def delegate(log: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(getattr(log, part), *args, **kwargs)

    return delegate


class TaskLog:
    """Every task submitted through vidu-nb, in one SQLite file that outlives the kernel, or in
    a team's PostgreSQL database.

    ``TaskLog(path=None)`` opens (or creates) ``default_log_path()`` (``$VIDU_LOG_PATH``, else
    the project's ``vidu_tasks.sqlite``); ``TaskLog("postgresql://user@host/db")`` (or
    ``$VIDU_LOG_URL`` when no path is given) a team's log on a server (``postgres.py``; the
    ``postgres`` extra installs its driver). The API key is never stored, the URL's password
    never shown. Use as a context manager or ``close()`` it. ``store=`` gives another storage
    (a ``store.Store``).
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, store: Store | None = None
    ) -> None:
        if store is not None and path is not None:
            raise ValidationError("path", path, "give a path or a store, not both")
        if store is not None and not provides(store, Store):
            raise ValidationError("store", store, "must be a task log store (store.Store)")
        self._store: Store = store if store is not None else store_for(path)
        self._store.open()
        self.path: Path = self._store.path
        files = Files(self._store)
        self._reads = Reads(self._store)
        self._frames = Frames(self._store)
        self._writes = Writes(self._store, files)
        self._leases = Leases(self._store, self._store.cache_dir / "owners")
        self._unsent = Unsent(self._store, self._reads, files, self._leases)
        self._reconcile = Reconcile(self._store, self._reads, self._writes)
        self._searches = Searches(self._store, self._reads, self._writes, self._reconcile)
        self._exports = Exports(self._frames)
        self._judgments = Judgments(self._store)
        self._measured = Measured(self._store, self._reads)

    def __repr__(self) -> str:
        if not isinstance(self._store, SQLiteStore):
            return f"{type(self).__name__}(store={self._store!r})"
        return f"{type(self).__name__}({str(self.path)!r})"

    def __enter__(self) -> TaskLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the cached frame and close the store (idempotent)."""
        self._frames.close()
        self._store.close()

    def __len__(self) -> int:
        return self._reads.count()

    # -- the storage ----------------------------------------------------------------------
    @property
    def cache_dir(self) -> Path:
        """The folder for videos, covers and thumbnails: ``<log stem>_cache`` next to the log."""
        return self._store.cache_dir

    @property
    def version(self) -> tuple[int, int]:
        """Changes whenever this or another process commits; cheap, for caches (the ledger)."""
        return self._store.version

    def integrity_check(self) -> str:
        """``"ok"``, or what the storage finds wrong with itself."""
        return self._store.integrity_check()

    # -- recording what the service says (``writes.Writes``) -------------------------------
    record_submission = _to("_writes", Writes.record_submission)
    record_uncertain = _to("_writes", Writes.record_uncertain)
    update = _to("_writes", Writes.update)
    note_error = _to("_writes", Writes.note_error)
    set_state = _to("_writes", Writes.set_state)
    set_files = _to("_writes", Writes.set_files)
    tag = _to("_writes", Writes.tag)

    # -- requests not sent yet (``unsent.Unsent``) ------------------------------------------
    @property
    def owners_dir(self) -> Path:
        """Where live pollers hold their lock files (``owners``)."""
        return self._unsent.owners_dir

    @property
    def owner_locks(self) -> ServerLocks | None:
        """A team's log on a server: the owner locks it keeps there, seen from every machine
        (``owners.Owner(log.owners_dir, log.owner_locks)``); None for a file."""
        return self._unsent.owner_locks

    record_queued = _to("_unsent", Unsent.record_queued)
    record_queued_many = _to("_unsent", Unsent.record_queued_many)
    start_sending = _to("_unsent", Unsent.start_sending)
    back_to_queue = _to("_unsent", Unsent.back_to_queue)
    cancel_queued = _to("_unsent", Unsent.cancel_queued)
    unsent = _to("_unsent", Unsent.unsent)
    take_over = _to("_unsent", Unsent.take_over)
    rebuild_request = _to("_unsent", Unsent.rebuild_request)

    # -- which poller holds each unfinished row (``leases.Leases``) ------------------------
    renew_leases = _to("_leases", Leases.renew_leases)
    release_leases = _to("_leases", Leases.release_leases)
    free_rows = _to("_leases", Leases.free_rows)
    claim = _to("_leases", Leases.claim)
    holders = _to("_leases", Leases.holders)
    in_flight = _to("_leases", Leases.in_flight)

    # -- uncertain submissions and the service's task list (``reconcile``, ``search``) -----
    reconcile = _to("_reconcile", Reconcile.reconcile)
    reconcile_from_callback = _to("_reconcile", Reconcile.reconcile_from_callback)
    find_uncertain = _to("_searches", Searches.find_uncertain)
    searchable = _to("_searches", Searches.searchable)
    sync = _to("_searches", Searches.sync)

    # -- lookups (``reads.Reads``) ----------------------------------------------------------
    get = _to("_reads", Reads.get)
    changed_since = _to("_reads", Reads.changed_since)
    get_by_ref = _to("_reads", Reads.get_by_ref)
    pending = _to("_reads", Reads.pending)
    states_present = _to("_reads", Reads.states_present)
    recent_seeds = _to("_reads", Reads.recent_seeds)
    missing_files = _to("_reads", Reads.missing_files)
    uncertain = _to("_reads", Reads.uncertain)
    events = _to("_reads", Reads.events)
    charged_credits = _to("_reads", Reads.charged_credits)
    charged_since = _to("_reads", Reads.charged_since)
    timing_history = _to("_reads", Reads.timing_history)

    # -- DataFrames and files (``frames.Frames``, ``exports.Exports``) ---------------------
    @property
    def df(self) -> pd.DataFrame:
        """The whole log as a DataFrame (``to_frame()`` with no filter), kept between reads."""
        return self._frames.df

    to_frame = _to("_frames", Frames.to_frame)
    to_csv = _to("_exports", Exports.to_csv)
    to_parquet = _to("_exports", Exports.to_parquet)

    # -- judging (``judgments.Judgments``) ------------------------------------------------
    @property
    def judgments(self) -> Judgments:
        """The ratings, picks, notes and duel votes of this log (and finding a task's row)."""
        return self._judgments

    rate = _to("_judgments", Judgments.rate)
    judgment = _to("_judgments", Judgments.judgment)
    vote = _to("_judgments", Judgments.vote)
    unvote = _to("_judgments", Judgments.unvote)
    votes = _to("_judgments", Judgments.votes)
    rankings = _to("_judgments", Judgments.rankings)

    # -- measures of the cached videos (``measured.Measured``) ------------------------------
    measure = _to("_measured", Measured.measure)
    measures = _to("_measured", Measured.measures)
    set_measures = _to("_measured", Measured.set_measures)
    unmeasured = _to("_measured", Measured.unmeasured)
