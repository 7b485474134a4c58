"""Leases: which poller follows, sends or searches each unfinished row, across a team.

Any number of pollers (kernels, processes, machines sharing a server log) may run on one log;
each unfinished row is in the hands of exactly one at a time: the row's ``owner`` (the
poller's token, ``owners``) holds it until ``lease_until`` (Unix seconds). The holder renews
all its leases in one statement every third of the lease; a holder that dies stops renewing,
and when its lease has run out any other poller takes the row over. On the same machine a dead
holder is known at once (its lock file is free: ``owners.owner_gone``), so nobody waits for
the lease there.

Every claim is one conditional ``UPDATE`` inside a write transaction: the row changes hands
only if it is still free (no owner, an expired lease, or the very dead owner that was seen)
when the statement runs. SQLite runs write transactions one at a time; PostgreSQL at READ
COMMITTED re-checks the condition on the row it locks. So two pollers never both win a row,
whatever the timing, and ``queued`` rows (whose sending would create and charge a task) move
only under the same condition (``unsent``).

Lease times are wall-clock seconds written by the holders: machines sharing a log need clocks
agreeing to well under a lease (NTP gives milliseconds; a lease is a minute by default).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import states
from .owners import ServerLocks, owner_gone
from .store import provides

if TYPE_CHECKING:
    from .store import Connection, Store

#: Seconds a lease lasts unless renewed; renewed every third of it.
LEASE_SECONDS = 60.0
#: Rows in flight on the service: sent (maybe) and not finished. ``queued`` rows are not
#: sent; ``uncertain`` ones most likely never arrived.
NOT_IN_FLIGHT = (states.QUEUED, states.UNCERTAIN)
_PRESENT = (
    "WITH RECURSIVE present(state) AS (SELECT MIN(state) FROM tasks UNION ALL"
    " SELECT (SELECT MIN(state) FROM tasks WHERE state > present.state) FROM present"
    " WHERE present.state IS NOT NULL)"
    " SELECT state FROM present WHERE state IS NOT NULL"
)
_FREE = "(owner IS NULL OR lease_until IS NULL OR lease_until < ?)"


def open_states(conn: Connection) -> list[str]:
    """The raw states present in the log that are not final (``uncertain`` and our local
    states included), found by hopping along the state index: a lookup per distinct state."""
    return [str(r[0]) for r in conn.rows(_PRESENT) if not states.is_final(r[0])]


def in_flight(conn: Connection) -> int:
    """Tasks sent to the service and not finished, whoever sent them (the shared limit)."""
    busy = [s for s in open_states(conn) if states.norm(s) not in NOT_IN_FLIGHT]
    if not busy:
        return 0
    marks = ", ".join("?" for _ in busy)
    found = conn.row(f"SELECT COUNT(*) FROM tasks WHERE state IN ({marks})", busy)
    return int(found[0]) if found else 0


@dataclass(frozen=True)
class Held:
    """An unfinished row and who holds it (``Leases.held`` / ``Leases.free``)."""

    row_id: int
    task_id: str | None
    client_ref: str | None
    state: str
    owner: str | None
    lease_until: float | None
    #: Its holder was found dead (``free_rows``): the claim may take it from that holder.
    gone: bool = False


class Leases:
    """Claiming, renewing and releasing rows (the poller's side of the lease; ``TaskLog``
    delegates ``renew_leases``, ``release_leases``, ``free_rows``, ``claim``, ``holders``
    and ``in_flight`` here)."""

    def __init__(self, store: Store, owners_dir: Path) -> None:
        self._store = store
        self._owners_dir = owners_dir
        #: A server log's owner locks (seen from every machine), None for a file.
        self._server: ServerLocks | None = store if provides(store, ServerLocks) else None  # type: ignore[assignment]

    def renew_leases(self, owner: str, lease: float = LEASE_SECONDS) -> list[Held]:
        """Extend every lease ``owner`` holds to ``lease`` seconds from now, in one write
        transaction; returns the rows it still holds (the others were taken over after its
        lease ran out: the poller stops following them)."""
        with self._store.write() as conn:
            wanted = open_states(conn)
            if not wanted:
                return []
            marks = ", ".join("?" for _ in wanted)
            conn.run(
                f"UPDATE tasks SET lease_until = ? WHERE owner = ? AND state IN ({marks})",
                (time.time() + lease, owner, *wanted),
            )
            return _held(conn, f"owner = ? AND state IN ({marks})", (owner, *wanted))

    def release_leases(self, owner: str) -> int:
        """End ``owner``'s leases now (a poller stopping): other pollers may take its rows at
        once. Returns how many rows were released."""
        with self._store.write() as conn:
            wanted = open_states(conn)
            if not wanted:
                return 0
            marks = ", ".join("?" for _ in wanted)
            return conn.run(
                f"UPDATE tasks SET lease_until = 0 WHERE owner = ? AND state IN ({marks})",
                (owner, *wanted),
            )

    def free_rows(self, owner: str, among: Iterable[str] | None = None) -> list[Held]:
        """Unfinished rows (in states ``among``, default every open one) that ``owner`` may
        take: nobody holds them, their lease ran out, or their holder is provably dead (on this
        machine, or on a server log). Oldest first. Rows held by live pollers are not read:
        only their holders, one row each (a team of ten, a thousand tasks: ten rows)."""
        now = time.time()
        with self._store.snapshot() as conn:
            wanted = open_states(conn)
            if among is not None:
                chosen = {states.norm(s) for s in among}
                wanted = [s for s in wanted if states.norm(s) in chosen]
            if not wanted:
                return []
            marks = ", ".join("?" for _ in wanted)
            where = f"state IN ({marks}) AND (owner IS NULL OR owner <> ?)"
            free = _held(conn, f"{where} AND {_FREE}", (*wanted, owner, now))
            holders = conn.rows(
                f"SELECT DISTINCT owner FROM tasks WHERE {where} AND lease_until >= ?",
                (*wanted, owner, now),
            )
        dead = [h for (h,) in holders if owner_gone(self._owners_dir, h, self._server)]
        if dead:
            with self._store.snapshot() as conn:
                others = ", ".join("?" for _ in dead)
                free += [
                    replace(row, gone=True)
                    for row in _held(
                        conn, f"state IN ({marks}) AND owner IN ({others})", (*wanted, *dead)
                    )
                ]
        return sorted(free, key=lambda h: h.row_id)

    def claim(self, rows: Sequence[Held], owner: str, lease: float = LEASE_SECONDS) -> list[Held]:
        """Take ``rows`` (as ``free_rows`` found them) for ``owner``, in one write transaction;
        each moves only if it is still in the state and hands it was seen in and still free.
        Returns the rows taken."""
        if not rows:
            return []
        now = time.time()
        taken = []
        with self._store.write() as conn:
            for row in rows:
                if claim_row(conn, row, owner, lease, now):
                    taken.append(row)
        return taken

    def holders(self) -> dict[str | None, int]:
        """Unfinished rows per holder (None: nobody), for a look at who follows what."""
        with self._store.snapshot() as conn:
            wanted = open_states(conn)
            if not wanted:
                return {}
            marks = ", ".join("?" for _ in wanted)
            rows = conn.rows(
                f"SELECT owner, COUNT(*) FROM tasks WHERE state IN ({marks}) GROUP BY owner",
                wanted,
            )
        return {r[0]: int(r[1]) for r in rows}

    def in_flight(self) -> int:
        """Tasks sent and not finished in this log, whoever sent them."""
        with self._store.read() as conn:
            return in_flight(conn)


def claim_row(conn: Connection, row: Held, owner: str, lease: float, now: float) -> bool:
    """The one conditional ``UPDATE`` that hands a row to ``owner`` (inside the caller's write
    transaction): only while it is in the state it was seen in, and free (no owner, a lease run
    out, or the same dead owner as ``free_rows`` found)."""
    free = _FREE
    args: list[Any] = [owner, now + lease, row.row_id, row.state, now]
    if row.owner is not None and row.gone:
        free = "(owner = ? OR " + _FREE[1:]
        args.insert(4, row.owner)
    touched = conn.run(
        f"UPDATE tasks SET owner = ?, lease_until = ? WHERE row_id = ? AND state = ? AND {free}",
        args,
    )
    return touched == 1


def _held(conn: Connection, where: str, args: Sequence[Any]) -> list[Held]:
    rows = conn.rows(
        "SELECT row_id, task_id, client_ref, state, owner, lease_until FROM tasks"
        f" WHERE {where} ORDER BY row_id",
        args,
    )
    return [Held(int(r[0]), r[1], r[2], str(r[3]), r[4], r[5]) for r in rows]
