"""``TaskLog``: a durable SQLite record of every task, read back as a pandas DataFrame.

The class is a facade over one module per concern: ``store`` (the file, WAL, transactions),
``writes`` (submissions, state changes, events), ``unsent`` (requests recorded before they are
sent), ``reconcile`` (settling uncertain ones), ``reads`` and ``frame`` (lookups and the typed
DataFrame), ``exports`` (CSV, Parquet). Following unfinished tasks after a restart is the poller's
(``Poller.resume(client, log)``): the log is what it reads, and builds nothing above itself.
"""

from __future__ import annotations

from .exports import Exports
from .search import Searches
from .store import DEFAULT_PATH, default_log_path
from .unsent import Unsent

__all__ = ["DEFAULT_PATH", "TaskLog", "UncertainSubmissionsWarning", "default_log_path"]


class UncertainSubmissionsWarning(UserWarning):
    """Some submissions may or may not have created a task: reconcile them
    (``Poller.resume`` warns with it)."""


class TaskLog(Unsent, Searches, Exports):
    """Every task submitted through vidu-nb, in one SQLite file that outlives the kernel.

    ``TaskLog(path=None)`` opens (or creates) ``default_log_path()`` (``$VIDU_LOG_PATH``, else
    the project's ``vidu_tasks.sqlite``); the API key is never stored. Use as a context manager or ``close()`` it.
    """
