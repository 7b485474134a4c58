"""Finding tasks on the service: uncertain submissions without a callback, and ``sync``.

The task list (``GET /ent/v2/tasks``) shows what was created in a time window but not the
``payload`` that carries our ``client_ref``, so finding the task of an uncertain submission
means listing the tasks created around its submission and querying each candidate (``GET``)
for its payload. Candidates already in the log are skipped, and the payload of a candidate
that did not match is remembered (it never changes), so searching again later costs one list
request and a query per *new* task only. ``sync`` imports what the log does not know (tasks
started from the web console, another machine, a lost log), marked ``source='imported'``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ... import states
from ...client.task import Task
from ...errors import NotFound, ValidationError, ViduError
from .rows import epoch, need_text, need_time, task_values
from .writes import add_event

if TYPE_CHECKING:
    from .reads import Reads
    from .reconcile import Reconcile
    from .store import Store
    from .writes import Writes

#: After how long (seconds past the submission) a task that is not in the list is given up.
UNCERTAIN_WINDOW = 600.0
#: Margin (seconds) on each side of the window for clocks that disagree.
CLOCK_SKEW = 120.0
#: How a row's ``error`` starts once its search is over without a match (not searched again).
NOT_FOUND = "not found on the service"


@dataclass(frozen=True)
class Search:
    """The outcome of looking for an uncertain submission on the service.

    ``status``: ``"matched"`` (``task`` is attached to the row), ``"waiting"`` (not found yet,
    the window is still open: search again later), ``"not_found"`` (the window has passed),
    ``"ambiguous"`` (several tasks fit: the row is left for ``reconcile``) or ``"settled"``
    (the row is not uncertain any more)."""

    client_ref: str
    status: str
    since: datetime
    until: datetime
    candidates: int = 0
    task: Task | None = None
    message: str = ""


@dataclass(frozen=True)
class SyncSummary:
    """What ``TaskLog.sync`` did: tasks ``added`` (imported), ``updated`` (already in the
    log), ``reconciled`` (an uncertain submission found), of ``listed`` in the window."""

    added: int = 0
    updated: int = 0
    reconciled: int = 0
    listed: int = 0
    skipped: tuple[str, ...] = ()  # ids that fit several uncertain rows, or vanished

    def __str__(self) -> str:
        text = (
            f"{self.listed} tasks on the service: {self.added} added, {self.updated} updated, "
            f"{self.reconciled} reconciled"
        )
        return text + (f", {len(self.skipped)} skipped" if self.skipped else "")


class Searches:
    """Finding uncertain submissions and unknown tasks on the service (``TaskLog`` delegates
    here); ``client`` needs ``list_tasks`` and ``get`` (a ``ViduClient``)."""

    def __init__(self, store: Store, reads: Reads, writes: Writes, reconcile: Reconcile) -> None:
        self._store = store
        self._reads = reads
        self._writes = writes
        self._reconcile = reconcile
        #: task id -> payload of candidates queried that matched nothing (this process).
        self._seen: dict[str, str] = {}
        self._seen_lock = threading.Lock()  # pollers and the notebook may search at once

    def find_uncertain(
        self,
        client: Any,
        client_ref: str,
        *,
        window: float = UNCERTAIN_WINDOW,
        skew: float = CLOCK_SKEW,
    ) -> Search:
        """Look for the task of the uncertain submission ``client_ref`` on the service and
        attach it when exactly one fits (its ``payload`` is the submission's); see the module
        docstring. Once the window (``window`` seconds after the submission, ``skew`` either
        side) has passed without a match, the row stays ``uncertain`` and its ``error`` says
        what was searched."""
        client_ref = str(need_text("client_ref", client_ref))
        _need_lister(client)
        window, skew = _seconds("window", window), _seconds("skew", skew)
        row = self._reads.get_by_ref(client_ref)
        if row is None:
            raise ViduError(f"no task with client_ref {client_ref!r} in {self._store.path}")
        sent = _sent_time(row)
        since, until = sent - skew, sent + window + skew
        bounds = (_utc(since), _utc(until))
        if row["task_id"] or states.norm(row["state"]) not in states.RECONCILABLE_STATES:
            return Search(client_ref, "settled", *bounds, message="not uncertain any more")
        expected = row["payload"] or client_ref
        found, candidates = self._candidates(client, since, until, {expected}, [row])
        fits = found.get(expected, [])
        if len(fits) == 1:
            task = fits[0]
            self._reconcile.reconcile(client_ref, task)
            return Search(client_ref, "matched", *bounds, candidates, task)
        where = (
            f"tasks created {bounds[0]:%Y-%m-%d %H:%M:%S} to {bounds[1]:%H:%M:%S} UTC "
            f"({candidates} candidate(s) not in the log)"
        )
        if len(fits) > 1:
            ids = ", ".join(t.id for t in fits)
            message = (
                f"several tasks carry this submission's payload ({ids}) among {where}: "
                f"reconcile({client_ref!r}, task_id) the right one"
            )
            self._note_search(client_ref, message)
            return Search(client_ref, "ambiguous", *bounds, candidates, message=message)
        if time.time() < until:
            return Search(client_ref, "waiting", *bounds, candidates)
        message = (
            f"{NOT_FOUND}: searched {where}, none carries payload {expected!r}; the request "
            "probably never arrived. If you find its task, reconcile(client_ref, task_id)"
        )
        self._note_search(client_ref, message)
        return Search(client_ref, "not_found", *bounds, candidates, message=message)

    def searchable(self) -> list[str]:
        """``client_ref`` of the uncertain rows whose search is not over (see ``NOT_FOUND``)."""
        return [
            r["client_ref"]
            for r in self._reads.uncertain()
            if r["client_ref"] and not (r.get("error") or "").startswith(NOT_FOUND)
        ]

    def sync(
        self,
        client: Any,
        since: datetime | str | float | None = None,
        until: datetime | str | float | None = None,
    ) -> SyncSummary:
        """Bring the log in line with the tasks the service created in a window (``since``
        defaults to 7 days ago, as the service's own list does; ``until`` to now).

        Tasks the log does not know are added with ``source='imported'`` (created in the web
        console, on another machine, or lost with a log); tasks it knows are updated, and an
        uncertain submission whose payload a task carries is reconciled, never duplicated.
        Every listed task is queried once (the list lacks payload, credits and state), which
        also refreshes expired video URLs. Running it again adds nothing."""
        _need_lister(client)
        start = need_time("since", since) if since is not None else time.time() - 7 * 86400
        end = need_time("until", until)
        if end is not None and start is not None and end < start:
            raise ValidationError("until", until, "must not be before since")
        listed = list(client.list_tasks(since=_utc(start or 0), until=_opt_utc(end)))
        marks = ", ".join("?" for _ in states.RECONCILABLE_STATES)
        waiting = self._reads.dicts(
            f"SELECT * FROM tasks WHERE task_id IS NULL AND state IN ({marks})",
            states.RECONCILABLE_STATES,
        )
        counts = {"added": 0, "updated": 0, "reconciled": 0}
        skipped: list[str] = []
        for item in listed:
            if not item.id:
                continue
            try:
                task = client.get(item)
            except NotFound:  # gone between the list and the query
                skipped.append(item.id)
                continue
            if self._reads.get(task.id) is not None:
                self._writes.update(task)
                counts["updated"] += 1
                continue
            rows = _rows_for(task, waiting)
            if any(states.norm(r["state"]) == states.SUBMITTING for r in rows):
                continue  # a poller is recording it right now: its row will hold it
            if len(rows) == 1:
                self._reconcile.reconcile(rows[0]["client_ref"], task)
                waiting.remove(rows[0])
                counts["reconciled"] += 1
            elif rows:
                skipped.append(task.id)  # fits several uncertain rows: reconcile by hand
            else:
                self._import(task)
                counts["added"] += 1
        return SyncSummary(**counts, listed=len(listed), skipped=tuple(skipped))

    # -- helpers ---------------------------------------------------------------------------
    def _candidates(
        self,
        client: Any,
        since: float,
        until: float,
        payloads: set[str],
        rows: list[dict[str, Any]],
    ) -> tuple[dict[str, list[Task]], int]:
        """Tasks listed in the window that are not in the log, queried for their payload;
        returns those carrying one of ``payloads`` (by payload) and how many were looked at."""
        listed = client.list_tasks(since=_utc(since), until=_utc(until))
        found: dict[str, list[Task]] = {}
        seen = self._seen
        count = 0
        for item in listed:
            if not item.id or self._reads.get(item.id) is not None:
                continue
            count += 1
            with self._seen_lock:
                known = seen.get(item.id)
            if known is not None and known not in payloads:
                continue  # queried before: its payload never changes
            try:
                task = client.get(item)
            except NotFound:
                continue
            if task.payload in payloads and any(_same_request(r, task) for r in rows):
                found.setdefault(task.payload, []).append(task)
            else:
                with self._seen_lock:
                    seen[item.id] = task.payload
        return found, count

    def _note_search(self, client_ref: str, message: str) -> None:
        with self._store.write() as conn:
            conn.run(
                "UPDATE tasks SET error = ?, updated_at = ? WHERE client_ref = ?"
                " AND task_id IS NULL",
                (message, time.time(), client_ref),
            )

    def _import(self, task: Task) -> int:
        """A task created elsewhere, as a new row: what the list and the query tell, times
        not stamped from now (it was not watched here), ``source='imported'``."""
        echo = task.request
        values = task_values(task)
        values.update(
            model=task.model or echo.get("model") or None,
            prompt=echo.get("prompt"),
            duration=_int(echo.get("duration")),
            resolution=echo.get("resolution") or None,
            bgm=echo.get("bgm"),
            off_peak=task.off_peak,
            payload=task.payload or None,
            source="imported",
            submitted_at=values["created_at"],
            finished_at=None,
            error=None,
        )
        for name in ("watermark", "wm_position", "wm_url", "meta_data", "seed"):
            if echo.get(name) is not None and values.get(name) is None:
                values[name] = echo[name]
        values = {k: v for k, v in values.items() if v is not None}
        with self._store.write() as conn:
            row_id = conn.insert("tasks", values)
            add_event(conn, row_id, task.id, task.state, "imported")
        return row_id


def _rows_for(task: Task, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uncertain rows ``task`` may belong to: its payload is theirs (their client_ref
    or the user's own payload) and what the list shows of the request agrees."""
    if not task.payload:
        return []
    return [
        r for r in rows
        if task.payload == (r["payload"] or r["client_ref"]) and _same_request(r, task)
    ]  # fmt: skip


def _same_request(row: dict[str, Any], task: Task) -> bool:
    """What the list echoes of the request (prompt, duration) does not contradict the row:
    a user's payload shared by a whole sweep still tells its tasks apart."""
    echo = task.request
    prompt = echo.get("prompt")
    if prompt is not None and row.get("prompt") is not None and prompt != row["prompt"]:
        return False
    duration = _int(echo.get("duration"))
    return duration is None or row.get("duration") is None or duration == row["duration"]


def _need_lister(client: Any) -> None:
    if not callable(getattr(client, "list_tasks", None)) or not callable(
        getattr(client, "get", None)
    ):
        raise ValidationError("client", client, "must have list_tasks() and get() (a ViduClient)")


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValidationError(name, value, "must be a number of seconds >= 0")
    return float(value)


def _sent_time(row: dict[str, Any]) -> float:
    for name in ("submitted_at", "updated_at"):
        if row.get(name) is not None:
            return epoch(row[name])
    return time.time()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


def _opt_utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else _utc(seconds)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


__all__ = ["CLOCK_SKEW", "NOT_FOUND", "UNCERTAIN_WINDOW", "Search", "Searches", "SyncSummary"]
