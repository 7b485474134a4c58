"""``wipe``: two videos over each other with a draggable divider, side by side, or as their
per-pixel difference, on one clock.

A ``Wipe`` is a ``VideoGrid`` of two players (A and B) drawn by another front-end module: it
keeps the grid's kernel side as it is (local files sent as binary buffers that become blob
URLs, never saved; loopback and stale URLs fetched by the kernel; expired URLs refreshed
through the client) and its stills (contact sheets in the output, posters in the state). Its
code (``wipe.js``, ``wipe.css``) is held by one hidden ``WipeCode`` widget per kernel, saved
once per notebook like the players' ``PlayerCode``; each wipe's own ``_esm`` is the loader.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from .. import states
from ..errors import ValidationError
from .grid_layout import client_of, views_of
from .minify import minify_css, minify_js
from .player import VideoGrid, entries_for
from .rows import TaskView, esc, labels
from .shared import shared_layout
from .sources import Source
from .static import Still, stills_for, stills_html, stills_text

__all__ = ["MODES", "Wipe", "WipeCode", "wipe", "wipe_code"]

_HERE = Path(__file__).parent

#: The views: A over B split by the divider, the two side by side, and ``|A - B|`` per pixel.
MODES = ("wipe", "side", "difference")
#: What ``wipe`` takes for ``a`` and ``b``, for the message that refuses anything else.
TAKES = (
    "one task: a Task, a task id or submission handle recorded in log=, a log row (dict or "
    "a row of log.df), or the path of a video file"
)
#: Item keys of the two players (the front end finds A and B by them).
KEYS = ("a", "b")


class WipeCode(anywidget.AnyWidget):
    """The wipe's front-end code, held by one hidden widget per kernel that every wipe
    references (see ``wipe_code``), and every grid of two cells or more (its A/B picks draw
    with it): saved once per notebook, not once per wipe, without comments or indentation as
    the players' code (every notebook with a grid pays for it)."""

    _esm = minify_js((_HERE / "wipe.js").read_text(encoding="utf-8"))
    _css = minify_css((_HERE / "wipe.css").read_text(encoding="utf-8"))


_CODE: list[WipeCode] = []


def wipe_code() -> WipeCode:
    """The one ``WipeCode`` of this kernel (a new one after ``Widget.close_all``)."""
    if not _CODE or _CODE[0].comm is None:
        _CODE[:] = [WipeCode(layout=shared_layout())]
    return _CODE[0]


class Wipe(VideoGrid):
    """Two players, A and B, compared in one frame: ``mode="wipe"`` shows A left of a
    draggable divider and B right of it (``split`` is the divider's place, 0..1, also moved
    with the arrow keys), ``"side"`` the two side by side, ``"difference"`` ``|A - B|`` per
    pixel, drawn for every frame. One control plays, pauses and seeks both; B follows A's
    clock (a shorter B at A's time modulo its length, as in a grid).

    Made by ``wipe(a, b)`` or ``grid.wipe(i, j)``; ``items`` holds A then B. Two cells picked
    in a grid's browser side are drawn by the same ``render`` in the grid's own output.
    """

    mode = t.Unicode("wipe").tag(sync=True)
    split = t.Float(0.5).tag(sync=True)
    # The grid's layout and judging traits mean nothing here (wipe.js draws none of them):
    # kept out of the state (saved per wipe).
    cols = t.Int(2)
    controls = t.Bool(False)
    row_titles = t.List(t.Unicode())
    col_titles = t.List(t.Unicode())
    note = t.Unicode("")
    judgments = t.Dict(t.Dict())
    choices = t.Dict(t.List(t.Dict()))
    promoted = t.Dict(t.Unicode())
    title_parts = t.Dict()
    # No A/B picking of cells (its front end draws none): no reference to the wipe's code.
    wipe_code = anywidget.WidgetTrait()
    wiped = t.List(t.Int())
    PAIRS = False

    #: What the front end reads of each item; the rest (state, meta lines, posters' sources:
    #: the posters come from the stills) would only cost the saved notebook.
    ITEM_KEYS = ("key", "label", "video_local", "video_url")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("code", wipe_code())
        super().__init__(**kwargs)

    def _public(self, item: dict[str, Any], src: Source) -> dict[str, Any]:
        out = super()._public(item, src)
        return {k: out[k] for k in self.ITEM_KEYS}

    @t.validate("mode")
    def _check_mode(self, proposal: dict[str, Any]) -> str:
        return check_mode(proposal["value"])

    @t.validate("split")
    def _check_split(self, proposal: dict[str, Any]) -> float:
        return check_split(proposal["value"])

    def __repr__(self) -> str:  # also the first line of the saved notebook's text output
        names = []
        for key in KEYS:
            src = self._sources.get(key)
            path = src.video_path if src is not None else None
            names.append((src.task_id if src is not None else "") or Path(path or "").name)
        return f"Wipe(A: {names[0]}, B: {names[1]})"

    def labels(self) -> list[str]:
        """A's and B's labels, as shown above the videos."""
        return [str(i.get("label", "")) for i in self.items] + [""] * (2 - len(self.items))

    def still_parts(self) -> tuple[str, str]:
        a, b = self.labels()
        head = f"<div><b>A/B comparison</b> \u00b7 A: {esc(a)} \u00b7 B: {esc(b)}</div>"
        text = f"{self!r}\nA: {a}\nB: {b}"
        return stills_html(self._stills, head=head), stills_text(text, self._stills)


def check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValidationError("mode", mode, f"must be one of {', '.join(MODES)}")
    return str(mode)


def check_split(split: Any) -> float:
    ok = isinstance(split, (int, float)) and not isinstance(split, bool) and 0 <= split <= 1
    if not ok:
        raise ValidationError("split", split, "must be a number from 0 (all B) to 1 (all A)")
    return float(split)


def wipe(
    a: Any,
    b: Any,
    *,
    log: Any = None,
    client: Any = None,
    mode: str = "wipe",
    split: float = 0.5,
    labels: tuple[str, str] | None = None,
) -> Wipe:
    """Compare two videos, A and B, in one frame on one clock (see ``Wipe``).

    ``a`` and ``b`` are each one task (a ``Task``, a task id or handle that ``log`` holds, a
    log row: a dict or a row of ``log.df``) or the path of a video file; the two may be the
    same (its difference is black). A task must have finished with a video. ``labels``
    replaces the default ones (what varies between the two tasks; a file's name).
    ``client`` (default: the one the tasks are bound to) lets the players refresh expired
    URLs; ``log`` receives the fresh URLs and the cached files.

    Anything else raises ``ValidationError`` naming ``a``, ``b``, ``mode``, ``split`` or
    ``labels``, before any file is read or request sent.
    """
    mode, split = check_mode(mode), check_split(split)
    names = check_labels(labels)
    view_a, view_b = view_for("a", a, log), view_for("b", b, log)
    widget = Wipe(client=client or client_of([a, b]), log=log, mode=mode, split=split)
    views = [view_a, view_b]
    text = names or default_labels(views)
    entries = entries_for(views, text, meta=False)
    keyed = [({**item, "key": key}, src) for key, (item, src) in zip(KEYS, entries, strict=True)]
    widget.set_players(keyed, stills_for(views, text))
    return widget


def from_grid(grid: VideoGrid, i: Any, j: Any, *, mode: str = "wipe", split: float = 0.5) -> Wipe:
    """A wipe of two of ``grid``'s cells (indexes in reading order): their sources as the
    grid knows them (URLs it refreshed included), its client and log, labels and stills."""
    mode, split = check_mode(mode), check_split(split)
    picked = [_cell(grid, "i", i), _cell(grid, "j", j)]
    if picked[0] == picked[1]:
        raise ValidationError("j", j, "must be another cell than i (a wipe compares two)")
    keys = grid._keys
    refresher = grid.refresher
    widget = Wipe(
        client=refresher.client, log=refresher.log, cache=refresher.cache, mode=mode, split=split
    )
    entries: list[tuple[dict[str, Any], Source]] = []
    still_list: list[Still | None] = []
    for key, index in zip(KEYS, picked, strict=True):
        src = grid._sources[keys[index]]
        still = grid._stills[index] if index < len(grid._stills) else None
        # The still's heading names the cell with its row and column headers, if any.
        label = (still.heading if still else "") or grid.items[index]["label"] or src.task_id
        entries.append(({"key": key, "label": label}, src))
        still_list.append(still)
    widget.set_players(entries, still_list)
    return widget


def _cell(grid: VideoGrid, name: str, index: Any) -> int:
    n = len(grid.items)
    if isinstance(index, bool) or not isinstance(index, int) or not -n <= index < n:
        limit = f"must be a cell index from 0 to {n - 1}" if n else "the grid has no cells"
        raise ValidationError(name, index, limit)
    index %= n
    src = grid._sources.get(grid._keys[index])
    if src is None or not (src.path("video") or src.url("video")):  # unfinished, failed, empty
        state = grid.items[index].get("state", "")
        what = "an empty cell" if state == "empty" else f"a task in state {state!r}"
        raise ValidationError(name, index, f"has no video to compare ({what})")
    return index


def check_labels(names: Any) -> list[str] | None:
    if names is None:
        return None
    ok = isinstance(names, (list, tuple)) and len(names) == 2
    if not ok or not all(isinstance(n, str) for n in names):
        raise ValidationError("labels", names, "must be two texts: (label of A, label of B)")
    return list(names)


def default_labels(views: list[TaskView]) -> list[str]:
    """What varies between the two tasks (their judgments too); a file by its name; the task
    ids (or file paths) when that names both the same."""
    tasks = [v for v in views if not v.row.get("file_name")]
    text = iter(labels(tasks)[1])
    out = [str(v.row.get("file_name") or next(text)) for v in views]
    if out[0] == out[1]:
        out = [v.task_id or str(v.get("video_path")) for v in views]
    return out


def view_for(name: str, value: Any, log: Any) -> TaskView:
    """The one task (or video file) ``value`` stands for, refused by ``name`` unless it has a
    video to show."""
    if isinstance(value, os.PathLike) or (isinstance(value, str) and _not_in_log(value, log)):
        return _file_view(name, value, log)
    if isinstance(value, (list, tuple, set)) or (hasattr(value, "iterrows") and len(value) != 1):
        raise ValidationError(name, value, f"must be {TAKES}")
    try:
        found = views_of(value, log)
    except ValidationError as exc:
        raise ValidationError(name, value, f"must be {TAKES}") from exc
    if len(found) != 1:
        raise ValidationError(name, value, f"must be {TAKES}")
    view = found[0]
    _absolute_paths(view, log)
    if not states.is_success(view.state):
        raise ValidationError(
            name,
            view.task_id or value,
            f"has no video to compare: its state is {view.state!r} (a task must have succeeded)",
        )
    return view


def _not_in_log(text: str, log: Any) -> bool:
    return log is None or not (log.get(text) or log.get_by_ref(text))


def _file_view(name: str, value: Any, log: Any) -> TaskView:
    path = Path(value).expanduser()
    if not path.is_file():
        if isinstance(value, str) and not {os.sep, "."} & set(value):
            where = "in log=" if log is not None else "(give log= to look task ids up)"
            raise ValidationError(name, value, f"is no task id {where} and no video file")
        raise ValidationError(name, str(value), "no such video file")
    return TaskView(
        {"task_id": "", "state": states.SUCCESS, "video_path": str(path), "file_name": path.name}
    )


def _absolute_paths(view: TaskView, log: Any) -> None:
    """A row of ``log.df`` names its files relative to the log's folder (as ``views_of``
    resolves them for a whole DataFrame)."""
    base = Path(log.path).parent if log is not None else Path.cwd()
    for col in ("video_path", "cover_path"):
        path = view.get(col)
        if path and not Path(path).is_absolute():
            view.row[col] = str(base / path)
