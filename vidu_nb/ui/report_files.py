"""The report's files: each video copied with its recipe (downloaded first when it is not
cached), its cover and contact sheet, staged in a folder that becomes ``<name>_files/``, or is
embedded into the page, or zipped with it. Whole or not at all: the page, the folder and the
archive are written under temporary names and renamed into place.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import states
from ..client.task import Creation, Task
from ..errors import ValidationError, ViduError
from ..tracking.cache import DownloadError, VideoCache, safe_name, store_of
from ..tracking.recipe import RecipeError, recipe_of, tag_video, write_sidecar
from ..tracking.shared import MAX_EXPIRES, STORE_ENV, VideoStore
from ..tracking.stills import POSTER_MAX_BYTES, poster_jpeg, sheet_jpeg, video_strip
from .report_cells import meta
from .rows import TaskView
from .sources import source_of

_logger = logging.getLogger(__name__)

#: Above this many bytes of embedded media a report warns (browsers slow down, mail refuses).
EMBED_WARN_BYTES = 40 * 2**20
#: Written into a report's files folder: only a folder holding it is ever replaced.
MARKER = ".vidu-report"
_MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".jpg": "image/jpeg", ".png": "image/png"}
_MIME.update({".jpeg": "image/jpeg", ".webp": "image/webp"})
#: JPEG bytes a report's contact sheet may take (a page is not a saved notebook: sharper).
SHEET_BYTES = 48_000


class LargeReportWarning(UserWarning):
    """An embedded report is large: ``videos="copy"`` or ``"zip"`` keeps the page small."""


@dataclass
class Files:
    """One cell's files in the staging folder (``None`` where there is none)."""

    video: Path | None = None
    poster: Path | None = None
    sheet: Path | None = None
    note: str = ""
    source: Path | None = None  # the video copied (in the cache), for its stills


def gather(
    cells: Sequence[TaskView | None], texts: list[str], staging: Path, log: Any, client: Any
) -> list[Files | None]:
    """Copy (downloading when needed) each cell's video with its recipe, cover and sheet."""
    out: list[Files | None] = []
    used: set[str] = set()
    for view, text in zip(cells, texts, strict=True):
        if view is None:
            out.append(None)
            continue
        stem = safe_name(view.task_id or "task")
        while stem in used:
            stem += "-x"
        used.add(stem)
        found = _files_for(view, stem, staging, log, client)
        if found.source is not None:
            _stills(found, view, text, staging / stem)
        out.append(found)
    return out


def _files_for(view: TaskView, stem: str, staging: Path, log: Any, client: Any) -> Files:
    if not states.is_success(view.state):
        return Files()
    try:
        source = _local_video(view, staging, log, client)
    except (ViduError, OSError) as exc:
        warnings.warn(f"task {view.task_id}: no video for the report: {exc}", stacklevel=4)
        return Files(note="video unavailable")
    files = Files()
    recipe = recipe_of(view.row)
    target = staging / f"{stem}{source.suffix.lower() or '.mp4'}"
    try:
        tag_video(source, recipe, target)
    except RecipeError as exc:  # not an MP4: copied as it is, the sidecar says how it was made
        _logger.info("%s", exc)
        shutil.copyfile(source, target)
        write_sidecar(target, recipe)
    files.video, files.source = target, source
    cover = source_of(view).path("cover")
    if cover:
        files.poster = staging / f"{stem}-cover{Path(cover).suffix.lower() or '.jpg'}"
        shutil.copyfile(cover, files.poster)
    return files


def _stills(files: Files, view: TaskView, text: str, stem: Path) -> None:
    """The contact sheet (frames through the video, with its label and figures under them),
    and a poster frame when the service gave no cover. The frames are decoded once per video
    and kept beside it in the cache (``stills``), so a report written again is quick."""
    assert files.source is not None
    strip = video_strip(files.source)
    if strip is None:
        return
    files.sheet = stem.with_name(stem.name + "-sheet.jpg")
    files.sheet.write_bytes(sheet_jpeg(strip, [text or view.task_id, meta(view)], SHEET_BYTES))
    if files.poster is None:
        files.poster = stem.with_name(stem.name + "-poster.jpg")
        files.poster.write_bytes(poster_jpeg(strip, 4 * POSTER_MAX_BYTES))


def _local_video(view: TaskView, staging: Path, log: Any, client: Any) -> Path:
    """The task's video as a local file: the cached one, or downloaded now."""
    src = source_of(view)
    cached = src.path("video")
    if cached:
        return Path(cached)
    if not src.video_url and client is None:
        raise DownloadError(view.task_id, "video", "not cached and no URL")
    creation = Creation(url=src.video_url or "", cover_url=src.cover_url or "")
    task = Task(view.task_id, view.state, creations=(creation,))
    in_log = log is not None and log.get(view.task_id) is not None
    cache = VideoCache(log.cache_dir if in_log else staging / ".downloads")
    try:
        video, cover = cache.fetch(
            task, client, on_refresh=log.update if in_log else None, recipe=recipe_of(view.row)
        )
    finally:
        cache.close()
    if in_log:
        log.set_files(view.task_id, video, cover)
    view.row.update(video_path=str(video), cover_path=str(cover) if cover else None)
    return video


def signing_store(store: Any, expires: int) -> VideoStore:
    """The store a ``videos="store"`` report links into, checked before any work."""
    shared = store_of(store)
    if shared is None or not shared.can_sign:
        raise ValidationError(
            "videos", "store", "needs an s3:// video store that signs URLs (store= or "
            f"{STORE_ENV}); got {shared!r}",
        )  # fmt: skip
    if isinstance(expires, bool) or not isinstance(expires, int):
        raise ValidationError("expires", expires, "must be whole seconds")
    if not 1 <= expires <= MAX_EXPIRES:
        raise ValidationError("expires", expires, f"must be 1..{MAX_EXPIRES} seconds")
    return shared


def store_links(files: Sequence[Files | None], store: VideoStore, expires: int) -> dict[str, str]:
    """Each staged video's presigned URL in the store (uploaded first unless it is there
    with the same size), by the staged file's name."""
    urls = {}
    for found in files:
        if found is None or found.video is None or found.source is None:
            continue
        name = found.source.name
        store.put(found.source, name)
        urls[found.video.name] = store.signed_url(name, expires)
    return urls


def linker(folder: str, staging: Path, videos: str, urls: dict[str, str] | None = None) -> Any:
    """How the page refers to a staged file: a relative link, a data: URI, or (a video of a
    ``"store"`` report) its presigned URL in the store."""
    sizes = {"total": 0}

    def link(path: Path | None) -> str | None:
        if path is None:
            return None
        if urls and path.name in urls:
            return urls[path.name]
        if videos not in ("embed", "store"):
            return quote(f"{folder}/{path.name}")
        data = path.read_bytes()
        sizes["total"] += len(data)
        if sizes["total"] > EMBED_WARN_BYTES >= sizes["total"] - len(data):
            warnings.warn(
                f"the embedded report holds more than {EMBED_WARN_BYTES // 2**20} MB of media; "
                'browsers open it slowly: videos="copy" or "zip" keep the page small',
                LargeReportWarning,
                stacklevel=4,
            )
        mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
        return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

    return link


def write_text(path: Path, text: str) -> None:
    """The page, whole or not at all."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def place_folder(staging: Path, folder: Path) -> None:
    """Put the staged files where the page links them, replacing an earlier report's folder
    (one holding ``MARKER``) but never a folder of anything else."""
    if folder.exists() and not (folder / MARKER).is_file():
        raise ValidationError(
            "path",
            str(folder),
            "this folder exists and is not a report's: move it or rename the report",
        )
    (staging / MARKER).write_text("files of a vidu-nb report; rewritten with it\n")
    for leftover in staging.glob(".*"):
        if leftover.name != MARKER and leftover.is_dir():
            shutil.rmtree(leftover)
    os.chmod(staging, 0o755)
    old = None
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(staging, folder)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_zip(path: Path, html_name: str, text: str, folder: str, staging: Path) -> None:
    """The page and its files in one archive (videos stored, already compressed)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(html_name, text)
            for item in sorted(staging.iterdir()):
                if item.is_file():
                    packed = item.suffix.lower() in (".json", ".html")
                    zf.write(
                        item, f"{folder}/{item.name}",
                        compress_type=zipfile.ZIP_DEFLATED if packed else zipfile.ZIP_STORED,
                    )  # fmt: skip
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
