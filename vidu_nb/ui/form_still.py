"""The form where no widget runs: the request it holds, as an escaped table, and its tasks.

A form reopened without a kernel cannot submit anything, so its still is a record: the
request the form held when the output was last written (at display and after each submit),
what was missing, and the tasks it submitted with their contact sheets.
"""

from __future__ import annotations

from typing import Any

from .rows import esc
from .session import estimate
from .static import still_of, stills_html, stills_text

#: Fields shown first, in this order; any other field the request sets follows.
_SHOWN = ("image", "prompt", "model", "duration", "resolution", "seed")
#: A long value (a data: URL, a payload) is cut in the table.
_VALUE_CHARS = 160


def _cut(text: str, limit: int = _VALUE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def request_rows(state: Any) -> list[tuple[str, str]]:
    """(field, value) pairs of the form's request, defaults said as such."""
    spec = state.spec
    duration = state.effective_duration
    if state.image_data:
        image = f"{state.image_name or 'upload'} ({len(state.image_data) / 1024:,.0f} KB)"
    else:
        image = state.image_url.strip() or "none chosen"
    rows = [
        ("image", image),
        ("prompt", state.prompt or "\u2014"),
        ("model", state.model),
        ("duration", f"{duration} s" + (" (default)" if state.duration is None else "")),
        (
            "resolution",
            state.resolution or f"{spec.default_resolution_for(duration)} (default)",
        ),
        ("seed", str(state.seed) if state.seed_mode == "fixed" else "random"),
    ]
    rows += [(k, str(v)) for k, v in state.kwargs().items() if k not in _SHOWN]
    return rows


def form_still(form: Any) -> tuple[str, str]:
    """HTML and text: the request table, the estimate or what to fix, the submitted tasks."""
    state = form.state
    rows = request_rows(state)
    result = state.build()
    if result.ok:
        credits, source = estimate(result.request, form.session.log_if_open)
        status = f"\u2248 {credits:,} credits ({source})"
    else:
        status = "to submit, fix: " + "; ".join(f"{k}: {v}" for k, v in result.errors.items())
    cells = "".join(
        f'<tr><th style="text-align:right;padding-right:8px">{esc(name)}</th>'
        f'<td style="text-align:left">{esc(_cut(value))}</td></tr>'
        for name, value in rows
    )
    tasks = [still_of(card.view) for card in form.cards]
    head = (
        "<div><b>Image-to-video request</b> <i>(a saved form: run its cell to use it)</i></div>"
        f'<table class="vidu-form-still">{cells}</table><div>{esc(status)}</div>'
    )
    if tasks:
        head += f"<div><b>Submitted ({len(tasks)})</b></div>"
    text_rows = [f"{name}: {_cut(value, 80)}" for name, value in rows]
    text = stills_text("\n".join(["Img2VideoForm", *text_rows, status]), tasks)
    return stills_html(tasks, head=head), text
