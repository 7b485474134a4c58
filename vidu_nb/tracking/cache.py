"""``VideoCache``: keep each task's video and cover on disk, because creation URLs expire.

Downloads stream into a temporary file in the cache folder and are renamed into place only
when complete (size checked against ``Content-Length``), so a file under its final name is
always whole and is never fetched twice. Transient failures are retried with backoff; an
expired URL (403) is refreshed by querying the task again. Creation URLs are pre-signed: they
are fetched with a plain session that never carries the API key. File names come from task ids
through ``safe_name``, so a hostile id from a server cannot escape the folder. Given the
task's ``recipe`` (``recipe.recipe_of`` its log row), a downloaded video carries it in its MP4
metadata and in a JSON sidecar, so the file says how it was made wherever it is copied.

With a shared store (``shared``, or ``VIDU_VIDEO_STORE``: see ``shared/``) a task's files are
looked for there before the service's URL (which may have expired), and what this cache
downloads from the service is uploaded there once, in the background; when the store cannot
be reached the local cache works as before and the uploads wait (``uploads``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from ..client.task import Task
from ..client.transport import direct_if_loopback, file_session
from ..errors import ValidationError, ViduError
from .recipe import RecipeError, is_mp4, sidecar_path, tag_video, write_sidecar
from .shared import StoreError, Uploads, VideoStore, uploads_for

if TYPE_CHECKING:
    from ..client.core import TaskReader

log = logging.getLogger("vidu_nb.cache")

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_COVER_EXTS = (".jpg", ".jpeg", ".png", ".webp")
_EXPIRED = (403, 410)


class DownloadError(ViduError):
    """A result file could not be downloaded (after retries and URL refreshes)."""

    def __init__(self, task_id: str, what: str, reason: str, status: int | None = None):
        self.task_id = task_id
        self.what = what
        self.status = status
        super().__init__(f"task {task_id}: cannot download the {what}: {reason}")


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class _Expired(Exception):
    pass


def safe_name(task_id: str) -> str:
    """A file-name stem for a task id: letters, digits, ``_`` and ``-`` only, at most ~100
    characters; ids that had to be altered get a hash suffix so two never collide."""
    text = str(task_id)
    clean = _UNSAFE.sub("_", text).strip("_")[:80]
    if clean != text or not clean:
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        clean = f"{clean or 'task'}-{digest}"
    return clean


def _public(url: str) -> str:
    """A URL without its query (signatures stay out of messages and logs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _file_mode() -> int:
    """The mode ``open()`` would give a new file (0666 less the umask, e.g. 0644).

    Read from ``/proc`` where possible: setting the umask to read it is not thread-safe.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


class VideoCache:
    """Task results as local files in ``folder`` (created on first use).

    ``shared``: the team's ``VideoStore`` (or its URL or folder); ``None`` (the default) reads
    ``VIDU_VIDEO_STORE``, ``False`` means none. ``uploads`` (``shared.Uploads``) holds what the
    folder still owes the store.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float | tuple[float, float] = (5, 60),
        chunk_size: int = 1 << 16,
        shared: VideoStore | str | os.PathLike[str] | bool | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.retries = retries
        self.backoff = backoff
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.shared = store_of(shared)
        self.uploads: Uploads | None = (
            uploads_for(self.shared, self.folder) if self.shared is not None else None
        )
        self._session = file_session()

    def __repr__(self) -> str:
        shared = f", shared={self.shared!r}" if self.shared is not None else ""
        return f"VideoCache({str(self.folder)!r}{shared})"

    def close(self) -> None:
        """Close the HTTP session. The uploads carry on: shared by every cache of the folder
        in this process, they end when nothing is owed (what is, stays marked in the folder
        for the next kernel)."""
        self._session.close()

    # -- names ---------------------------------------------------------------------------
    def video_path(self, task_id: str) -> Path:
        return self._inside(f"{safe_name(task_id)}.mp4")

    def cover_path(self, task_id: str, url: str = "") -> Path:
        ext = Path(urlsplit(url).path).suffix.lower()
        return self._inside(f"{safe_name(task_id)}-cover{ext if ext in _COVER_EXTS else '.jpg'}")

    def _inside(self, name: str) -> Path:
        path = self.folder / name
        if path.resolve().parent != self.folder.resolve():  # defence in depth
            raise ViduError(f"refusing a cache path outside {self.folder}: {name!r}")
        return path

    def _names(self, task_id: str) -> list[str]:
        """The names a task's files can have here and in the store: video, sidecar, covers."""
        stem = safe_name(task_id)
        video = f"{stem}.mp4"
        covers = [f"{stem}-cover{ext}" for ext in _COVER_EXTS]
        return [video, sidecar_path(video).name, *covers]

    def cached(self, task_id: str) -> tuple[Path | None, Path | None]:
        """The complete files already cached for a task (``None`` where missing)."""
        video = self.video_path(task_id)
        cover = next(
            (p for ext in _COVER_EXTS if (p := self._inside(f"{safe_name(task_id)}-cover{ext}"))
             .is_file()),
            None,
        )  # fmt: skip
        return (video if video.is_file() else None), cover

    # -- fetching ------------------------------------------------------------------------
    def fetch(
        self,
        task: Task,
        client: TaskReader | None = None,
        *,
        on_refresh: Callable[[Task], object] | None = None,
        recipe: Mapping[str, Any] | None = None,
    ) -> tuple[Path, Path | None]:
        """Download a succeeded task's video and cover (skipped when already cached).

        ``client`` (a ``ViduClient``) is used to query the task again for fresh URLs when a URL
        has expired; ``on_refresh`` receives that fresh task (e.g. to update the log).
        ``recipe`` (how the task was made, see ``recipe.recipe_of``) is written into the video
        and its JSON sidecar, also into a video cached before without one.
        Returns ``(video_path, cover_path)``; the cover is ``None`` when the service gave none.
        """
        state = {"task": task}

        def refresh() -> Task:
            if client is None:
                raise DownloadError(task.id, "file", "the URL has expired and no client was given")
            fresh = client.get(task.id)
            state["task"] = fresh
            if on_refresh is not None:
                on_refresh(fresh)
            return fresh

        have_video, have_cover = self.from_shared(task.id)
        made: list[Path] = []  # what this call wrote from the service: the store gets it
        if have_video is None:
            if not task.video_url:
                task = refresh() if client is not None else task
                if not task.video_url:
                    raise DownloadError(task.id, "video", f"no video URL (state {task.state})")
            self._get(task.id, "video", lambda t: t.video_url, state, refresh)
            have_video = self.video_path(task.id)
            made.append(have_video)
        if recipe and not sidecar_path(have_video).is_file():
            label(have_video, recipe)
            made += [have_video, sidecar_path(have_video)]
        if have_cover is None and state["task"].cover_url:
            try:
                self._get(task.id, "cover", lambda t: t.cover_url, state, refresh)
                have_cover = self.cover_path(task.id, state["task"].cover_url)
                made.append(have_cover)
            except DownloadError as exc:  # a missing poster must not lose the video
                log.warning("%s", exc)
        if self.uploads is not None and made:
            self.uploads.add(dict.fromkeys(p.name for p in made if p.is_file()))
        return have_video, have_cover

    def from_shared(self, task_id: str) -> tuple[Path | None, Path | None]:
        """The task's cached files, after copying what is missing here from the shared store
        (``cached`` when there is none). A store that cannot be reached is logged and
        skipped: the caller goes to the service's URL."""
        video, cover = self.cached(task_id)
        if self.shared is None or video is not None:  # a missing cover alone: not worth a look
            return video, cover
        wanted = [n for n in self._names(task_id) if not (self.folder / n).is_file()]
        try:
            there = self.shared.sizes(wanted)
            if not there:
                return video, cover
            self.folder.mkdir(parents=True, exist_ok=True)
            video_name = self.video_path(task_id).name
            for name in sorted(there, key=lambda n: n == video_name):  # the video last
                self._copy_in(name, there[name])
        except StoreError as exc:
            log.info("task %s: not taken from the shared store: %s", task_id, exc)
        return self.cached(task_id)

    def _copy_in(self, name: str, size: int) -> None:
        """One file from the store into the folder, whole or not at all."""
        assert self.shared is not None
        target = self._inside(name)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{name}.", suffix=".part")
        os.close(fd)
        try:
            self.shared.get(name, tmp)
            if os.path.getsize(tmp) != size:
                raise StoreError(self.shared.url, f"download {name}", "the file came short")
            os.chmod(tmp, _file_mode())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def share_cached(self) -> int:
        """Owe the store every video, sidecar and cover of this folder (cached before the
        store was set, or by a kernel without it); the ones it holds with the same size are
        skipped when their turn comes. Returns how many files were queued."""
        if self.uploads is None or not self.folder.is_dir():
            return 0
        names = [
            p.name for p in sorted(self.folder.iterdir())
            if p.is_file() and not p.name.startswith(".")
            and (p.suffix == ".mp4" or "-cover." in p.name
                 or (p.suffix == ".json" and p.with_suffix(".mp4").is_file()))
        ]  # fmt: skip
        self.uploads.add(names)
        return len(names)

    def _get(
        self,
        task_id: str,
        what: str,
        url_of: Callable[[Task], str],
        state: dict[str, Task],
        refresh: Callable[[], Task],
    ) -> None:
        refreshed = 0
        attempt = 0
        while True:
            url = url_of(state["task"])
            target = self.video_path(task_id) if what == "video" else self.cover_path(task_id, url)
            try:
                self._stream(url, target)
                return
            except _Expired as exc:
                if refreshed >= 2:
                    raise DownloadError(task_id, what, f"URL still refused: {exc}", 403) from None
                refreshed += 1
                log.info(
                    "task %s: %s URL expired; querying the task for a fresh one", task_id, what
                )
                if not url_of(refresh()):
                    raise DownloadError(task_id, what, "the fresh task has no URL") from None
            except _Transient as exc:
                if attempt >= self.retries:
                    raise DownloadError(
                        task_id, what, f"{exc} (after {attempt + 1} tries)"
                    ) from None
                delay = min(10.0, self.backoff * 2**attempt) * random.uniform(0.8, 1.2)
                if exc.retry_after:
                    delay = max(delay, min(exc.retry_after, 60.0))
                log.info("task %s: %s download: %s; retry in %.2f s", task_id, what, exc, delay)
                time.sleep(delay)
                attempt += 1

    def _stream(self, url: str, target: Path) -> None:
        """One attempt: GET ``url`` into a temp file, check its size, rename into place."""
        if urlsplit(url).scheme not in ("http", "https"):
            raise DownloadError(target.stem, "file", f"refusing a non-http(s) URL {_public(url)}")
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            resp = self._session.get(
                url, stream=True, timeout=self.timeout, proxies=direct_if_loopback(url)
            )
        except requests.RequestException as exc:
            raise _Transient(f"{type(exc).__name__} from {_public(url)}") from None
        with resp:
            if resp.status_code in _EXPIRED:
                raise _Expired(f"HTTP {resp.status_code} from {_public(url)}")
            if resp.status_code == 429 or resp.status_code >= 500:
                after = resp.headers.get("Retry-After", "")
                retry_after = float(after) if after.replace(".", "", 1).isdigit() else None
                raise _Transient(f"HTTP {resp.status_code} from {_public(url)}", retry_after)
            if resp.status_code != 200:
                raise DownloadError(
                    target.stem, "file", f"HTTP {resp.status_code} from {_public(url)}",
                    resp.status_code,
                )  # fmt: skip
            expected = resp.headers.get("Content-Length")
            # Our own size check below is the guard, whatever the HTTP library does: a newer
            # urllib3 raises on a short body by itself, an older one (which requests still
            # allows) returns it as if complete. Reading with its check off makes ours the one
            # that runs on every version, with one clear message.
            if hasattr(resp.raw, "enforce_content_length"):
                resp.raw.enforce_content_length = False
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{target.name}.", suffix=".part")
            try:
                written = 0
                with os.fdopen(fd, "wb") as fh:
                    try:
                        for chunk in resp.iter_content(self.chunk_size):
                            fh.write(chunk)
                            written += len(chunk)
                    except requests.RequestException as exc:
                        raise _Transient(
                            f"got {written} of {expected or '?'} bytes from {_public(url)}"
                            f" ({type(exc).__name__})"
                        ) from None
                    fh.flush()
                    os.fsync(fh.fileno())
                # Content-Length counts the bytes sent, before any Content-Encoding is undone.
                received = getattr(resp.raw, "tell", lambda: written)()
                if expected is not None and expected.isdigit() and received != int(expected):
                    raise _Transient(
                        f"short body: got {received} of {expected} bytes from {_public(url)}"
                    )
                if written == 0:
                    raise _Transient(f"empty body from {_public(url)}")
                os.chmod(tmp, _file_mode())  # mkstemp made it 0600; the player/server reads it
                os.replace(tmp, target)
            except BaseException:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
                raise


def store_of(shared: VideoStore | str | os.PathLike[str] | bool | None) -> VideoStore | None:
    """The store a ``shared=`` argument means: ``None`` reads ``VIDU_VIDEO_STORE``."""
    if shared is None:
        return VideoStore.from_env()
    if shared is False:
        return None
    if isinstance(shared, VideoStore):
        return shared
    if isinstance(shared, (str, os.PathLike)):
        return VideoStore(shared)
    raise ValidationError("shared", shared, "must be a VideoStore, its URL, None or False")


def label(video: Path, recipe: Mapping[str, Any]) -> None:
    """Write ``recipe`` into a cached video and its sidecar. A file ffmpeg cannot remux (not an
    MP4) still gets the sidecar; a failure is logged, never raised: the video matters more."""
    try:
        if is_mp4(video):
            tag_video(video, recipe)
            return
    except RecipeError as exc:
        log.warning("%s", exc)
    except OSError as exc:
        log.warning("%s: cannot write its recipe: %s", video.name, exc)
    try:
        write_sidecar(video, recipe)
    except OSError as exc:
        log.warning("%s: cannot write its recipe: %s", video.name, exc)
