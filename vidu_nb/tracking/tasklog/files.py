"""The files kept with the task log: start images and thumbnails, and a request's row values.

The API key is never among the values: a request is stored as its parameters and an image
fingerprint (sha256, format, size), plus a small thumbnail file in the cache folder and, for a
local start image, the image itself (so a ``queued`` request can be sent after a restart).
Paths are stored relative to the log's folder when inside it, so a log and its cache can move.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .rows import request_values
from .users import current_user

if TYPE_CHECKING:
    from ...request.spec import Img2VideoRequest
    from .store import Store


class ImageFiles(NamedTuple):
    """A start image's fingerprint and the files kept for it (paths relative to the log)."""

    image: Any  # the StartImage, kept alive while its id() keys a batch's memo
    sha256: str
    thumbnail_path: str | None
    image_path: str | None


class Files:
    """The files of one task log's cache folder that rows refer to (``writes``, ``unsent``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def rel(self, path: str | os.PathLike[str] | None) -> str | None:
        """A path as stored: relative to the log's folder when inside it, so logs can move."""
        if path is None:
            return None
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self._store.path.parent.resolve()))
        except ValueError:
            return str(p)

    def request_values(
        self,
        request: Img2VideoRequest,
        experiment: str | None,
        tags: Iterable[str],
        notes: str,
        base_url: str | None,
        files: dict[int, ImageFiles] | None = None,
    ) -> dict[str, Any]:
        """The row values of a request; ``files`` remembers the image files already kept in
        this batch (by image object), so each distinct image is hashed and stored once."""
        img = request.start_image
        kept = None if files is None else files.get(id(img))
        if kept is None:
            sha = img.sha256
            kept = ImageFiles(img, sha, self._thumbnail(img, sha), self._keep_image(img, sha))
            if files is not None:
                files[id(img)] = kept  # ``kept`` holds ``img``, so its id stays unique
        values = request_values(
            request,
            experiment=experiment,
            tags=tags,
            notes=notes,
            base_url=base_url,
            thumbnail_path=kept.thumbnail_path,
            image_sha256=kept.sha256,
        )
        values["image_path"] = kept.image_path
        values["submitted_by"] = current_user()  # who asked; a row sent later keeps it
        return values

    def _thumbnail(self, img: Any, sha256: str) -> str | None:
        """Write the image's thumbnail once per distinct image (named by its sha256)."""
        try:
            target = self._cache_file("thumbs", f"{sha256}.jpg", img.thumbnail)
            return None if target is None else self.rel(target)
        except OSError:
            return None  # a thumbnail is a convenience; never lose the record over it

    def _keep_image(self, img: Any, sha256: str) -> str | None:
        """Keep a local start image as ``images/<sha256>.<format>`` (once per distinct image),
        so the request can be rebuilt and sent after a restart; a URL is in ``image_url``."""
        if img.data is None:
            return None
        target = self._cache_file("images", f"{sha256}.{img.format}", lambda: img.data)
        return None if target is None else self.rel(target)

    def _cache_file(self, kind: str, name: str, data: Any) -> Path | None:
        """``<cache>/<kind>/<name>``, written atomically with ``data()`` unless it exists."""
        folder = self._store.cache_dir / kind
        target = folder / name
        if not target.exists():
            content = data()
            if content is None:
                return None
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / f".{name}.{os.getpid()}.{threading.get_ident()}.tmp"
            tmp.write_bytes(content)
            os.replace(tmp, target)
        return target
