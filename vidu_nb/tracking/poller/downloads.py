"""Fetching succeeded tasks' files on a small pool of its own, so a big video never delays
the status checks. The ``VideoCache`` streams, checks and refreshes expired URLs; a failure
is recorded as the task's last error and reported as an ``"error"`` event, never raised.
A downloaded video's strip of frames (``stills``) is made on the same pool, right after
the ``"files"`` event, so the views shown later find it cached instead of decoding it."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from ...client.task import Task
from .. import stills
from ..cache import VideoCache
from ..recipe import recipe_of
from .events import PollerEvent, Stats, Subscribers, record_error

if TYPE_CHECKING:
    from ...client.core import TaskReader
    from ..tasklog import TaskLog

log = logging.getLogger("vidu_nb.poller")


class Downloads:
    """Download jobs in flight; ``cond`` (the poller's) is notified as each one ends."""

    def __init__(
        self,
        cache: VideoCache | None,
        client: TaskReader,
        tasklog: TaskLog,
        cond: threading.Condition,
        stats: Stats,
        subscribers: Subscribers,
        *,
        workers: int,
    ) -> None:
        self.cache = cache
        self.client = client
        self.log = tasklog
        self.stats = stats
        self.subscribers = subscribers
        self._cond = cond
        self._workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="vidu-download")
        self._running: set[Future[None]] = set()

    def __len__(self) -> int:
        """Downloads queued or running (read under the lock)."""
        return len(self._running)

    def start(self, handle: str, task: Task) -> None:
        """Under the lock: fetch a succeeded task's files in the background."""
        fut = self._pool.submit(self._fetch, handle, task)
        self._running.add(fut)
        fut.add_done_callback(self._done)

    def shutdown(self) -> list[Future[None]]:
        """Stop taking jobs; returns the ones still running (to wait for)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._cond:
            return list(self._running)

    def reopen(self) -> None:
        """A fresh pool after ``shutdown`` (a poller started again)."""
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="vidu-download")

    def _done(self, fut: Future[None]) -> None:
        with self._cond:
            self._running.discard(fut)
            self._cond.notify_all()

    def _fetch(self, handle: str, task: Task) -> None:
        assert self.cache is not None
        try:
            recipe = recipe_of(self.log.get(task.id))  # the file says how it was made
            video, cover = self.cache.fetch(
                task, self.client, on_refresh=self.log.update, recipe=recipe
            )
            self.log.set_files(task.id, video, cover)
        except Exception as exc:
            self.stats.note(exc)
            log.warning("task %s: download failed: %s", task.id, exc)
            record_error(self.log, task.id, exc)
            self.subscribers.emit(PollerEvent.failure(handle, task.id, task.state, task, exc))
            return
        self.stats.count("downloads")
        self.subscribers.emit(
            PollerEvent(
                handle, task.id, task.state, task.state, task, kind="files",
                video_path=str(video), cover_path=str(cover) if cover else None,
            )
        )  # fmt: skip
        try:  # after the event: the views it wakes never wait for this decoding
            stills.ensure_strip(video)
        except Exception as exc:  # a still is a nicety: never a failed download
            log.info("task %s: no stills: %s", task.id, exc)
