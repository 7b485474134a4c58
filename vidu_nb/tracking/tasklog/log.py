"""``TaskLog``: a durable SQLite record of every task, read back as a pandas DataFrame.

The class is a facade over one module per concern: ``store`` (the file, WAL, transactions),
``writes`` (submissions, state changes, events), ``unsent`` (requests recorded before they are
sent), ``reconcile`` (settling uncertain ones), ``reads`` and ``frame`` (lookups and the typed
DataFrame), ``exports`` (CSV, Parquet), ``judgments`` (ratings, duel votes, rankings: a part
the log composes and delegates to). Following unfinished tasks after a restart is the poller's
(``Poller.resume(client, log)``): the log is what it reads, and builds nothing above itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .exports import Exports
from .judgments import Judgment, Judgments
from .search import Searches
from .store import DEFAULT_PATH, default_log_path
from .unsent import Unsent

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_PATH", "TaskLog", "UncertainSubmissionsWarning", "default_log_path"]


class UncertainSubmissionsWarning(UserWarning):
    """Some submissions may or may not have created a task: reconcile them
    (``Poller.resume`` warns with it)."""


class TaskLog(Unsent, Searches, Exports):
    """Every task submitted through vidu-nb, in one SQLite file that outlives the kernel.

    ``TaskLog(path=None)`` opens (or creates) ``default_log_path()`` (``$VIDU_LOG_PATH``, else
    the project's ``vidu_tasks.sqlite``); the API key is never stored. Use as a context manager or ``close()`` it.
    """

    # -- judging (``judgments.Judgments``) ---------------------------------------------------
    @property
    def judgments(self) -> Judgments:
        with self._lock:
            part = self.__dict__.get("_judgments")
            if part is None:
                part = self.__dict__["_judgments"] = Judgments(self)
            return part

    def rate(
        self,
        task: Any,
        stars: int | None = None,
        pick: bool | None = None,
        note: str | None = None,
        *,
        clear: bool | str | Iterable[str] = (),
    ) -> Judgment:
        """Set a task's stars (1-5), pick (True) / reject (False) and note; ``None`` leaves a
        field as it is, ``clear=`` (a name, names, or True) unsets (``Judgments.rate``)."""
        return self.judgments.rate(task, stars, pick, note, clear=clear)

    def judgment(self, task: Any) -> Judgment:
        """A task's current rating, pick and note (``Judgments.judgment``)."""
        return self.judgments.judgment(task)

    def vote(
        self, a: Any, b: Any, winner: Any = None, *, note: str | None = None,
        voter: str | None = None,
    ) -> int:  # fmt: skip
        """Record a blind duel of ``a`` (left) and ``b`` (right), won by ``winner`` (``a``,
        ``b``, or ``None`` for a tie); returns the vote id (``Judgments.vote``)."""
        return self.judgments.vote(a, b, winner, note=note, voter=voter)

    def unvote(self, vote_id: int) -> bool:
        """Withdraw a vote (``Judgments.unvote``)."""
        return self.judgments.unvote(vote_id)

    def votes(self) -> pd.DataFrame:
        """Every duel vote as a DataFrame (``Judgments.votes``)."""
        return self.judgments.votes()

    def rankings(
        self, by: str | Iterable[str] | None = None, *, prior: float = 1.0
    ) -> pd.DataFrame:
        """A Bradley-Terry ranking of the groups by ``by`` from the votes
        (``Judgments.rankings``, ``vidu_nb.tracking.rankings``)."""
        return self.judgments.rankings(by, prior=prior)
