"""The foreground half of sending: what the notebook's calls do to the submission queue.

``submit`` and ``submit_many`` run on the kernel's thread and never touch the network: the
requests are checked, recorded in the log (``queued``, one transaction for a batch) and put on
the queue the scheduler sends from (``submissions``, the worker half). A queued request can be
cancelled before it is sent; sending can be held (the balance ran out) and resumed. Everything
here is guarded by the poller's lock, ``cond``, which also wakes the scheduler.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ...client.core import new_client_ref
from ...request.spec import Img2VideoRequest
from .arguments import check_batch, check_items, check_labels, check_request
from .events import PollerEvent, Subscribers
from .handle import Submission
from .pushed import Pushed
from .submissions import Queued, Submissions

if TYPE_CHECKING:
    from ..tasklog import TaskLog


class Intake:
    """Queues, cancels and holds requests for one poller (its ``submit*`` methods)."""

    def __init__(
        self,
        client: Any,
        tasklog: TaskLog,
        cond: threading.Condition,
        queue: Submissions,
        pushed: Pushed,
        subscribers: Subscribers,
        *,
        owner: Callable[[], str],
        lease: float,
    ) -> None:
        self.client = client
        self.log = tasklog
        self.lease = lease
        self._cond = cond
        self._queue = queue
        self._pushed = pushed
        self._subscribers = subscribers
        self._owner = owner  # this poller's owner token (``holdings``)

    def submit(
        self,
        request: Img2VideoRequest,
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        parent: Any = None,
    ) -> Submission:
        """Queue a request; returns its ``Submission`` handle (see ``submit_many``)."""
        check_request(request)
        return self.submit_many(
            [request], experiment=experiment, tags=tags, notes=notes, parent=parent
        )[0]

    def submit_many(
        self,
        requests: Iterable[Img2VideoRequest],
        *,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        parent: Any = None,
    ) -> list[Submission]:
        """Queue requests in order; returns their ``Submission`` handles (each the
        ``client_ref`` in the request's payload, as text, with its log row).

        They are recorded in the log at once (state ``queued``) in ONE transaction, so a batch
        costs one sync to disk, and either all survive a kernel restart (``Poller.resume``
        sends them then) or, on a bad request, none is queued. ``task_id(handle)`` gives the
        task id once the service has answered. ``parent`` (a task id, row id or row of the
        log) is the task these re-run (``vidu_nb.promote``): their ``parent_row_id``."""
        check_batch(requests)
        tags = check_labels(experiment, tags, notes)
        requests = list(requests)
        check_items(requests)
        parent_row_id = None
        if parent is not None:
            parent_row_id = self.log.judgments.row_id(parent, field="parent")
        if not requests:
            return []
        items = [Queued(new_client_ref(), r, experiment, tags, notes) for r in requests]
        self._pushed.address(items)  # callback_url on each request, when callbacks are in use
        row_ids = self.log.record_queued_many(
            [(item.request, item.handle) for item in items], owner=self._owner(),
            base_url=getattr(self.client, "base_url", None), parent_row_id=parent_row_id,
            lease=self.lease, **items[0].labels,
        )  # fmt: skip
        with self._cond:
            for item in items:
                self._queue.add(item)
            self._cond.notify_all()
        return [
            Submission(item.handle, row, self.log) for item, row in zip(items, row_ids, strict=True)
        ]

    def cancel_queued(self, handle: str) -> bool:
        """Drop a submission that has not been sent yet (its row becomes ``cancelled``); True
        when it was still queued."""
        with self._cond:
            if not self._queue.cancel(handle):
                return False
            self._cond.notify_all()
        self.log.cancel_queued(handle, self._owner())
        self._subscribers.emit(PollerEvent(handle, None, "queued", "cancelled"))
        return True

    def hold(self, until: float, reason: str | None) -> None:
        """Hold the submission queue until ``until`` (monotonic), saying why; ``reason=None``
        ends a hold."""
        with self._cond:
            if reason is None:
                self._queue.resume()
            else:
                self._queue.held_until, self._queue.paused_reason = until, reason
            self._cond.notify_all()

    def resume_sending(self) -> None:
        """Send the queued requests again now (say, after buying credits), not at the end of
        the pause a ``CreditInsufficient`` started."""
        self.hold(0.0, None)
