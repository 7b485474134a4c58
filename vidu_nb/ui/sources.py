"""Where a player's video and poster come from, and how a dead source is brought back.

Creation URLs expire (24 h on the service). With a shared video store (``VIDU_VIDEO_STORE``)
a player whose task has no cached file here takes the files from the store first. A player
whose task has no cached file (nor one in the store) and whose URL answers 403 (or was fetched
longer ago than ``URL_MAX_AGE``) re-queries the task through the client for fresh URLs, records
them in the task log, downloads the files into the video cache when there is one, and serves
them from there; without a cache it uses the fresh URL.
All of this runs on the kernel side: nothing here reaches widget state.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import states
from ..client.transport import direct_if_loopback, file_session
from .rows import TaskView, epoch_of

log = logging.getLogger(__name__)

#: Creation URLs live 24 h; one fetched longer ago than this is refreshed before it is used.
URL_MAX_AGE = 23 * 3600.0
_EXPIRED = (403, 410)


@dataclass(frozen=True)
class Source:
    """One player's files and URLs (kept on the kernel side only)."""

    task_id: str = ""
    video_path: str | None = None
    video_url: str | None = None
    cover_path: str | None = None
    cover_url: str | None = None
    urls_fetched_at: float | None = None

    def path(self, what: str) -> str | None:
        path = self.video_path if what == "video" else self.cover_path
        return path if path and Path(path).is_file() else None

    def url(self, what: str) -> str | None:
        """The http(s) URL, if any (other schemes never reach the browser)."""
        url = self.video_url if what == "video" else self.cover_url
        return url if url and url.lower().startswith(("http://", "https://")) else None

    def stale(self, max_age: float, now: float | None = None) -> bool:
        """True when the URLs were fetched longer ago than ``max_age`` seconds."""
        if self.urls_fetched_at is None:
            return False  # unknown age: try the URL, a 403 still triggers a refresh
        return (time.time() if now is None else now) - self.urls_fetched_at > max_age


def source_of(view: TaskView) -> Source:
    if not states.is_success(view.state):
        return Source(task_id=view.task_id)
    return Source(
        task_id=view.task_id,
        video_path=view.get("video_path"),
        video_url=view.get("video_url"),
        cover_path=view.get("cover_path"),
        cover_url=view.get("cover_url"),
        urls_fetched_at=epoch_of(view.get("urls_fetched_at")),
    )


class Expired(Exception):
    """The URL answered 403/410: it has expired (or was never valid)."""


def download(url: str, timeout: float = 30.0) -> tuple[bytes, str]:
    """GET a pre-signed URL (no credentials attached); raises ``Expired`` on 403/410."""
    with file_session() as session:
        resp = session.get(url, timeout=timeout, proxies=direct_if_loopback(url))
    if resp.status_code in _EXPIRED:
        raise Expired(f"HTTP {resp.status_code}")
    resp.raise_for_status()
    return resp.content, resp.headers.get("Content-Type", "")


class Refresher:
    """Re-queries a task for fresh URLs, updates the log, and caches the files when it can.

    ``client`` is needed to refresh at all; ``log`` (a ``TaskLog``) gets the fresh URLs and file
    paths; ``cache`` (a ``VideoCache``) defaults to the log's cache folder.
    """

    def __init__(self, client: Any = None, log: Any = None, cache: Any = None) -> None:
        self.client = client
        self.log = log
        self.cache = cache
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:  # never shows the client (and so never its key)
        return f"Refresher(log={self.log!r})"

    @property
    def can_refresh(self) -> bool:
        return self.client is not None

    @property
    def shares(self) -> bool:
        """True when the cache has a shared store: players then get their files through the
        kernel, from the local copy (taken from the store first when missing)."""
        cache = self._cache()
        return cache is not None and getattr(cache, "shared", None) is not None

    def from_store(self, src: Source) -> Source | None:
        """The source with the task's files copied into the cache from the shared store (and
        recorded in the log), or ``None`` when the store has no video of it or none is set."""
        cache = self._cache()
        if cache is None or getattr(cache, "shared", None) is None or not src.task_id:
            return None
        video, cover = cache.from_shared(src.task_id)
        if video is None:
            return None
        if self.log is not None and self.log.get(src.task_id) is not None:
            self.log.set_files(src.task_id, video, cover)
        return replace(src, video_path=str(video), cover_path=str(cover) if cover else None)

    def lock_for(self, task_id: str) -> threading.Lock:
        """One refresh at a time per task (the browser asks for video and poster together)."""
        with self._guard:
            return self._locks.setdefault(task_id, threading.Lock())

    def refresh(self, src: Source) -> Source | None:
        """A source with fresh URLs (and cached files when possible); ``None`` if impossible."""
        if self.client is None or not src.task_id:
            return None
        task = self.client.get(src.task_id)
        in_log = self.log is not None and self.log.get(task.id) is not None
        if in_log:
            self.log.update(task)
        if not task.video_url:
            return None
        fresh = replace(
            src, video_url=task.video_url, cover_url=task.cover_url or None,
            urls_fetched_at=time.time(),
        )  # fmt: skip
        cache = self._cache()
        if cache is None:
            return fresh
        from ..tracking.cache import DownloadError
        from ..tracking.recipe import recipe_of

        try:
            video, cover = cache.fetch(
                task, self.client, on_refresh=self.log.update if in_log else None,
                recipe=recipe_of(self.log.get(task.id)) if in_log else None,
            )  # fmt: skip
        except DownloadError as exc:
            log.warning("%s; the player uses the fresh URL", exc)
            return fresh
        if in_log:
            self.log.set_files(task.id, video, cover)
        return replace(fresh, video_path=str(video), cover_path=str(cover) if cover else None)

    def _cache(self) -> Any:
        if self.cache is None and self.log is not None:
            from ..tracking.cache import VideoCache

            self.cache = VideoCache(self.log.cache_dir)
        return self.cache
