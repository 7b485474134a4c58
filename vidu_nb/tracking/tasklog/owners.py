"""Which poller holds a row, and whether it is provably dead: the fast path beside the lease.

An unfinished row names its ``owner``: the token of the poller that follows (or sends, or
searches) it, whose lease runs until ``lease_until`` (``leases``). The lease is what every
machine sharing the log can see; this module adds what one machine can tell at once. The
poller holds an exclusive lock on ``owners/<token>.lock`` in the cache folder while it lives;
the operating system drops the lock when the process ends, even by SIGKILL. So another kernel
on the same machine can tell a dead holder at once instead of waiting for its lease to expire.

A token is ``<random>@<place>``, the place being an id kept in the owners folder: a lock file
can only speak for tokens of the same place (the same folder). A token of another place (a
poller on another machine sharing a server log) is judged by its lease alone: its lock file is
not here, which proves nothing. Tokens without a place (logs of older versions, hand-written
rows) are judged by their lock file, as before.

A team's log on a server also holds each token's lock there (``ServerLocks``: a PostgreSQL
session advisory lock, which the server drops when the holding connection ends, a killed
process's too): on such a log a holder is known dead from any machine at once.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import IO, Protocol


class ServerLocks(Protocol):
    """Owner locks a server database keeps for its clients (``postgres.PostgresStore``)."""

    def hold_owner(self, token: str) -> bool:
        """Take ``token``'s lock (idempotent); False when another connection holds it."""

    def release_owner(self, token: str) -> None:
        """Drop ``token``'s lock (when held here)."""

    def owner_alive(self, token: str) -> bool:
        """Whether any connection (this one included) holds ``token``'s lock."""


if sys.platform != "win32":  # POSIX
    import fcntl

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

else:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fh: IO[bytes]) -> bool:
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True


_PLACES: dict[Path, str] = {}  # owners folder -> its id (it never changes)


def place_id(folder: Path) -> str:
    """The id of the owners folder ``folder`` (made once, by whichever process comes first):
    tokens made here carry it, so a lock file is consulted only for tokens of this place."""
    folder = Path(folder)
    known = _PLACES.get(folder)
    if known:
        return known
    path = folder / "place"
    try:
        _PLACES[folder] = path.read_text().strip()
        return _PLACES[folder]
    except OSError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"place.{uuid.uuid4().hex}"
    tmp.write_text(uuid.uuid4().hex[:12])
    try:
        os.link(tmp, path)  # atomic: the first one wins, nobody reads half a file
    except OSError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    _PLACES[folder] = path.read_text().strip()
    return _PLACES[folder]


class Owner:
    """A poller's token and the lock that proves it alive (``hold`` / ``release``)."""

    def __init__(self, folder: Path, server: ServerLocks | None = None) -> None:
        self.folder = Path(folder)
        self.server = server
        self.token = f"{uuid.uuid4().hex}@{place_id(self.folder)}"
        self._fh: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"Owner({self.token!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fh is not None

    def hold(self) -> str:
        """Take the lock (idempotent); returns the token to store in the rows."""
        if self._fh is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            fh = open(self.folder / f"{self.token}.lock", "a+b")  # noqa: SIM115 - held open
            if not _try_lock(fh):
                fh.close()
                raise OSError(f"owner lock {self.token} is held elsewhere")
            if self.server is not None and not self.server.hold_owner(self.token):
                fh.close()
                raise OSError(f"owner lock {self.token} is held elsewhere on the server")
            self._fh = fh
        return self.token

    def release(self) -> None:
        """Drop the lock: this poller's ``queued`` rows may now be taken over by ``resume``."""
        if self._fh is not None:
            fh, self._fh = self._fh, None
            if self.server is not None:
                self.server.release_owner(self.token)
            try:
                os.unlink(fh.name)
            except OSError:
                pass
            fh.close()


def owner_gone(folder: Path, token: str | None, server: ServerLocks | None = None) -> bool:
    """Whether ``token``'s poller is provably dead from here: on a server log, its lock there
    is free (every poller of such a log holds one); else its lock file (of this place) is
    missing or free. False for a live one and for a token of another place, whose lease alone
    can tell."""
    if not token:
        return True
    if server is not None:
        return not server.owner_alive(token)
    _, at, place = token.rpartition("@")
    if at and place != place_id(folder):
        return False
    return not owner_alive(folder, token)


def owner_alive(folder: Path, token: str | None, server: ServerLocks | None = None) -> bool:
    """Whether a live process holds ``token``'s lock (no token, or no lock file and no lock on
    the server: gone)."""
    if not token:
        return False
    if server is not None and server.owner_alive(token):
        return True
    path = Path(folder) / f"{token}.lock"
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except OSError:
        return False
    with fh:
        if not _try_lock(fh):
            return True
    try:  # abandoned: the lock file is no longer needed
        os.unlink(path)
    except OSError:
        pass
    return False
