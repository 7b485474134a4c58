"""Which poller holds an unsent request, and whether it is still alive.

A row in ``queued`` or ``submitting`` names its ``owner``: a token of the poller that will send
it. The poller holds an exclusive lock on ``owners/<token>.lock`` in the cache folder while it
lives; the operating system drops the lock when the process ends, even by SIGKILL. So
``resume`` in another kernel (or after a restart) can tell an abandoned request, which it takes
over, from one a live notebook is about to send, which it must leave alone (sending it twice
would create and charge two tasks).

A team's log on a server is shared by machines that see none of each other's lock files, so
its store also holds each token's lock on the server (``ServerLocks``: a PostgreSQL session
advisory lock, which the server drops when the holding connection ends, a killed process's
too); a token is alive when either lock is held.
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


class Owner:
    """A poller's token and the lock that proves it alive (``hold`` / ``release``)."""

    def __init__(self, folder: Path, server: ServerLocks | None = None) -> None:
        self.folder = Path(folder)
        self.server = server
        self.token = uuid.uuid4().hex
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
