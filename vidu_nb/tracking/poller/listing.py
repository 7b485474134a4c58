"""Batched status reads: one request to the task list answers "ended yet?" for many tasks.

Most checks of a processing task only learn "not yet", one GET each. The task list
(``GET /ent/v2/tasks``) filtered by ``task_ids`` (the tasks due for a check, up to 100) and
``states`` (the ended ones) answers that for all of them in one request: the tasks it lists
have ended, and one GET each then reads what the list does not show (state, credits,
``err_code``, the files): the confirming read. The others are still running and are
rescheduled as after a GET that said so. The list's rows carry no state, so only tasks known to
be processing are read this way; one still waiting needs its GET to learn when it starts
(its forecast counts from then). ``DueChecks.pop_batch`` picks the batch: the task due first,
and the processing tasks due within ``PollSchedule.batch_ahead`` of it (checked a little early,
so their ends are also seen a little sooner).

What it must not hide:

* The window: the list shows the last 7 days unless told otherwise, so ``created_at.from`` is
  the batch's earliest creation less ``WINDOW_MARGIN`` (clocks differ; a wider window costs
  nothing, the ids filter decides).
* Endings the filter cannot name: the documented states are ``success`` and ``failed`` (a
  cancel ends a task ``failed``, ``UserCancelled``); a cancelled spelling is not documented as
  a filter value and a service may refuse it, so it is not asked for. A task passed over by
  ``CONFIRM_EVERY`` listings in a row gets a GET at its next check instead, so an ending the
  list does not show is still seen, late but seen.
* A service without the listing: a client without ``list_tasks``, a listing answered 400 or
  404, or ``MAX_FAILURES`` failed listings in a row turn batching off for this poller (every
  check a GET again, as before); the batch is checked again at once with GETs. A 429 pauses
  every request like any 429 and does not count as a failure.

This module is the request and whether to make it; the job that runs a batch through it and
reschedules what it says is ``Checks.check_many``, beside the single GET it stands in for.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from ... import states
from ...client.schedule import PollSchedule
from .due import Tracked

log = logging.getLogger("vidu_nb.poller")

#: The most ids one listing asks about (the list's largest page).
LIST_MAX = 100
#: Seconds taken off the earliest creation time of a batch for ``created_at.from``.
WINDOW_MARGIN = 86400.0
#: Listings in a row that may say "not ended" before a task's next check is a GET.
CONFIRM_EVERY = 10
#: Failed listings in a row (429 aside) after which checks go back to GETs for good.
MAX_FAILURES = 3
#: The ended states asked for: the documented ones.
ENDED = (states.SUCCESS, states.FAILED)


class Listing:
    """Whether this poller reads its due tasks in batches, and the listing request itself."""

    def __init__(self, client: Any) -> None:
        self._list = getattr(client, "list_tasks", None)
        #: Why batching is off (None: on).
        self.off: str | None = None if callable(self._list) else "the client cannot list tasks"
        self._failures = 0

    @property
    def enabled(self) -> bool:
        return self.off is None

    @staticmethod
    def takes(tr: Tracked, now: float, schedule: PollSchedule) -> bool:
        """Whether ``tr`` may be read by a listing at ``now``: known to be processing, its
        submission time known (the window), its checks not failing, not due for its confirming
        GET or its every-``CONFIRM_EVERY`` GET, and, when it is not due yet, within its budget
        of checks at ``now``."""
        return (
            tr.primed
            and states.norm(tr.state) == states.PROCESSING
            and tr.created is not None
            and not tr.failures
            and tr.ended_at is None
            and tr.listed < CONFIRM_EVERY
            and (tr.due <= now or not schedule.budget_wait(now - tr.started, tr.watch.checks))
        )

    def ended(self, batch: Sequence[Tracked]) -> set[str]:
        """The ids of ``batch`` the service lists as ended (one request: ``batch`` holds at
        most ``LIST_MAX`` tasks, so they fit one page). Raises what the client raises."""
        ids = [tr.task_id for tr in batch]
        earliest = min(tr.created for tr in batch if tr.created is not None)
        since = datetime.fromtimestamp(earliest - WINDOW_MARGIN, timezone.utc)
        assert self._list is not None
        listed = self._list(since=since, task_ids=ids, states=ENDED, page_size=len(ids))
        # A full page may carry a next-page token; the ids are all there, so stop reading.
        found = {str(getattr(task, "id", "")) for task in itertools.islice(listed, len(ids))}
        self._failures = 0
        return found & set(ids)

    def failed(self, exc: BaseException, *, refused: bool) -> None:
        """A listing failed; ``refused``: the service does not take it (400/404)."""
        self._failures += 1
        if refused or self._failures >= MAX_FAILURES:
            why = "refused" if refused else f"failed {self._failures} times in a row"
            self.off = f"the task list {why} ({type(exc).__name__}: {exc})"
            log.warning("poller: status checks by GET only from now on: %s", self.off)
