"""``TaskLog``: a durable SQLite record of every task, read back as a pandas DataFrame.

The class is a facade over one module per concern: ``store`` (the file, WAL, transactions),
``writes`` (submissions, state changes, events), ``reads`` and ``frame`` (lookups and the
typed DataFrame), ``exports`` (CSV, Parquet). Following unfinished tasks after a restart
(``resume``) lives here, because it hands the log to a poller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exports import Exports
from .store import DEFAULT_PATH, default_log_path
from .writes import Writes

if TYPE_CHECKING:
    from ..poller import Poller

__all__ = ["DEFAULT_PATH", "TaskLog", "default_log_path"]


class TaskLog(Writes, Exports):
    """Every task submitted through vidu-nb, in one SQLite file that outlives the kernel.

    ``TaskLog(path=None)`` opens (or creates) ``$VIDU_LOG_PATH`` or ``./vidu_tasks.sqlite``;
    the API key is never stored. Use as a context manager or ``close()`` it.
    """

    def resume(self, client: Any, **poller_kwargs: Any) -> Poller:
        """Start a background poller following every unfinished task (after a restart), and
        fetching the videos of succeeded tasks that are not cached yet."""
        from ..poller import Poller

        poller = Poller(client, self, **poller_kwargs)
        for task_id in self.pending():
            poller.track(task_id)
        poller.start()
        if poller.cache is not None:
            for task_id in self.missing_files():
                poller.download(task_id)
        return poller
