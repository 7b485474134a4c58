"""Requests recorded before they are sent: ``queued`` -> ``submitting`` -> the service's state.

A request is written to the log the moment it is queued (with its ``client_ref``, every
parameter and the start image kept as a file), so a kernel that dies loses nothing:

* ``queued``: never sent. ``resume`` rebuilds the request from the row and sends it.
* ``submitting``: the POST was about to go out or was in flight. Nobody can tell whether it
  arrived, so a leftover one becomes ``uncertain`` (never resent): reconcile it by its
  ``client_ref`` (``TaskLog.reconcile``/``reconcile_from_callback``).

Each row names its ``owner`` and holds it until ``lease_until`` (``leases``); only rows whose
lease ran out (or whose owner is provably dead on this machine, ``owners``) are taken over, and
every move is one conditional transaction, so two pollers never send the same row, on one
machine or several. ``start_sending`` also keeps the team's shared concurrency limit: it
refuses while the log holds ``limit`` tasks in flight, counted in the same transaction.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import states
from ...errors import ViduError
from .files import Files, ImageFiles
from .judgments import find_row
from .leases import LEASE_SECONDS, Leases, claim_row, in_flight
from .owners import ServerLocks
from .store import provides
from .writes import add_event, ref_row

if TYPE_CHECKING:
    from ...request.spec import Img2VideoRequest
    from .reads import Reads
    from .store import Connection, Store

#: States of a request that has no task id yet because it was not (surely) sent
#: (``states.UNSENT_STATES``; the old name stays importable).
LOCAL_STATES = states.UNSENT_STATES
_ANY = object()  # ``_move`` without an owner condition
INTERRUPTED = "the process stopped while sending this request: it may have reached the service"


class Unsent:
    """The local life of a request before the service answers (``TaskLog`` delegates here)."""

    def __init__(self, store: Store, reads: Reads, files: Files, leases: Leases) -> None:
        self._store = store
        self._reads = reads
        self._files = files
        self._leases = leases

    @property
    def owners_dir(self) -> Path:
        """Where live pollers hold their lock files (``owners``)."""
        return self._store.cache_dir / "owners"

    @property
    def owner_locks(self) -> ServerLocks | None:
        """The server's owner locks of a team's log (its store), None for a file."""
        return self._store if provides(self._store, ServerLocks) else None  # type: ignore[return-value]

    def record_queued(
        self,
        request: Img2VideoRequest,
        client_ref: str,
        *,
        owner: str,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        base_url: str | None = None,
        parent_row_id: int | None = None,
        lease: float = LEASE_SECONDS,
    ) -> int:
        """Record a request waiting to be sent (state ``queued``, no task id yet)."""
        return self.record_queued_many(
            [(request, client_ref)], owner=owner, experiment=experiment, tags=tags, notes=notes,
            base_url=base_url, parent_row_id=parent_row_id, lease=lease,
        )[0]  # fmt: skip

    def record_queued_many(
        self,
        requests: Iterable[tuple[Img2VideoRequest, str]],
        *,
        owner: str,
        experiment: str | None = None,
        tags: Iterable[str] = (),
        notes: str = "",
        base_url: str | None = None,
        parent_row_id: int | None = None,
        lease: float = LEASE_SECONDS,
    ) -> list[int]:
        """Record ``(request, client_ref)`` pairs as ``queued`` in ONE transaction: all rows or
        none (one sync to disk instead of one per request). Each distinct start image is
        hashed and kept once, before any row refers to it. Returns the row ids, in order.
        ``parent_row_id`` is the row these requests re-run (``vidu_nb.promote``); ``owner``
        holds them for ``lease`` seconds (renewed by its poller, ``leases``)."""
        tags = (tags,) if isinstance(tags, str) else tuple(tags)
        files: dict[int, ImageFiles] = {}
        now = time.time()
        rows = []
        for request, client_ref in requests:
            values = self._files.request_values(request, experiment, tags, notes, base_url, files)
            values.update(
                client_ref=client_ref, state="queued", owner=owner, submitted_at=None,
                updated_at=now, lease_until=now + lease,
            )  # fmt: skip
            rows.append(values)
        if not rows:
            return []
        row_ids = []
        with self._store.write() as conn:
            if parent_row_id is not None:  # refused if not in the log: nothing is queued
                parent = find_row(conn, "parent", parent_row_id, self._store.path)
                for values in rows:
                    values["parent_row_id"] = parent
            for values in rows:
                ref = values["client_ref"]
                if not ref:
                    raise ViduError("a queued request needs its client_ref")
                if ref_row(conn, ref) is not None:
                    raise ViduError(f"client_ref {ref!r} is already in {self._store.path}")
                row_id = conn.insert("tasks", values)
                add_event(conn, row_id, None, "queued")
                row_ids.append(row_id)
        return row_ids

    def start_sending(
        self,
        client_ref: str,
        owner: str,
        *,
        limit: int | None = None,
        lease: float = LEASE_SECONDS,
    ) -> bool:
        """``queued`` -> ``submitting`` right before the POST, the lease renewed; False when
        the row is no longer this owner's to send (cancelled, or taken over after its lease
        ran out), or when ``limit`` tasks of the log (any poller's) are in flight already:
        counted in the same write transaction, so pollers sharing the log never exceed it
        together. Tell the two apart by the row (still ``queued`` and this owner's: full)."""
        return self._move(
            client_ref, "queued", "submitting", owner=owner, sent=True, lease=lease, limit=limit
        )

    def back_to_queue(self, client_ref: str, owner: str, error: BaseException | str) -> bool:
        """``submitting`` -> ``queued``: the service provably did not create it (429, no
        connection, no credits); it will be sent again. ``error`` stays on the row as the
        reason it waits, until the request is sent."""
        return self._move(
            client_ref, "submitting", "queued", owner=owner, detail=str(error), keep_error=True
        )

    def cancel_queued(self, client_ref: str, owner: str | None = None) -> bool:
        """``queued`` -> ``cancelled`` (never sent); with ``owner``, only that owner's row."""
        mine = _ANY if owner is None else owner
        return self._move(client_ref, "queued", "cancelled", owner=mine, detail="not sent")

    def unsent(self) -> list[dict[str, Any]]:
        """Rows in ``queued`` or ``submitting``, oldest first (whoever holds them)."""
        marks = ", ".join("?" for _ in states.UNSENT_STATES)
        return self._reads.dicts(
            f"SELECT * FROM tasks WHERE state IN ({marks}) ORDER BY row_id", states.UNSENT_STATES
        )

    def take_over(
        self, owner: str, lease: float = LEASE_SECONDS
    ) -> tuple[list[tuple[dict[str, Any], Any]], int]:
        """Adopt the unsent rows of pollers that are gone (the caller must hold ``owner``):
        their lease ran out, or their lock file says so on this machine (``leases``).

        Returns ``(queued, uncertain)``: ``(row, request)`` pairs to send again, now held by
        ``owner`` for ``lease`` seconds, and how many ``submitting`` rows became ``uncertain``
        (held by ``owner`` too, to look for their task). A queued row whose request cannot be
        rebuilt (its image file is gone) becomes ``failed``, saying why.
        """
        queued: list[tuple[dict[str, Any], Any]] = []
        uncertain = 0
        free = {h.row_id: h for h in self._leases.free_rows(owner, states.UNSENT_STATES)}
        if not free:
            return queued, uncertain
        marks = ", ".join("?" for _ in free)
        rows = self._reads.dicts(f"SELECT * FROM tasks WHERE row_id IN ({marks})", list(free))
        for row in sorted(rows, key=lambda r: r["row_id"]):
            held = free[row["row_id"]]
            now = time.time()
            if held.state == states.SUBMITTING:
                with self._store.write() as conn:
                    if claim_row(conn, held, owner, lease, now):
                        self._apply(conn, held.row_id, "submitting", "uncertain", INTERRUPTED)
                        uncertain += 1
                continue
            try:
                request = self.rebuild_request(row)
            except (ViduError, ValueError, OSError) as exc:
                why = f"cannot send after restart: {exc}"
                with self._store.write() as conn:
                    if claim_row(conn, held, owner, lease, now):
                        self._apply(conn, held.row_id, "queued", "failed", why)
                continue
            with self._store.write() as conn:
                if claim_row(conn, held, owner, lease, now):
                    queued.append((row, request))
        return queued, uncertain

    def rebuild_request(self, row: dict[str, Any]) -> Img2VideoRequest:
        """The request a row was recorded from: its options, and the kept image or its URL."""
        from ...request.spec import IgnoredFieldWarning, Img2VideoRequest

        image = row.get("image_url") or row.get("image_path")
        if not image:
            raise ViduError(f"row {row['row_id']} kept no start image")
        options = json.loads(row.get("options") or "{}")
        with warnings.catch_warnings():  # warned once already, when it was first built
            warnings.simplefilter("ignore", IgnoredFieldWarning)
            return Img2VideoRequest(image=image, **options)

    # -- helpers ---------------------------------------------------------------------------
    def _move(
        self,
        client_ref: str,
        old: str,
        new: str,
        *,
        owner: Any = _ANY,
        detail: str = "",
        sent: bool = False,
        keep_error: bool = False,
        lease: float | None = None,
        limit: int | None = None,
    ) -> bool:
        """One conditional transaction: ``old`` -> ``new`` when the row is still ``old`` (and
        still held by ``owner``, ``None`` meaning nobody; its lease renewed for ``lease``
        seconds; with ``limit``, only while fewer tasks are in flight); True when it moved."""
        where = "client_ref = ? AND state = ? AND task_id IS NULL"
        args: list[Any] = [client_ref, old]
        if owner is None:
            where += " AND owner IS NULL"
        elif owner is not _ANY:
            where += " AND owner = ?"
            args.append(owner)
        with self._store.write() as conn:
            row = conn.row(f"SELECT row_id FROM tasks WHERE {where}", args)
            if row is None:
                return False
            if limit is not None and in_flight(conn) >= limit:
                return False
            self._apply(conn, row[0], old, new, detail, sent=sent, keep_error=keep_error,
                        lease=lease)  # fmt: skip
        return True

    @staticmethod
    def _apply(
        conn: Connection,
        row_id: int,
        old: str,
        new: str,
        detail: str,
        *,
        sent: bool = False,
        keep_error: bool = False,
        lease: float | None = None,
    ) -> None:
        """Inside a write transaction: the row moves from ``old`` to ``new`` (an event too)."""
        now = time.time()
        sets: dict[str, Any] = {"state": new, "updated_at": now}
        if sent:
            sets["submitted_at"] = now
        if lease is not None:
            sets["lease_until"] = now + lease
        if states.is_final(new):
            sets["finished_at"] = now
        if new in ("failed", "uncertain"):
            sets.update(error=detail, err_code="NotSent" if new == "failed" else "")
        elif keep_error:
            sets["error"] = detail or None
        assignments = ", ".join(f"{k} = ?" for k in sets)
        conn.run(f"UPDATE tasks SET {assignments} WHERE row_id = ?", (*sets.values(), row_id))
        if new != old:
            add_event(conn, row_id, None, new, detail)
