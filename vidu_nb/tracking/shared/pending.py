"""``Uploads``: what a cache folder still owes the shared store, and the one thread that pays.

A file to upload is remembered as an empty marker of the same name in ``<cache>/.unshared/``
before anything is sent, and the marker goes only once the store holds the file. So nothing is
lost when the store is down, the kernel stops or the machine is offline for a week: the next
``VideoCache`` of that folder (any kernel) finds the markers and carries on. The thread
retries with a growing pause (``backoff`` doubling up to ``max_backoff``) and ends when
nothing is owed; a kernel never waits for it (``wait`` is for those who want to).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from ...errors import ValidationError
from .store import StoreError, VideoStore

log = logging.getLogger("vidu_nb.store")

#: The folder of markers inside the cache folder.
MARKERS = ".unshared"

_EACH: dict[tuple[str, str], Uploads] = {}
_EACH_LOCK = threading.Lock()


def uploads_for(store: VideoStore, folder: str | os.PathLike[str]) -> Uploads:
    """The one ``Uploads`` of this process for a folder and a store: every cache of the folder
    (the poller's, each player's) shares it, so a file is never sent by two threads at once."""
    key = (str(Path(folder).absolute()), store.url)
    with _EACH_LOCK:
        found = _EACH.get(key)
        if found is None or found.closed:
            found = _EACH[key] = Uploads(store, folder)
        return found


class Uploads:
    """The uploads a cache folder owes ``store`` (see the module docstring)."""

    def __init__(
        self,
        store: VideoStore,
        folder: str | os.PathLike[str],
        *,
        backoff: float = 2.0,
        max_backoff: float = 300.0,
    ) -> None:
        self.store = store
        self.folder = Path(folder)
        self.backoff = backoff
        self.max_backoff = max_backoff
        #: The last failure's message (the store's URL and why; never a credential).
        self.last_error: str | None = None
        #: Files this object sent (a file the store held already is not counted).
        self.uploaded = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = False
        self._closed = False
        self._wake = False
        if self.pending():  # owed by an earlier kernel: carried on
            self._start()

    def __repr__(self) -> str:
        return f"Uploads({self.store!r}, pending={len(self.pending())})"

    @property
    def _marks(self) -> Path:
        return self.folder / MARKERS

    def pending(self) -> list[str]:
        """Names of the cached files not in the store yet: sidecars and covers first, the
        video last (a video in the store means its companions are there)."""
        try:
            names = [p.name for p in self._marks.iterdir() if not p.name.startswith(".")]
        except FileNotFoundError:
            return []
        return sorted(names, key=lambda n: (n.endswith(".mp4"), n))

    def add(self, names: Iterable[str]) -> None:
        """Owe the store these files of the cache folder; the thread sends them soon."""
        names = [n for n in names if n]
        if not names:
            return
        self._marks.mkdir(parents=True, exist_ok=True)
        for name in names:
            (self._marks / name).touch()
        self._start()

    def wait(self, timeout: float = 60.0) -> int:
        """Try now (cutting any pause short) and wait until nothing is owed or ``timeout``
        seconds have passed; returns how many files are still owed."""
        deadline = time.monotonic() + timeout
        self._start()
        with self._cond:
            self._wake = True
            self._cond.notify_all()
            while self._busy or (self.pending() and not self._closed):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.2))
        return len(self.pending())

    def close(self, timeout: float = 0.0) -> None:
        """Stop the thread (what is owed stays marked for the next ``Uploads``); with
        ``timeout``, wait that long for an upload under way to end first."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and timeout > 0:
            thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed

    # -- the thread ------------------------------------------------------------------------
    def _start(self) -> None:
        with self._cond:
            if self._closed:
                return
            self._wake = True
            self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="vidu-store-upload", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # a surprise ends this thread; the next add() starts another
            with self._cond:
                self._thread = None
                self._busy = False
                self._cond.notify_all()
            raise

    def _loop(self) -> None:
        delay = self.backoff
        while True:
            with self._cond:
                names = self.pending()
                if not names or self._closed:  # under the lock: an add() now starts a thread
                    self._thread = None
                    self._cond.notify_all()
                    return
                self._busy = True
                self._wake = False
            failed = self._send(names)
            with self._cond:
                self._busy = False
                self._cond.notify_all()
                if failed:
                    if not (self._wake or self._closed):
                        self._cond.wait(delay)
                    delay = min(delay * 2, self.max_backoff)
                else:
                    delay = self.backoff

    def _send(self, names: list[str]) -> bool:
        """Upload the names in order; True when the store failed (the rest wait for later)."""
        for name in names:
            local = self.folder / name
            try:
                if local.is_file() and self.store.put(local, name):  # gone: nothing to send
                    self.uploaded += 1
            except ValidationError as exc:  # a marker no cache wrote: nothing it could send
                log.warning("%s: not a cache file, dropped from the uploads: %s", name, exc)
            except (StoreError, OSError) as exc:
                self.last_error = str(exc)
                log.info("%s is not in the store yet (retried later): %s", name, exc)
                return True
            (self._marks / name).unlink(missing_ok=True)
        self.last_error = None
        return False
