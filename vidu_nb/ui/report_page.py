"""The standalone report's HTML: a page built from plain data, every user-controlled text escaped.

``render(page)`` is pure (no files, no widgets): the writer (``reporting``) decides where each
video is (a relative link, or a ``data:`` URI) and gives the texts. The page carries its own
CSS and plain JavaScript (``report.css``, ``report.js``: one play/pause/seek/loop control for
every video, kept in step by ``currentTime``), and a Content-Security-Policy that allows only
that script (by its hash) and local media: the page never reaches the network, and markup that
slipped through escaping could not run.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rows import css_token, esc

_HERE = Path(__file__).parent
SCRIPT = (_HERE / "report.js").read_text(encoding="utf-8")
STYLE = (_HERE / "report.css").read_text(encoding="utf-8")


@dataclass
class Cell:
    """One task of the grid, as the page shows it (texts unescaped; ``render`` escapes)."""

    task_id: str
    state: str
    label: str = ""
    meta: str = ""
    note: str = ""
    video: str | None = None  # a relative URL or a data: URI
    poster: str | None = None
    sheet: str | None = None
    params: list[tuple[str, str]] = field(default_factory=list)
    recipe: dict[str, Any] = field(default_factory=dict)


@dataclass
class Page:
    """Everything the report shows; ``cells`` row-major as ``grid_layout.arrange`` lays them."""

    title: str
    subtitle: str
    cols: int
    cells: list[Cell | None]
    row_titles: list[str] = field(default_factory=list)
    col_titles: list[str] = field(default_factory=list)
    #: Prompt titles as segments ``[text, differs]`` (``grid_layout.title_parts``).
    title_parts: dict[str, Any] = field(default_factory=dict)
    totals_head: Sequence[str] = ()
    totals: Sequence[Sequence[str]] = ()
    notes: list[str] = field(default_factory=list)


def script_hash(text: str = SCRIPT) -> str:
    """The CSP source that allows exactly the report's script."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


#: Media and images from the report's own folder (a file: URL or the server it is on) or
#: embedded; nothing else is loaded, nothing is sent anywhere.
CSP = (
    "default-src 'none'; "
    "media-src 'self' file: data: blob:; img-src 'self' file: data:; "
    "style-src 'unsafe-inline'; script-src {script}; base-uri 'none'; form-action 'none'"
)


def render(page: Page) -> str:
    """The whole HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP.format(script=script_hash()))}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="vidu-nb">',
        f"<title>{esc(page.title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        '<header class="vr-head">',
        f"<h1>{esc(page.title)}</h1>",
        f'<p class="vr-sub">{esc(page.subtitle)}</p>',
        *(f'<p class="vr-note">{esc(n)}</p>' for n in page.notes),
        "</header>",
        _controls(page),
        _grid(page),
        _totals(page),
        _data(page),
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def _controls(page: Page) -> str:
    if not any(c is not None and c.video for c in page.cells):
        return '<p class="vr-note">No video to play in this selection.</p>'
    return (
        '<div class="vr-bar" role="group" aria-label="every video">'
        '<button type="button" class="vr-play" aria-pressed="false">Play all</button>'
        '<input type="range" class="vr-seek" min="0" max="1000" step="1" value="0" '
        'aria-label="position of every video">'
        '<span class="vr-time">0:00</span>'
        '<label class="vr-loop-label"><input type="checkbox" class="vr-loop" checked> loop</label>'
        '<button type="button" class="vr-mute" aria-pressed="true">Unmute</button>'
        "</div>"
    )


def _grid(page: Page) -> str:
    n = max(1, page.cols)
    heads = bool(page.row_titles)
    side = "minmax(80px, 200px) " if heads else ""
    style = f"grid-template-columns: {side}repeat({n}, minmax(180px, 1fr))"
    out = [f'<main class="vr-grid" style="{esc(style)}">']
    if page.col_titles:
        if heads:
            out.append('<div class="vr-corner"></div>')
        parts = page.title_parts.get("cols", [])
        out += [
            f'<div class="vr-colhead">{_title(t, parts[c] if c < len(parts) else None)}</div>'
            for c, t in enumerate(page.col_titles)
        ]
    rows = [page.cells[i : i + n] for i in range(0, len(page.cells), n)]
    for r, row in enumerate(rows):
        if heads and (page.row_titles[r] or r == 0):
            span = 1
            while r + span < len(page.row_titles) and not page.row_titles[r + span]:
                span += 1
            found = page.title_parts.get("rows", [])
            title = _title(page.row_titles[r], found[r] if r < len(found) else None)
            out.append(f'<div class="vr-rowhead" style="grid-row: span {span}">{title}</div>')
        out += [_cell(c, r * n + i) for i, c in enumerate(row)]
    out.append("</main>")
    return "\n".join(out)


def _title(text: str, parts: Any) -> str:
    """A header; a prompt's words that differ from the other titles' strong, the rest faded."""
    if not parts:
        return esc(text)
    return "".join(
        f'<span class="{"vr-diff" if differs else "vr-same"}">{esc(piece)}</span>'
        for piece, differs in parts
    )


def _cell(cell: Cell | None, index: int) -> str:
    if cell is None:
        return '<div class="vr-cell vr-empty" aria-hidden="true"></div>'
    out = [
        f'<figure class="vr-cell vr-state-{css_token(cell.state)}" id="cell-{index}" '
        f'data-task-id="{esc(cell.task_id)}">'
    ]
    if cell.label:
        out.append(f'<figcaption class="vr-label">{esc(cell.label)}</figcaption>')
    if cell.video:
        poster = f' poster="{esc(cell.poster)}"' if cell.poster else ""
        out.append(
            '<div class="vr-frame">'
            f'<video class="vr-video" src="{esc(cell.video)}"{poster} muted loop playsinline '
            'preload="auto" controls></video></div>'
        )
    else:
        out.append(
            f'<div class="vr-frame vr-novideo"><span>{esc(cell.note or cell.state)}</span></div>'
        )
    if cell.meta:
        out.append(f'<p class="vr-meta">{esc(cell.meta)}</p>')
    if cell.note and cell.video:
        out.append(f'<p class="vr-meta vr-warn">{esc(cell.note)}</p>')
    if cell.sheet:
        alt = f"frames of task {cell.task_id}"
        out.append(f'<img class="vr-sheet" src="{esc(cell.sheet)}" alt="{esc(alt)}">')
    if cell.params:
        rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in cell.params)
        out.append(
            '<details class="vr-params"><summary>Parameters</summary>'
            f"<table>{rows}</table></details>"
        )
    out.append("</figure>")
    return "\n".join(out)


def _totals(page: Page) -> str:
    if not page.totals:
        return ""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in page.totals_head)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in page.totals
    )
    return (
        '<section class="vr-totals"><h2>Totals</h2>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
    )


def _data(page: Page) -> str:
    """Every cell's recipe as JSON, for a program reading the report (never executed)."""
    tasks = [c.recipe | {"state": c.state} for c in page.cells if c is not None]
    return (
        '<script type="application/json" id="vidu-report-data">'
        f"{json_for_html({'tasks': tasks})}</script>"
    )


def json_for_html(value: Mapping[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` as ``\\u`` escapes, so
    no text in it can close the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    for ch, code in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, code)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
