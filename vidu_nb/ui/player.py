"""``VideoGrid``: one anywidget that plays, pauses and seeks all its videos together.

Video bytes never enter widget state (so never the saved notebook): when the video is cached
on the kernel's disk, or its URL is loopback (unreachable from a browser elsewhere, as on
Binder), or its URL is too old to trust, the browser asks for it with a custom message and the
kernel answers with the bytes as a binary buffer, which becomes a blob URL. Otherwise the
browser loads the remote URL itself, and asks the kernel when that fails. An expired URL is
refreshed through the client (see ``sources``), so players outlive their URLs.
"""

from __future__ import annotations

import functools
import logging
import threading
from pathlib import Path
from typing import Any

import anywidget
import requests
import traitlets as t

from .. import states
from ..tracking.measures import MeasureError, probe
from .grid_judge import GridJudge
from .minify import minify_css, minify_js
from .rows import TaskView, css_token, fmt_seconds, is_loopback, labels
from .shared import shared_layout
from .sources import URL_MAX_AGE, Expired, Refresher, Source, download, source_of
from .static import Still, StillDisplay, data_uri, stills_html, stills_text

_log = logging.getLogger(__name__)
_HERE = Path(__file__).parent
_MIME = {".mp4": "video/mp4", ".webm": "video/webm", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_MIME.update({".png": "image/png", ".webp": "image/webp"})

__all__ = [
    "PlayerCode",
    "Source",
    "VideoGrid",
    "entries_for",
    "frame_rate",
    "meta_lines",
    "player_code",
    "source_of",
]


#: What each grid carries in its own state: a loader that borrows ``render`` from the shared
#: ``PlayerCode`` widget through anywidget's widget references (``host.getWidget``).
LOADER = (
    "export default{async render(c){"
    'return(await c.host.getWidget(c.model.get("code"))).exports.render(c)}}'
)


class PlayerCode(anywidget.AnyWidget):
    """The players' front-end code (``player.js`` and ``player.css``), held by one hidden widget
    per kernel that every grid references (see ``player_code``).

    Widget state is saved with the notebook once per widget model: code in each grid's own
    ``_esm`` was saved once per player (4.8 KB each even packed). Here it is saved once per
    notebook; each grid's ``_esm`` is the ~120-byte ``LOADER``. Reopened with its widget state,
    the notebook restores this model too, so its players draw without a kernel.
    """

    _esm = minify_js((_HERE / "player.js").read_text(encoding="utf-8"))
    _css = minify_css((_HERE / "player.css").read_text(encoding="utf-8"))


_CODE: list[PlayerCode] = []


def player_code() -> PlayerCode:
    """The one ``PlayerCode`` of this kernel (a new one after ``Widget.close_all``)."""
    if not _CODE or _CODE[0].comm is None:
        _CODE[:] = [PlayerCode(layout=shared_layout())]
    return _CODE[0]


class VideoGrid(StillDisplay, anywidget.AnyWidget):
    """A grid of looping players with one shared play/pause/seek control; videos load lazily.

    Videos of different lengths: the control's timeline is the longest video's (the slider and
    clock follow it). Seeking to time ``t`` puts every video at ``t``, and a shorter one at
    ``t`` modulo its own length, where its loop would be; while playing, each video loops on
    its own, and videos as long as the longest are kept in step with it.

    For review, each item carries its video's frame rate (``frame_rate``): the browser steps
    frames at it and keeps every playing video within a frame of the longest (see
    ``player.js``). Rate, loop range, solo and per-cell mute live in the browser only, so they
    cost the saved notebook nothing.

    Give ``client`` (and ``log``) so players can refresh expired URLs; they stay kernel-side.

    Its output also carries each video's contact sheet and labels (see ``static``), shown where
    no widget can run; each player's poster is a frame of that sheet, so a grid redrawn from
    saved widget state without a kernel shows a picture, not a black box.
    """

    _esm = LOADER
    #: The shared ``PlayerCode`` whose module draws this grid (a widget reference).
    code = anywidget.WidgetTrait().tag(sync=True)

    #: The shared ``WipeCode`` whose ``render`` draws the A/B comparison of two cells picked in
    #: the browser (a widget reference; only in a grid of two cells or more, see ``PAIRS``).
    wipe_code = anywidget.WidgetTrait().tag(sync=True)
    #: The two cells (indexes in reading order, A then B) whose A/B comparison is open in the
    #: browser, ``[]`` when none: set by the front end, read here (the comparison itself needs
    #: no kernel).
    wiped = t.List(t.Int()).tag(sync=True)
    #: Whether two cells picked in the browser open an A/B comparison (not in a wipe, not in a
    #: duel: they draw their players otherwise).
    PAIRS = True

    items = t.List(t.Dict()).tag(sync=True)
    cols = t.Int(3).tag(sync=True)
    playing = t.Bool(False).tag(sync=True)
    muted = t.Bool(True).tag(sync=True)
    loop = t.Bool(True).tag(sync=True)
    controls = t.Bool(False).tag(sync=True)
    #: Header per grid row ("" continues the row above) and per column; empty: no header.
    row_titles = t.List(t.Unicode()).tag(sync=True)
    col_titles = t.List(t.Unicode()).tag(sync=True)
    #: A line shown above the players (says why when there are none).
    note = t.Unicode("").tag(sync=True)
    #: Poster frames by item key (JPEG data URIs from the stills): in the widget state, so a
    #: grid drawn from a saved notebook without a kernel shows them. Apart from ``items``: set
    #: later (``set_stills``), they change the posters without rebuilding the players.
    posters = t.Dict(t.Unicode()).tag(sync=True)
    #: Each judged cell's stars, pick, note and their words, by item key (``judging``): the
    #: cells listed here show the judging bar; a click or a key changes it in place (no item
    #: is rebuilt, so no video reloads).
    judgments = t.Dict(t.Dict()).tag(sync=True)
    #: The changes each cell's Promote control offers (``judging.promote_choices``), by key:
    #: only in a grid that can submit (``promoter``).
    choices = t.Dict(t.List(t.Dict())).tag(sync=True)
    #: What became of a cell's promotion ("re-run at 1080p: processing"), by key.
    promoted = t.Dict(t.Unicode()).tag(sync=True)
    #: Row and column titles as segments ``[text, differs]`` where they are prompts that
    #: differ in some words (``prompt_diff``): ``{"rows": [...], "cols": [...]}``.
    title_parts = t.Dict().tag(sync=True)
    # Widget features a grid does not use, kept out of its state (saved once per grid); the
    # front end's defaults for them are these same ``None``s.
    tabbable = t.Bool(None, allow_none=True)
    tooltip = t.Unicode(None, allow_none=True)
    _view_count = t.Int(None, allow_none=True)

    def __init__(
        self, *, client: Any = None, log: Any = None, cache: Any = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("layout", shared_layout())  # saved once for all grids, not per grid
        if "code" not in kwargs:  # not setdefault: that would make a PlayerCode a wipe never uses
            kwargs["code"] = player_code()
        super().__init__(**kwargs)
        self._sources: dict[str, Source] = {}
        self._stills: list[Still | None] = []
        self._keys: list[str] = []
        self.refresher = Refresher(client, log, cache)
        self.url_max_age = URL_MAX_AGE
        self.judge = GridJudge(self)
        self.on_msg(self._on_msg)

    def __repr__(self) -> str:  # also the saved notebook's text for the output
        n = len(self.items)
        return f"VideoGrid({n} player{'s' * (n != 1)})"

    def get_state(self, key: Any = None, drop_defaults: bool = False) -> dict[str, Any]:
        """The state, where a grid that cannot pick a pair (one cell) leaves out the A/B
        traits: what every such grid saved would be ``"wipe_code": null, "wiped": []``; the
        front end reads a missing ``wipe_code`` as none."""
        state: dict[str, Any] = super().get_state(key, drop_defaults)
        if key is None and state.get("wipe_code") is None and not state.get("wiped"):
            state.pop("wipe_code", None)
            state.pop("wiped", None)
        return state

    def wipe(self, i: int, j: int, *, mode: str = "wipe", split: float = 0.5) -> Any:
        """An A/B comparison (``Wipe``) of cells ``i`` (A) and ``j`` (B), counted in reading
        order from 0: a draggable divider, side by side, or their difference, on one clock.
        It reuses this grid's sources, client and log (see ``wipe.from_grid``)."""
        from .wipe import from_grid

        return from_grid(self, i, j, mode=mode, split=split)

    def set_players(
        self,
        entries: list[tuple[dict[str, Any], Source]],
        still_list: list[Still | None] | None = None,
    ) -> None:
        """Replace the players: each entry is the browser-side item and its kernel-side source;
        ``still_list`` (one per entry, ``None`` for none) gives the sheets and posters."""
        self._sources = {item["key"]: src for item, src in entries}
        self._keys = [item["key"] for item, _src in entries]
        with self.hold_sync():
            if self.PAIRS and len(entries) >= 2 and self.wipe_code is None:
                from .wipe import wipe_code  # wipe.py builds on this module

                self.wipe_code = wipe_code()
            self.wiped = []
            self.items = [self._public(item, src) for item, src in entries]
            self.set_stills(still_list if still_list is not None else [None] * len(entries))

    def set_stills(self, still_list: list[Still | None]) -> None:
        """The players' stills (one per player): the sheets for the output, the posters."""
        self._stills = list(still_list)
        self.posters = {
            key: data_uri(still.poster)
            for key, still in zip(self._keys, self._stills, strict=True)
            if still is not None and still.poster
        }

    def still_parts(self) -> tuple[str, str]:
        return stills_html(self._stills, note=self.note), stills_text(
            repr(self), self._stills, note=self.note
        )

    def _public(self, item: dict[str, Any], src: Source) -> dict[str, Any]:
        """The browser-side item: the kernel serves local files, loopback and stale URLs."""
        stale = src.stale(self.url_max_age) and self.refresher.can_refresh
        shared = bool(src.task_id) and self.refresher.shares  # the store, through the kernel
        out = dict(item)
        for what, name in (("video", "video"), ("poster", "poster")):
            url = src.url(what)
            via_kernel = bool(src.path(what)) or is_loopback(url) or (stale and bool(url))
            via_kernel = via_kernel or (shared and bool(url))
            out[f"{name}_local"] = via_kernel
            out[f"{name}_url"] = "" if via_kernel else (url or "")
        return out

    # -- kernel side of the byte transfer ----------------------------------------------------
    def _on_msg(self, _widget: Any, content: dict[str, Any], _buffers: list[Any]) -> None:
        if not isinstance(content, dict):
            return
        if content.get("type") == "fetch":
            retry = bool(content.get("retry"))
            self.answer_fetch(str(content.get("key")), str(content.get("what")), retry=retry)
        elif content.get("type") in ("judge", "promote"):
            self.judge.on_msg(content)

    def answer_fetch(self, key: str, what: str, *, retry: bool = False) -> None:
        """Send one video or poster; anything needing the network runs off the kernel thread.

        ``retry`` means the browser could not load the remote URL it was given.
        """
        src = self._sources.get(key)
        if src is None or what not in ("video", "poster"):
            return
        path = src.path(what)
        if path:
            self._send_blob(key, what, Path(path).read_bytes(), _mime(path, what))
        elif src.url(what) or src.task_id:
            args = (key, what, retry)
            threading.Thread(target=self._resolve_and_send, args=args, daemon=True).start()
        else:
            self.send({"type": "missing", "key": key, "what": what})

    def resolve(self, key: str, what: str, *, retry: bool = False) -> tuple[Any, str] | None:
        """What to give the browser: ``(bytes, mime)``, ``(url, "url")``, or ``None`` (gone).

        Tries the cached file, then the shared store (into the cache), then the URL unless it
        is stale or already failed, then a fresh query of the task (which also caches the files
        when a log or cache is known).
        """
        src = self._sources.get(key)
        if src is None:
            return None
        path = src.path(what)
        if path:
            return Path(path).read_bytes(), _mime(path, what)
        with self.refresher.lock_for(src.task_id):
            current = self._sources.get(key, src)
            stored = current if current.path(what) else self.refresher.from_store(current)
        if stored is not None and (path := stored.path(what)):
            self._sources[key] = src = stored
            return Path(path).read_bytes(), _mime(path, what)
        url = src.url(what)
        fresh_enough = not retry and not src.stale(self.url_max_age)
        if url and fresh_enough:
            try:
                data, mime = download(url)
                return data, mime or _mime(url, what)
            except Expired:
                pass
            except requests.RequestException:
                return None
        if not self.refresher.can_refresh:
            return None
        with self.refresher.lock_for(src.task_id):
            current = self._sources.get(key, src)
            if current is src:  # nobody refreshed it while we waited for the lock
                try:
                    fresh = self.refresher.refresh(src)
                except Exception as exc:  # an API error: the player shows "unavailable"
                    _log.warning("task %s: cannot refresh its URLs: %s", src.task_id, exc)
                    return None
                if fresh is None:
                    return None
                self._sources[key] = current = fresh
        path, url = current.path(what), current.url(what)
        if path:
            return Path(path).read_bytes(), _mime(path, what)
        if url and not is_loopback(url):
            return url, "url"
        if url:
            try:
                data, mime = download(url)
            except (Expired, requests.RequestException):
                return None
            return data, mime or _mime(url, what)
        return None

    def read_source(self, key: str, what: str) -> bytes | None:
        """The bytes the browser would receive from the cached file (for tests and tools)."""
        src = self._sources.get(key)
        path = src.path(what) if src is not None else None
        return Path(path).read_bytes() if path else None

    def _resolve_and_send(self, key: str, what: str, retry: bool) -> None:
        answer = self.resolve(key, what, retry=retry)
        if answer is None:
            self.send({"type": "missing", "key": key, "what": what})
        elif answer[1] == "url":
            self.send({"type": "url", "key": key, "what": what, "url": answer[0]})
        else:
            self._send_blob(key, what, answer[0], answer[1])

    def _send_blob(self, key: str, what: str, data: bytes, mime: str) -> None:
        self.send({"type": "blob", "key": key, "what": what, "mime": mime}, buffers=[data])


def _mime(name: str, what: str) -> str:
    suffix = Path(name.split("?", 1)[0]).suffix.lower()
    return _MIME.get(suffix, "video/mp4" if what == "video" else "image/jpeg")


def meta_lines(view: TaskView) -> list[str]:
    """Credits, generation time and state under each player, and the video's measures once
    measured (plain text, set via textContent)."""
    parts = [
        view.state,
        view.credits_text(),
        f"generated in {fmt_seconds(view.generation_seconds())}",
    ]
    if view.get("seed") is not None:
        parts.append(view.seed_text())
    lines = [" \u00b7 ".join(parts)]
    if measured := view.measures_text():
        lines.append(measured)
    if states.is_failed(view.state):
        lines.append(f"failed: {view.get('err_code', '')} {view.get('error', '')}".strip())
    return lines


#: The frame rate a player steps by when the video's is unknown (not measured, not cached here).
DEFAULT_FPS = 24.0


def frame_rate(view: TaskView, video_path: str | None = None) -> float:
    """The video's frames per second, for frame steps and drift correction in the browser: the
    measured one in the log (``video_fps``), else the header of its cached file
    (``video_path``), else ``DEFAULT_FPS``."""
    measured = view.get("video_fps")
    if isinstance(measured, (int, float)) and measured > 0:
        return float(measured)
    if video_path:
        try:
            stat = Path(video_path).stat()
        except OSError:
            return DEFAULT_FPS
        fps = _probed_fps(video_path, stat.st_mtime_ns, stat.st_size)
        if fps > 0:
            return fps
    return DEFAULT_FPS


@functools.lru_cache(maxsize=4096)
def _probed_fps(path: str, _mtime_ns: int, _size: int) -> float:
    """The file's frame rate from its header (0 when it is not a video); ~10 ms of ffmpeg, so
    remembered per file version: a grid drawn again does not probe its videos again."""
    try:
        return probe(path).fps
    except MeasureError:
        return 0.0


def entries_for(
    views: list[TaskView], label_text: list[str] | None = None, *, meta: bool = True
) -> list[tuple[dict[str, Any], Source]]:
    if label_text is None:
        _keys, label_text = labels(views)
    out = []
    for i, (view, label) in enumerate(zip(views, label_text, strict=True)):
        key = f"{i}:{view.task_id}"
        state = css_token(view.state)  # a CSS class suffix in the browser
        src = source_of(view)
        item = {
            "key": key,
            "label": label,
            "meta": meta_lines(view) if meta else [],
            "state": state,
            "fps": frame_rate(view, src.path("video")),
        }
        out.append((item, src))
    return out
