"""What one poller holds in the log, and how rows change hands between pollers.

Every unfinished row is held by one poller at a time, through its owner token and a lease
(``tasklog.leases``); the token's lock (``tasklog.owners``) proves the poller alive. This is
the poller's side of that: taking over rows nobody holds (``recover``, when resuming and then
on each of the team thread's turns while adopting; ``track``, a task asked for by id), letting
go of what another poller took over while this one stalled past its lease (``renewed``), and
giving every lease back at once when it stops (``release``), so a task is followed, a request
sent and an uncertain submission searched for by one poller only.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ...errors import ValidationError
from ...states import UNCERTAIN, UNSENT_STATES
from ..tasklog.leases import Held
from ..tasklog.owners import Owner
from .checks import Checks
from .recovery import Recovery
from .submissions import Queued, Submissions

if TYPE_CHECKING:
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")


class Holdings:
    """This poller's owner token and the rows it takes over or loses; the queue, the checks
    and the searches it feeds are guarded by ``cond`` (the poller's lock)."""

    def __init__(
        self,
        tasklog: TaskLog,
        cond: threading.Condition,
        queue: Submissions,
        checks: Checks,
        recovery: Recovery,
        *,
        lease: float,
    ) -> None:
        self.log = tasklog
        self.lease = lease
        self._cond = cond
        self._queue = queue
        self._checks = checks
        self._recovery = recovery
        # Proves to other kernels (and, on a server log, other machines) that we are alive.
        self._owner = Owner(tasklog.owners_dir, tasklog.owner_locks)
        self._owner_lock = threading.Lock()
        self._searching: set[str] = set()  # uncertain rows this poller began searching for

    def hold(self) -> str:
        """This poller's owner token, its lock taken (again after a stop) when needed."""
        with self._owner_lock:
            return self._owner.hold()

    def release(self) -> None:
        """Give every lease back (the poller stopped): from now on other pollers (here or in
        another kernel, on any machine) may take over our rows at once, not when the leases
        run out."""
        with self._owner_lock:
            try:
                self.log.release_leases(self._owner.token)
            except Exception:  # a closed log: the leases run out by themselves
                log.debug("poller: cannot release the leases", exc_info=True)
            self._owner.release()

    def recover(self) -> int:
        """Take over what pollers that are gone left in the log (``Poller.resume`` calls
        this; so does the team thread while adopting): rows nobody holds any more (their
        lease ran out, or their poller is known dead on this machine). ``queued`` rows are
        sent again; ``submitting`` rows, whose POST may have arrived, become ``uncertain``
        and are not resent: they, and uncertain rows whose search is not over, are looked for
        on the service (``find_uncertain``); unfinished tasks are followed. Returns how many
        were re-queued."""
        owner = self.hold()
        queued, uncertain = self.log.take_over(owner, self.lease)
        searchable = set(self.log.searchable()) if self._recovery.enabled else set()
        free = [
            h for h in self.log.free_rows(owner)
            if (h.task_id and h.state not in UNSENT_STATES and h.state != UNCERTAIN)
            or (h.state == UNCERTAIN and h.client_ref in searchable)
        ]  # fmt: skip
        taken = self.log.claim(free, owner, self.lease)
        # Uncertain rows held now (claimed, or made uncertain by take_over), each searched
        # for once by this poller (``Recovery`` repeats a search itself while it is due).
        held = self.log.renew_leases(owner, self.lease) if uncertain or taken else []
        search = {
            h.client_ref for h in held
            if h.state == UNCERTAIN and h.client_ref in searchable
            and h.client_ref not in self._searching
        }  # fmt: skip
        with self._cond:
            for row, request in queued:
                labels = (row["experiment"], tuple(row["tags"]), row["notes"] or "")
                self._queue.add(Queued(row["client_ref"], request, *labels))
            for h in taken:
                if h.task_id and h.state != UNCERTAIN:
                    self._checks.track(h.task_id)
            for ref in sorted(search):
                self._searching.add(ref)
                self._recovery.add(ref)
            self._cond.notify_all()
        if uncertain:
            log.warning("%d submission(s) interrupted mid-send are now 'uncertain'", uncertain)
        if taken or queued:
            log.info("poller: took over %d task(s) and %d unsent request(s)", len(taken),
                     len(queued))  # fmt: skip
        return len(queued)

    def track(self, task_id: str) -> None:
        """Follow a task already submitted (e.g. found in the log after a restart)."""
        if not isinstance(task_id, str) or not task_id.strip():
            raise ValidationError("task_id", task_id, "must be a non-empty task id string")
        task_id = task_id.strip()
        # Its row is taken over when it is free, and left alone when another live poller
        # holds it: that one follows it, and its changes reach this poller from the log.
        row = self.log.get(task_id)
        if row is not None and row.get("owner") != self.hold():
            free = [h for h in self.log.free_rows(self.hold()) if h.task_id == task_id]
            if not self.log.claim(free, self.hold(), self.lease) and row.get("owner"):
                return
        with self._cond:
            if self._checks.track(task_id):
                self._cond.notify_all()

    def search(self, handle: str) -> None:
        """An uncertain submission: look for its task on the service."""
        with self._cond:
            self._searching.add(handle)
            self._recovery.add(handle)
            self._cond.notify_all()

    def renewed(self, held: list[Held]) -> None:
        """The leases were renewed: stop following what this poller no longer holds (taken
        over after its lease ran out while it stalled); its new holder follows it."""
        ids = {h.task_id for h in held if h.task_id}
        refs = {h.client_ref for h in held if h.client_ref}
        with self._cond:
            followed = [tid for tid in self._checks.due.ids() if tid not in ids]
            waiting = [h for h in self._queue.handles() if h not in refs]
        # Not among the renewed: either another poller's now, or too new (or just finished)
        # to have been seen by the renewal: the row tells.
        mine = (None, self._owner.token)
        lost = [t for t in followed if (r := self.log.get(t)) and r.get("owner") not in mine]
        gone = [h for h in waiting if (r := self.log.get_by_ref(h)) and r.get("owner") not in mine]
        if not lost and not gone:
            with self._cond:
                self._cond.notify_all()  # leases valid again: the scheduler may act
            return
        with self._cond:
            for tid in lost:
                self._checks.due.drop(tid)
            for handle in gone:
                self._queue.cancel(handle)
            self._cond.notify_all()
        log.warning("poller: %d task(s) and %d request(s) were taken over by another poller "
                    "(this one stalled past its lease)", len(lost), len(gone))  # fmt: skip
