"""What a task card says, as HTML and text: header, steps, settings, error, and the card as
it stands where no widget runs. Pure functions of a ``TaskView`` and the time; everything that
came from the user or the service is escaped here, so the widget (``card``) only places it.
"""

from __future__ import annotations

from .. import states
from .rows import STEPS, TaskView, css_token, esc, fmt_seconds, judgment_text
from .static import sheet_img, still_of

_STEP_NAMES = STEPS[1:4]  # created, queueing, processing
#: States a task has in our log before the service gave it an id (any other state without an
#: id, including ones a later release adds, reads "no task id").
_LOCAL = {states.QUEUED: "waiting to be sent", states.SUBMITTING: "being sent"}


def bar_style(state: str) -> str:
    """The progress bar's colour: any state, including ones the service adds later, has one."""
    if states.is_success(state):
        return "success"
    if states.is_failed(state):
        return "danger"
    return "warning" if states.is_cancelled(state) else "info"


def step_names(state: str, done: bool, reached: int) -> list[str]:
    """The step names a card shows: created > queueing > processing > done. A waiting or
    working state the service names otherwise (``scheduled``, ``preparation``, a new one) is
    shown in the place of the step it stands for, as the service spelled it."""
    names = [*_STEP_NAMES, state if done else "done"]
    if not done and states.is_open(state) and state not in _STEP_NAMES and 1 <= reached <= 3:
        names[reached - 1] = state
    return names


def card_html(view: TaskView, now: float) -> dict[str, str]:
    """The card's HTML parts for a task; everything from the user or server is escaped."""
    state = view.state
    elapsed = fmt_seconds(view.elapsed_seconds(now))
    name = view.task_id or _LOCAL.get(states.norm(state), "no task id")
    header = (
        f"<b>{esc(name)}</b> "
        f"<span class='vidu-card-badge vidu-card-badge-{css_token(state)}'>{esc(state)}</span> "
        f"<span class='vidu-card-elapsed'>{esc(elapsed)}</span>"
    )
    reached, _total = view.progress()
    names = step_names(state, view.done, reached)
    steps = " \u203a ".join(
        f"<b>{esc(name)}</b>"
        if (i == len(names) - 1 and view.done) or (i < len(names) - 1 and i + 1 <= reached)
        else f"<span class='vidu-card-todo'>{esc(name)}</span>"
        for i, name in enumerate(names)
    )
    settings = [
        view.get("model", ""),
        f"{view.get('duration')} s" if view.get("duration") else "",
        view.get("resolution", ""),
        view.credits_text(),
        view.seed_text(),
    ]
    if view.get("off_peak"):
        settings.append("off-peak")
    settings.append(judgment_text(view))
    details = esc(" \u00b7 ".join(s for s in settings if s))
    prompt = view.get("prompt")
    if prompt:
        short = prompt if len(prompt) <= 200 else prompt[:199] + "\u2026"
        details += f"<br><i>{esc(short)}</i>"
    error = ""
    if states.is_failed(state) or states.norm(state) == states.UNCERTAIN or view.get("error"):
        code = view.get("err_code", "")
        message = view.get("error", "")
        error = (
            f"<span class='vidu-card-error-text'>{esc(state)}: <b>{esc(code)}</b> "
            f"{esc(message)}</span>"
        )
    return {"header": header, "steps": steps, "details": details, "error": error}


def card_still_html(view: TaskView, now: float) -> str:
    """The card where no widget runs: its header, steps, details and error as they are now,
    and the video's contact sheet once it succeeded (all escaped by ``card_html``)."""
    parts = card_html(view, now)
    still = still_of(view) if states.is_success(view.state) else None
    body = "<br>".join(parts[k] for k in ("header", "steps", "details") if parts[k])
    if parts["error"]:
        body += "<br>" + parts["error"]
    return (
        '<div class="vidu-card-still" style="border:1px solid #ddd;border-radius:4px;'
        f'padding:6px 8px;margin:6px 0;max-width:820px">{body}{sheet_img(still)}</div>'
    )


def card_still_text(view: TaskView) -> str:
    name = view.task_id or _LOCAL.get(states.norm(view.state), "no task id")
    lines = [f"TaskCard({name}: {view.state})"]
    if view.get("prompt"):
        lines.append(f"\u201c{' '.join(str(view.get('prompt')).split())[:200]}\u201d")
    error = f"{view.get('err_code', '')} {view.get('error', '')}".strip()
    if error:
        lines.append(error)
    return "\n".join(lines)
