"""Judging from the views: what a grid cell or a card shows of a task's judgment, what a click
or a key sends to the task log, and promoting a picked task (estimate first, then submit).

The views stay thin: a grid's browser side sends ``{"type": "judge", "key": ..., "stars": 4}``
(or ``"pick"``, ``"note"``) and ``{"type": "promote", ...}``; the card's widgets call the same
functions. Everything here is checked before the log or the service is touched
(``ValidationError`` naming the field), so a hand-made message cannot corrupt the log.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..request.models import MODELS, lookup_model
from ..tracking.ledger import estimate as ledger_estimate
from ..tracking.promotion import Promotion, promote
from .rows import TaskView, judgment_text

if TYPE_CHECKING:
    from .session import Session

#: What a promotion may change from a view (other fields: ``SweepRun.promote`` in code).
CHANGES = ("resolution", "duration", "model")


def judgment_state(view: TaskView | Mapping[str, Any]) -> dict[str, Any]:
    """A task's judgment as a view shows it: ``stars`` 0-5 (0: none), ``pick`` True, False or
    None, ``note`` ("" for none) and ``text``, the judgment in words (``"4/5 picked"``)."""
    if not isinstance(view, TaskView):
        view = TaskView(dict(view))
    rating, pick, note = view.get("rating"), view.get("pick"), view.get("note")
    stars = int(rating) if isinstance(rating, (int, float)) and not isinstance(rating, bool) else 0
    return {
        "stars": stars,
        "pick": bool(pick) if pick is True or pick is False else None,
        "note": str(note or ""),
        "text": judgment_text(view),
    }


def rate_message(log: Any, task: Any, content: Mapping[str, Any]) -> dict[str, Any]:
    """Apply a judging message (``stars``: 0-5, 0 clears; ``pick``: true, false or null to
    clear; ``note``: text, "" clears) to ``task`` in ``log``; the judgment as it is now."""
    if not any(k in content for k in ("stars", "pick", "note")):
        raise ValidationError("judge", dict(content), "names none of stars, pick, note")
    stars, note = content.get("stars"), content.get("note")
    pick = content.get("pick")
    clear = ["pick"] if "pick" in content and pick is None else []
    judged = log.rate(task, stars=stars, pick=pick, note=note, clear=clear)
    return judgment_state({"rating": judged.rating, "pick": judged.pick, "note": judged.note})


def promote_choices(view: TaskView | Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes a Promote control offers for a task: its model's higher resolutions (at its
    duration), longer durations, then the other models of its family that can make it.
    Each is ``{"label": "1080p", "change": {"resolution": "1080p"}}``."""
    if not isinstance(view, TaskView):
        view = TaskView(dict(view))
    name = str(view.get("model") or "")
    spec = lookup_model(name, allow_unknown=True) if name else None
    if spec is None or not spec.known:
        return []
    duration = view.get("duration") or spec.default_duration
    resolution = view.get("resolution") or spec.default_resolution_for(duration)
    order = list(spec.resolutions)
    here = order.index(resolution) if resolution in order else -1
    out = [
        {"label": res, "change": {"resolution": res}}
        for res in spec.resolutions_for(duration)
        if res in order and order.index(res) > here
    ]
    out += [
        {"label": f"{d} s", "change": {"duration": d}}
        for d in spec.durations
        if d > duration and resolution in spec.resolutions_for(d)
    ]
    out += [
        {"label": other.name, "change": {"model": other.name}}
        for other in MODELS.values()
        if other.family == spec.family
        and other.name != spec.name
        and duration in other.durations
        and resolution in other.resolutions_for(duration)
    ]
    return out


def change_of(given: Any) -> dict[str, Any]:
    """The change a promote message asks for: only ``CHANGES``, a resolution or model as text,
    a duration as a whole number of seconds (the request checks the values against the model)."""
    if not isinstance(given, Mapping) or not given:
        raise ValidationError("change", given, f"must name one of {', '.join(CHANGES)}")
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key not in CHANGES:
            raise ValidationError("change", key, f"a promotion changes {', '.join(CHANGES)}")
        if key == "duration":
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value != int(value)
            ):
                raise ValidationError("duration", value, "must be a whole number of seconds")
            value = int(value)
        elif not isinstance(value, str) or not value.strip():
            raise ValidationError(key, value, "must be a name, e.g. '1080p' or 'viduq2-pro'")
        out[key] = value
    return out


def promote_task(
    session: Session,
    task: Any,
    *,
    confirm: bool = False,
    experiment: str | None = None,
    image: Any = None,
    **change: Any,
) -> Promotion:
    """The estimate of re-running ``task`` changed by ``change``; submitted (lineage: its
    ``parent_row_id``, tagged ``promoted``) only with ``confirm=True``, and then only when the
    balance, where the client can read it, covers the estimate."""
    if not isinstance(confirm, bool):
        raise ValidationError("confirm", confirm, "must be True or False")
    log = session.log
    request = promote(task, log, image=image, **change)
    parent = log.judgments.row_id(task)
    promotion = Promotion(request, parent, ledger_estimate(request, log))
    if not confirm:
        return promotion
    balance = session.balance  # read now (one request): a spend is checked against today's
    known = balance.fetch() if balance.offered else None
    if known is not None and promotion.credits > known.total:
        raise ValidationError(
            "confirm",
            confirm,
            f"this re-run would cost about {promotion.credits:,} credits, more than the "
            f"balance of {known.total:,} credits; add credits first",
        )
    handle = session.poller.submit(
        request, experiment=experiment, tags=("promoted",), parent=parent
    )
    return dataclasses.replace(promotion, handle=handle)


#: What a view calls to promote: ``(task, confirm=..., **change) -> Promotion``.
PromoteFn = Callable[..., Promotion]
