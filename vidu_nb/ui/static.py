"""What a display object shows where its widget cannot run: contact sheets and a summary.

A widget's output is a MIME bundle. A front end whose widget manager holds the widget's model
renders the view part; everywhere else (nbconvert's HTML exporter, nbviewer and GitHub, which
drop the widget state; JupyterLab with a notebook it does not trust) the richest other part is
shown instead, and all of them rank ``text/html`` above ``image/*``: a separate image part
would be saved but never shown. So the contact sheets travel inside the HTML as ``<img>`` data
URIs (one copy per video, within the per-video budget) and ``text/plain`` says the same in
words. Everything user- or server-controlled is escaped.

Outputs are snapshots: a card or a sweep shown when it was submitted would be saved as it was
then. ``StillDisplay`` shows its widgets with a display id and rewrites those outputs when the
view settles, so the saved notebook holds the final sheets. A rewrite makes the front end draw
the widget anew (a text box being typed in loses the focus), so a view with inputs (the form)
only marks itself stale from events, and is rewritten after the next cell runs.
"""

from __future__ import annotations

import base64
import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import states
from ..tracking import stills
from .rows import TaskView, esc, fmt_seconds

log = logging.getLogger(__name__)

HTML = "text/html"
TEXT = "text/plain"
#: The output metadata that names an output as ours, its ``text/html`` a still: the pre-save
#: hook of the Jupyter servers (``cli/saved_stills.py``) splits only such outputs, so another
#: library's widget output with HTML of its own is saved as it came.
OWN = "vidu_nb"
OWN_STILL = {"still": True}
#: Contact sheets in one output at most: a grid of hundreds of videos would otherwise save
#: megabytes and decode every video when shown; the others are listed in words.
MAX_SHEETS = 48
#: A prompt in the summary is cut here (the whole one is in the task log): escaped, even a
#: prompt of quotes and brackets keeps a video's stills within their 20 KB.
PROMPT_CHARS = 200


@dataclass(frozen=True)
class Still:
    """One task's static view: a heading (the cell's label), its summary and, when a video or
    cover is on disk, the contact sheet and the poster frame (JPEG bytes)."""

    heading: str
    state: str
    prompt: str
    settings: str
    sheet: bytes | None = None
    poster: bytes | None = None
    error: str = ""
    #: The heading as segments ``(text, strong)`` when its titles are prompts that differ in
    #: some words (``prompt_diff``): the words the prompts share are not strong (faded).
    heading_parts: tuple[tuple[str, bool], ...] = ()


def settings_line(view: TaskView) -> str:
    """Model, duration, resolution, seed, credits, generation time: what a sheet is labelled."""
    parts = [
        view.get("model", ""),
        f"{view.get('duration')} s" if view.get("duration") else "",
        view.get("resolution", ""),
        view.seed_text() if view.get("seed") is not None else "",
        view.credits_text(),
    ]
    seconds = view.generation_seconds()
    if seconds is not None:
        parts.append(f"generated in {fmt_seconds(seconds)}")
    return " \u00b7 ".join(str(p) for p in parts if p)


def still_of(
    view: TaskView,
    heading: str = "",
    *,
    pictures: bool = True,
    parts: Sequence[tuple[str, bool]] = (),
) -> Still:
    """The still of one task: frames from its cached video (else its cover), and its labels
    (the labels alone with ``pictures=False``); ``parts``: the heading's diff segments."""
    if parts:
        return replace(still_of(view, heading, pictures=pictures), heading_parts=tuple(parts))
    heading = heading or view.task_id or "task"
    prompt = " ".join(str(view.get("prompt", "")).split())
    error = ""
    if states.is_failed(view.state):
        error = f"{view.get('err_code', '')} {view.get('error', '')}".strip()
    settings = settings_line(view)
    strip = None
    if pictures and view.get("video_path"):
        strip = stills.video_strip(view.get("video_path"))
    if strip is None and pictures and view.get("cover_path"):
        strip = stills.image_strip(view.get("cover_path"))
    if strip is None:
        return Still(heading, view.state, prompt, settings, error=error)
    quoted = f"\u201c{prompt}\u201d" if prompt else ""
    lines = [f"{heading} \u00b7 {view.state}", quoted, settings]
    sheet = stills.sheet_jpeg(strip, lines)
    return Still(heading, view.state, prompt, settings, sheet, stills.poster_jpeg(strip), error)


def stills_for(
    views: Sequence[TaskView | None],
    headings: Sequence[str],
    parts: Sequence[Sequence[tuple[str, bool]]] | None = None,
) -> list[Still | None]:
    """Stills of many tasks (``None`` for an empty grid cell), pictures for the first
    ``MAX_SHEETS``; missing strips are decoded on a few threads at once (each is an ffmpeg
    process), so a grid waits for the slowest, not for all one after another."""
    from concurrent.futures import ThreadPoolExecutor

    present = [v for v in views if v is not None][:MAX_SHEETS]
    paths = [v.get("video_path") for v in present if v.get("video_path")]
    missing = [p for p in paths if stills.cached_strip(p) is None]
    if len(missing) > 1:
        with ThreadPoolExecutor(min(4, len(missing))) as pool:
            list(pool.map(stills.video_strip, missing))
    with_pictures = {id(v) for v in present}
    segments = parts if parts is not None else [()] * len(views)
    return [
        still_of(v, h, pictures=id(v) in with_pictures, parts=p) if v is not None else None
        for v, h, p in zip(views, headings, segments, strict=True)
    ]


def data_uri(data: bytes, mime: str = "image/jpeg") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _cut(text: str, limit: int = PROMPT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def sheet_img(still: Still | None) -> str:
    """The contact sheet as an ``<img>`` (empty when there is none)."""
    if still is None or not still.sheet:
        return ""
    alt = f"frames of {still.heading}"
    return (
        f'<img class="vidu-still-sheet" src="{data_uri(still.sheet)}" alt="{esc(alt)}" '
        'style="max-width:100%;height:auto;display:block">'
    )


def still_html(still: Still) -> str:
    """One task: heading and state, the sheet, prompt and settings (escaped, one line)."""
    parts = [f"<div>{heading_html(still)} \u00b7 {esc(still.state)}</div>", sheet_img(still)]
    if still.prompt:
        parts.append(f"<div><i>\u201c{esc(_cut(still.prompt))}\u201d</i></div>")
    parts.append(f'<div style="color:#555">{esc(still.settings)}</div>')
    if still.error:
        parts.append(f'<div style="color:#c62828">failed: {esc(still.error)}</div>')
    return '<div class="vidu-still" style="margin:6px 0">' + "".join(parts) + "</div>"


def heading_html(still: Still) -> str:
    """The heading in bold; where its prompts differ, the differing words stay bold and the
    words they share are faded (every segment escaped)."""
    if not still.heading_parts:
        return f"<b>{esc(still.heading)}</b>"
    runs: list[list[Any]] = []
    for text, strong in still.heading_parts:
        if runs and runs[-1][1] == strong:
            runs[-1][0] += text
        else:
            runs.append([text, strong])
    return "".join(
        f"<b class='vidu-diff'>{esc(text)}</b>"
        if strong
        else f"<span class='vidu-same' style='color:#888'>{esc(text)}</span>"
        for text, strong in runs
    )


def still_text(still: Still) -> str:
    bits = [still.heading, still.state]
    if still.prompt:
        bits.append(f"\u201c{_cut(still.prompt, 80)}\u201d")
    bits.append(still.settings)
    if still.error:
        bits.append(f"failed: {still.error}")
    return "- " + " \u00b7 ".join(b for b in bits if b)


def stills_html(items: Sequence[Still | None], *, head: str = "", note: str = "") -> str:
    """Several tasks one under another (each sheet is a row of frames already). ``head`` is
    HTML the caller escaped; ``note`` is text."""
    blocks = [head] if head else []
    if note:
        blocks.append(f"<div><i>{esc(note)}</i></div>")
    count = sum(s is not None for s in items)
    if count > MAX_SHEETS:
        blocks.append(f"<div><i>{esc(more_note(count))}</i></div>")
    blocks += [still_html(s) for s in items if s is not None]
    return '<div class="vidu-stills">\n' + "\n".join(blocks) + "\n</div>"


def more_note(count: int) -> str:
    return f"Contact sheets of the first {MAX_SHEETS} of {count} videos; the rest in words."


def stills_text(title: str, items: Sequence[Still | None], *, note: str = "") -> str:
    lines = [title, *([note] if note else [])]
    lines += [still_text(s) for s in items if s is not None]
    return "\n".join(lines)


def with_still(bundle: Any, html: str, text: str) -> Any:
    """A widget's bundle (``data`` or ``(data, metadata)``) with the static parts added, as
    ``(data, metadata)``, the metadata marking the output as one of ours (``OWN``)."""
    if not bundle:
        return bundle  # a closed widget has nothing to show
    data, meta = bundle if isinstance(bundle, tuple) else (bundle, None)
    return {**data, HTML: html, TEXT: text}, {**(meta or {}), OWN: dict(OWN_STILL)}


class StillDisplay:
    """A widget whose output carries a still (``still_parts()``: HTML and text) beside its view.

    Shown through ``_ipython_display_``, with a display id: ``refresh_still()`` rewrites the
    outputs already shown, so a view that settles later (a card, a sweep) is saved settled.
    """

    def still_parts(self) -> tuple[str, str]:
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        return with_still(bundle, *self.still_parts())

    def _bundle(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The output's data and metadata; ``None`` once closed (ipywidgets then sets the
        instance's ``_repr_mimebundle_`` to ``None``)."""
        method = self._repr_mimebundle_
        bundle = method() if callable(method) else None
        if not bundle:
            return None
        return bundle if isinstance(bundle, tuple) else (bundle, {})

    def _ipython_display_(self) -> None:
        from IPython.display import display

        bundle = self._bundle()
        if bundle is None:  # closed: what IPython shows for any object
            display({TEXT: repr(self)}, raw=True)
            return
        data, meta = bundle
        handle = display(data, metadata=meta or {}, raw=True, display_id=True)
        if handle is not None:
            self.__dict__.setdefault("_still_handles", []).append(handle)

    def refresh_still(self) -> bool:
        """Rewrite the outputs showing this widget with its current still (``False``: none)."""
        handles = self.__dict__.get("_still_handles")
        if not handles:
            return False
        bundle = self._bundle()
        if bundle is None:
            return False
        data, meta = bundle
        for handle in handles:
            handle.update(data, metadata=meta or {}, raw=True)
        return True

    def still_changed(self) -> None:
        """The still changed (the view settled): rewrite the outputs now; from a background
        thread also once more after the next cell runs, since a notebook runner (nbclient)
        keeps only messages it can attribute to the cell it is running."""
        if self.refresh_still() and threading.current_thread() is not threading.main_thread():
            mark_stale(self)


_STALE: weakref.WeakSet[StillDisplay] = weakref.WeakSet()
_STALE_LOCK = threading.Lock()
_HOOKED: list[Any] = []


def mark_stale(view: StillDisplay) -> None:
    """Rewrite ``view``'s outputs after the next cell runs (on the kernel's own thread)."""
    if not view.__dict__.get("_still_handles") or not _hook():
        return
    with _STALE_LOCK:
        _STALE.add(view)


def _hook() -> bool:
    """Flush stale stills after every cell (IPython's ``post_run_cell``); False outside one."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    if shell is None:
        return False
    if shell not in _HOOKED:
        shell.events.register("post_run_cell", flush_stale)
        _HOOKED.append(shell)
    return True


def flush_stale(*_args: Any) -> None:
    with _STALE_LOCK:
        views = list(_STALE)
        _STALE.clear()
    for view in views:
        try:
            view.refresh_still()
        except Exception as exc:  # a still must never break the user's cell
            log.warning("cannot rewrite a saved still: %s", exc)
