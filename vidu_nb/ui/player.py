"""``VideoGrid``: one anywidget that plays, pauses and seeks all its videos together.

Video bytes never enter widget state (so never the saved notebook): when the video is cached
on the kernel's disk, or its URL is loopback (unreachable from a browser elsewhere, as on
Binder), the browser asks for it with a custom message and the kernel answers with the bytes as
a binary buffer, which becomes a blob URL. Otherwise the browser loads the remote URL itself.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from .rows import TaskView, fmt_seconds, is_loopback, labels

_HERE = Path(__file__).parent
_MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_MIME.update({".png": "image/png", ".webp": "image/webp"})


@dataclass(frozen=True)
class Source:
    """Where one player's video and poster come from (kept on the kernel side only)."""

    video_path: str | None = None
    video_url: str | None = None
    cover_path: str | None = None
    cover_url: str | None = None


class VideoGrid(anywidget.AnyWidget):
    """A grid of looping players with one shared play/pause/seek control; videos load lazily."""

    _esm = (_HERE / "player.js").read_text(encoding="utf-8")
    _css = (_HERE / "player.css").read_text(encoding="utf-8")

    items = t.List(t.Dict()).tag(sync=True)
    cols = t.Int(3).tag(sync=True)
    playing = t.Bool(False).tag(sync=True)
    muted = t.Bool(True).tag(sync=True)
    loop = t.Bool(True).tag(sync=True)
    controls = t.Bool(False).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._sources: dict[str, Source] = {}
        self.add_class("vidu-grid")
        self.on_msg(self._on_msg)

    def set_players(self, entries: list[tuple[dict[str, Any], Source]]) -> None:
        """Replace the players: each entry is the browser-side item and its kernel-side source."""
        self._sources = {item["key"]: src for item, src in entries}
        self.items = [_public(item, src) for item, src in entries]

    # -- kernel side of the byte transfer ----------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        if isinstance(content, dict) and content.get("type") == "fetch":
            self.answer_fetch(str(content.get("key")), str(content.get("what")))

    def answer_fetch(self, key: str, what: str) -> None:
        """Send one video or poster as a binary buffer; remote fetches run off the kernel thread."""
        src = self._sources.get(key)
        if src is None or what not in ("video", "poster"):
            return
        path = src.video_path if what == "video" else src.cover_path
        url = src.video_url if what == "video" else src.cover_url
        if path and Path(path).is_file():
            self._send_blob(key, what, Path(path).read_bytes(), _mime(path, what))
        elif url:
            threading.Thread(target=self._fetch_url, args=(key, what, url), daemon=True).start()

    def read_source(self, key: str, what: str) -> bytes | None:
        """The bytes the browser would receive for a player (for tests and tools)."""
        src = self._sources.get(key)
        if src is None:
            return None
        path = src.video_path if what == "video" else src.cover_path
        return Path(path).read_bytes() if path and Path(path).is_file() else None

    def _fetch_url(self, key: str, what: str, url: str) -> None:
        import requests

        try:
            resp = requests.get(url, timeout=30)
            resp.raise_for_status()
        except requests.RequestException:
            self.send({"type": "missing", "key": key, "what": what})
            return
        mime = resp.headers.get("Content-Type") or _mime(url, what)
        self._send_blob(key, what, resp.content, mime)

    def _send_blob(self, key: str, what: str, data: bytes, mime: str) -> None:
        self.send({"type": "blob", "key": key, "what": what, "mime": mime}, buffers=[data])


def _mime(name: str, what: str) -> str:
    suffix = Path(name.split("?", 1)[0]).suffix.lower()
    return _MIME.get(suffix, "video/mp4" if what == "video" else "image/jpeg")


def _public(item: dict[str, Any], src: Source) -> dict[str, Any]:
    """The browser-side item: the kernel serves local files and loopback URLs itself."""
    video_local = bool(src.video_path and Path(src.video_path).is_file())
    poster_local = bool(src.cover_path and Path(src.cover_path).is_file())
    out = dict(item)
    out["video_local"] = video_local or is_loopback(src.video_url)
    out["video_url"] = "" if out["video_local"] else (src.video_url or "")
    out["poster_local"] = poster_local or is_loopback(src.cover_url)
    out["poster_url"] = "" if out["poster_local"] else (src.cover_url or "")
    return out


def source_of(view: TaskView) -> Source:
    if view.state != "success":
        return Source()
    return Source(
        video_path=view.get("video_path"),
        video_url=view.get("video_url"),
        cover_path=view.get("cover_path"),
        cover_url=view.get("cover_url"),
    )


def meta_lines(view: TaskView) -> list[str]:
    """Credits, generation time and state under each player (plain text, set via textContent)."""
    parts = [
        view.state,
        view.credits_text(),
        f"generated in {fmt_seconds(view.generation_seconds())}",
    ]
    if view.get("seed") is not None:
        parts.append(view.seed_text())
    lines = [" \u00b7 ".join(parts)]
    if view.state == "failed":
        lines.append(f"failed: {view.get('err_code', '')} {view.get('error', '')}".strip())
    return lines


def entries_for(
    views: list[TaskView], label_text: list[str] | None = None
) -> list[tuple[dict[str, Any], Source]]:
    if label_text is None:
        _keys, label_text = labels(views)
    out = []
    for i, (view, label) in enumerate(zip(views, label_text, strict=True)):
        key = f"{i}:{view.task_id}"
        item = {"key": key, "label": label, "meta": meta_lines(view), "state": view.state}
        out.append((item, source_of(view)))
    return out
