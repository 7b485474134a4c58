"""Promoting a winner: the same start image and seed again, at a higher resolution or longer.

A draft sweep is cheap (low resolution, short); the video worth keeping is then re-run at the
quality that costs more. ``promote`` builds that request from the task log's row: its options
as they were set, the seed the service actually used (a random seed is reported by the task),
and the start image. The log keeps the image itself for every local image (``images/<sha256>``
in its cache folder, written when the request was recorded) and the URL of a remote one; a task
the log only imported from the service, or tracked by id, has a fingerprint and nothing else:
then ``image=`` must be given (the thumbnail is too small to be a start frame).

The lineage is recorded when the request is submitted: ``poller.submit(request, parent=task)``
(or ``log.record_submission(..., parent=task)``) stores the row it re-runs as
``parent_row_id``; ``Promotion`` (``SweepRun.promote``) carries both and the estimate.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError
from ..request.spec import Img2VideoRequest

if TYPE_CHECKING:
    from .ledger import Estimate
    from .tasklog import TaskLog

#: Request fields a promotion does not carry over: the callback address belongs to the poller
#: that sends it (it sets its own when it uses callbacks).
NOT_CARRIED = ("callback_url",)
_FIELDS = {f.name for f in dataclasses.fields(Img2VideoRequest) if f.init} - {"image", "images"}


def promote(
    task: Any,
    log: TaskLog,
    *,
    image: Any = None,
    resolution: str | None = None,
    duration: int | None = None,
    model: str | None = None,
    **changes: Any,
) -> Img2VideoRequest:
    """The request that re-runs ``task`` (a task id, row id, log row or Task in ``log``) with
    the same start image and seed, changed by ``resolution``, ``duration``, ``model`` and any
    other request field in ``changes`` (checked as any request is: a resolution the model
    cannot make raises ``ValidationError``).

    Submit it with ``poller.submit(request, parent=task)`` so the log records where it came
    from (``parent_row_id``).
    """
    from .tasklog import TaskLog

    if not isinstance(log, TaskLog):
        raise ValidationError("log", log, "must be the TaskLog that holds the task")
    unknown = sorted(set(changes) - _FIELDS)
    if unknown:
        raise ValidationError(unknown[0], changes[unknown[0]], "is not a request field")
    row = log.judgments.row(task)
    options = {k: v for k, v in json.loads(row.get("options") or "{}").items() if k in _FIELDS}
    for name in NOT_CARRIED:
        options.pop(name, None)
    seed = row.get("seed") if row.get("seed") is not None else row.get("seed_requested")
    if seed is not None:
        options["seed"] = int(seed)
    given = {"resolution": resolution, "duration": duration, "model": model, **changes}
    options.update({k: v for k, v in given.items() if v is not None})
    return Img2VideoRequest(image=image if image is not None else start_image(row), **options)


def start_image(row: dict[str, Any]) -> str:
    """The start image the log kept for a row: its URL, or the kept file's path."""
    if row.get("image_url"):
        return str(row["image_url"])
    path = row.get("image_path")
    if path and Path(path).is_file():
        return str(path)
    name = row.get("task_id") or f"row {row.get('row_id')}"
    why = (
        f"the kept start image of {name} is gone ({path})"
        if path
        else f"the log kept no start image for {name} (only its fingerprint: imported from "
        "the service or tracked by id)"
    )
    raise ValidationError("image", None, f"{why}; give image= (the same start frame)")


@dataclass(frozen=True)
class Promotion:
    """A promoted re-run: the request, the row it re-runs, the estimate, and the submission
    handle once submitted (``None`` until then)."""

    request: Img2VideoRequest
    parent_row_id: int
    estimate: Estimate
    handle: str | None = None

    @property
    def credits(self) -> int:
        return int(self.estimate.credits)

    @property
    def submitted(self) -> bool:
        return self.handle is not None

    def __str__(self) -> str:
        r = self.request.resolved()
        what = f"{r['model']} {r['resolution']} {r['duration']} s, seed {self.request.seed}"
        cost = f"about {self.credits:,} credits ({self.estimate.source})"
        if self.submitted:
            return f"re-run of row {self.parent_row_id} ({what}), {cost}: submitted"
        return (
            f"re-run of row {self.parent_row_id} ({what}) would cost {cost}; "
            "not submitted: pass confirm=True"
        )
