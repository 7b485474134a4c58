"""``TaskLog``: a durable SQLite record of every task, read back as a pandas DataFrame.

The class is a facade over one module per concern: ``store`` (the file, WAL, transactions),
``writes`` (submissions, state changes, events), ``unsent`` (requests recorded before they are
sent), ``reconcile`` (settling uncertain ones), ``reads`` and ``frame`` (lookups and the typed
DataFrame), ``exports`` (CSV, Parquet). Following unfinished tasks after a restart
(``resume``) lives here, because it hands the log to a poller.
"""

from __future__ import annotations

import logging
import warnings
from typing import TYPE_CHECKING, Any

from .exports import Exports
from .search import Searches
from .store import DEFAULT_PATH, default_log_path
from .unsent import Unsent

if TYPE_CHECKING:
    from ..client import TaskService
    from ..poller import Poller

__all__ = ["DEFAULT_PATH", "TaskLog", "UncertainSubmissionsWarning", "default_log_path"]
log = logging.getLogger("vidu_nb.tasklog")


class UncertainSubmissionsWarning(UserWarning):
    """Some submissions may or may not have created a task: reconcile them (``resume``)."""


class TaskLog(Unsent, Searches, Exports):
    """Every task submitted through vidu-nb, in one SQLite file that outlives the kernel.

    ``TaskLog(path=None)`` opens (or creates) ``default_log_path()`` (``$VIDU_LOG_PATH``, else
    the project's ``vidu_tasks.sqlite``); the API key is never stored. Use as a context manager or ``close()`` it.
    """

    def resume(self, client: TaskService, **poller_kwargs: Any) -> Poller:
        """Start a background poller following every unfinished task (after a restart), and
        fetching the videos of succeeded tasks that are not cached yet.

        Requests a stopped or dead poller left unsent are taken over: ``queued`` ones are sent,
        ``submitting`` ones (the POST may have arrived) become ``uncertain``. The poller looks
        for the task of every uncertain submission on the service (its task list, matched by
        the ``client_ref`` in ``payload``) and follows it when found; a
        ``UncertainSubmissionsWarning`` says how many there are and what happens to them.
        """
        from ..poller import Poller

        poller = Poller(client, self, **poller_kwargs)
        for task_id in self.pending():
            poller.track(task_id)
        poller.recover()
        uncertain = len(self.uncertain())  # before the poller starts finding them
        poller.start()
        if uncertain:
            if poller.finds_uncertain:
                how = (
                    "the poller looks for each on the service (tasks created around its "
                    "submission, matched by the client_ref in their payload) and follows the "
                    "ones it finds; those not found stay in log.uncertain() with what was "
                    "searched"
                )
            else:
                how = (
                    "see log.uncertain(); find each task by its client_ref (in the task's "
                    "payload) and call log.reconcile(client_ref, task_id) or "
                    "log.reconcile_from_callback(body)"
                )
            message = f"{uncertain} uncertain submission(s): {how}"
            log.warning(message)
            warnings.warn(message, UncertainSubmissionsWarning, stacklevel=2)
        if poller.cache is not None:
            for task_id in self.missing_files():
                poller.download(task_id)
        return poller
