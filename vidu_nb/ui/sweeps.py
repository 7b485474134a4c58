"""Running a sweep: confirm above a credit threshold, submit through the poller, follow, compare.

``run_sweep(plan, ...)`` submits every request of a ``SweepPlan`` tagged as one experiment and
returns a ``SweepRun`` (a progress bar widget that knows its tasks); ``run.compare()`` shows
the synchronized grid, laid out by the swept parameters. The form's section that builds a plan
from text boxes is ``form_sweep.SweepPanel``.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import states
from ..errors import ValidationError, ViduError
from ..request.spec import Img2VideoRequest
from ..request.sweep import (
    CONFIRM_CREDITS,
    SWEEP_FIELDS,
    SweepPlan,
    needs_confirmation,
)
from ..tracking.promotion import Promotion
from .card import card_for
from .compare import compare
from .judging import promote_task
from .live import hub_for, task_id_of, view_of
from .rows import TaskView, esc, labels, settled, state_words, words_order
from .session import Session, estimate
from .shared import hbox, html, make, shared_layout, vbox
from .static import StillDisplay, stills_for, stills_html, stills_text

if TYPE_CHECKING:
    from ..tracking.poller import Submission
    from ..workspace import Workspace


def plan_credits(plan: SweepPlan, log: Any = None) -> int:
    return int(plan.total_credits(lambda r: estimate(r, log)[0]))


class SweepRun(StillDisplay, w.VBox):
    """The submitted tasks of one sweep, with a progress bar kept current by poller events.

    Its output carries the progress and every finished video's contact sheet for places where
    no widget runs, rewritten once the sweep is done (see ``StillDisplay``).
    """

    def __init__(
        self, plan: SweepPlan, session: Session, experiment: str, *, grid: bool = True
    ) -> None:
        self.plan = plan
        self.show_grid = grid
        self.session = session
        self.experiment = experiment
        self.handles: list[Submission] = []
        self.bar = make(w.IntProgress, min=0, max=len(plan), description="Sweep")
        self.bar.add_class("vidu-sweep-progress")
        self.text = html()
        self.grid_box = vbox()
        #: Re-runs submitted with ``promote`` (their live cards are in ``promoted_box``).
        self.promotions: list[Promotion] = []
        self.promoted_box = vbox()
        self._done = threading.Event()
        self._compared = False
        self._settled = False
        super().__init__(
            [hbox([self.bar, self.text]), self.grid_box, self.promoted_box],
            layout=shared_layout(),
        )
        self.add_class("vidu-sweep")

    @property
    def task_ids(self) -> list[str | None]:
        """``None`` for a submission still waiting in the local queue."""
        return [task_id_of(h, self.session) for h in self.handles]

    def task_views(self) -> list[TaskView]:
        return [view_of(h, self.session) for h in self.handles]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for view in self.task_views():
            out[view.state] = out.get(view.state, 0) + 1
        return out

    @property
    def done(self) -> bool:
        views = self.task_views()
        return len(views) == len(self.plan) and all(v.done for v in views)

    def update(self, _event: Any = None) -> None:
        """Redraw the progress (called from the poller's thread); show the grid when done."""
        counts = self.counts()
        finished = sum(n for s, n in counts.items() if settled(s))  # as ``done`` counts them
        self.bar.value = finished
        self.bar.bar_style = "success" if finished == len(self.plan) else "info"
        by_words: dict[str, list[Any]] = {}  # two spellings of a state count as one
        for s, n in sorted(counts.items(), key=lambda kv: words_order(kv[0])):
            by_words.setdefault(state_words(s), [0, []])
            by_words[state_words(s)][0] += n
            by_words[state_words(s)][1].append(s)
        parts = ", ".join(  # the raw states on hover
            f"<span title='{esc(', '.join(raw))}'>{n} {esc(words)}</span>"
            for words, (n, raw) in by_words.items()
        )
        text = f"{finished}/{len(self.plan)} finished ({parts})"
        paused = getattr(self.session.poller_if_open, "paused_reason", None)
        if paused and counts.get(states.QUEUED):
            text += (
                "<br><span class='vidu-warning'>sending paused: the balance cannot pay for "
                "the next task (add credits, then poller.resume_sending())</span>"
            )
        self.text.value = text
        if finished == len(self.plan):
            self._done.set()
            if self.show_grid and not self._compared:
                self._compared = True
                self.grid_box.children = (self.compare(),)
            # A task's end comes before its video is downloaded: the still is rewritten at the
            # end and once more when every video is in (its sheet is drawn from the file).
            filed = self._videos_in()
            if not self._settled or filed:
                self.still_changed()
            self._settled = True
            if filed:
                hub_for(self.session).remove_listener(self.update)  # nothing more to redraw

    def _videos_in(self) -> bool:
        """Whether every successful task's video is in the cache (what its sheet is drawn from)."""
        return all(v.get("video_path") or v.state != states.SUCCESS for v in self.task_views())

    def still_parts(self) -> tuple[str, str]:
        views = self.task_views()
        _keys, text = labels(views)
        items = stills_for(views, text)
        done = sum(1 for v in views if v.done)
        summary = f"{done}/{len(self.plan)} finished"
        head = f"<div><b>Sweep {esc(self.experiment)}</b>: {self.text.value}</div>"
        title = f"SweepRun({self.experiment}: {summary})"
        return stills_html(items, head=head), stills_text(title, items)

    def wait(self, timeout: float = 600.0) -> SweepRun:
        """Block until every task finished (for scripts and tests; notebooks need not wait)."""
        deadline = time.monotonic() + timeout
        while not self.done:
            if time.monotonic() > deadline:
                raise ViduError(f"sweep {self.experiment} not finished after {timeout:g} s")
            time.sleep(0.1)
        self.update()
        return self

    def compare(
        self,
        rows: str | None = None,
        cols: str | int | None = None,
        *,
        where: str | None = None,
        **order: Any,
    ) -> Any:
        """The synchronized grid of this sweep, rows x cols by the first two swept parameters,
        in the plan's order (``order="sorted"``, ``row_order=[...]``, ``col_order=[...]``: see
        ``compare``); ``where`` keeps the rows matching a pandas query (``"rating >= 4"``)."""
        varying = self.plan.varying
        if rows is None and cols is None and varying:
            rows = varying[0]
            cols = varying[1] if len(varying) > 1 else None
        session = self.session
        return compare(
            self, rows, cols, where=where, log=session.log, client=session.client,
            session=session, promote=self.promote, **order,
        )  # fmt: skip

    def promote(
        self,
        task: Any,
        *,
        confirm: bool = False,
        image: Any = None,
        resolution: str | None = None,
        duration: int | None = None,
        model: str | None = None,
        **changes: Any,
    ) -> Promotion:
        """Re-run a task of this sweep (its id, handle, row id or row) with the same image and
        seed, changed as given (``resolution="1080p"``): the estimate first. Nothing is sent
        unless ``confirm=True``; then, if the client can read the balance and it does not
        cover the estimate, ``ValidationError`` naming ``confirm``; else it is submitted
        through the poller, in this sweep's experiment, tagged ``promoted``, its
        ``parent_row_id`` the task it re-runs, and shown as a live card under the sweep."""
        promotion = promote_task(
            self.session, task, confirm=confirm, experiment=self.experiment, image=image,
            resolution=resolution, duration=duration, model=model, **changes,
        )  # fmt: skip
        if promotion.handle is not None:
            self.promotions.append(promotion)
            card = card_for(promotion.handle, self.session)
            self.promoted_box.children = (*self.promoted_box.children, card)
        return promotion


def default_experiment(now: datetime | None = None) -> str:
    """``sweep-YYYYmmdd-HHMMSS-xxxxxx``: sortable by time, and two sweeps started in the same
    second (two kernels, or a loop) still get an experiment each (the suffix is random)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return f"sweep-{stamp}-{secrets.token_hex(3)}"


def as_plan(plan: SweepPlan | Iterable[Img2VideoRequest]) -> SweepPlan:
    """A ``SweepPlan`` as it is; a list (any iterable) of requests becomes the plan of those
    requests, its swept values being whatever differs among them (for the grid's layout)."""
    if isinstance(plan, SweepPlan) and len(plan):
        return plan
    takes = "a SweepPlan (vidu_nb.request.sweep.sweep(...)) or a list of Img2VideoRequest"
    if isinstance(plan, (str, bytes, Mapping, Img2VideoRequest)) or not isinstance(plan, Iterable):
        hint = "; one request is submitted with form() or Poller.submit"
        raise ValidationError(
            "plan", plan, f"must be {takes}" + (hint if isinstance(plan, Img2VideoRequest) else "")
        )
    requests = list(plan)
    if not requests:
        raise ValidationError("plan", requests, "holds no requests: nothing to submit")
    for i, request in enumerate(requests):
        if not isinstance(request, Img2VideoRequest):
            raise ValidationError(f"plan[{i}]", request, f"must be an Img2VideoRequest ({takes})")
    combos = [{k: getattr(r, k) for k in SWEEP_FIELDS} for r in requests]
    return SweepPlan(requests, combos)


def run_sweep(
    plan: SweepPlan | Iterable[Img2VideoRequest],
    *,
    client: Any = None,
    log: Any = None,
    poller: Any = None,
    session: Session | None = None,
    workspace: Workspace | None = None,
    experiment: str | None = None,
    confirm: bool = False,
    threshold: float = CONFIRM_CREDITS,
    grid: bool = True,
) -> SweepRun:
    """Submit a sweep through the poller (its concurrency policy applies), as one experiment.

    ``plan`` is a ``SweepPlan`` (from ``vidu_nb.request.sweep.sweep``) or a plain list of requests,
    taken as a plan whose swept values are what differs among them. Anything else, or an
    empty list, raises ``ValidationError`` naming ``plan`` before anything is sent.

    Unless ``confirm=True`` it refuses a sweep whose estimate exceeds the account's balance
    (``client.credits()``, asked once unless the session read it within a minute; a service
    that cannot say is not a reason to refuse), and one above ``threshold`` estimated credits.
    The run shows its progress and, when done, the comparison grid; ``grid=False`` leaves the
    grid to a later ``run.compare()`` or ``compare(...)`` (a notebook then shows the videos
    once).
    """
    plan = as_plan(plan)
    session = session or Session(client, log, poller, workspace=workspace)
    total = plan_credits(plan, session.log)
    if not confirm:
        balance = session.balance
        known = balance.fresh() or (balance.fetch() if balance.offered else None)
        if known is not None and total > known.total:
            raise ValidationError(
                "confirm",
                confirm,
                f"this sweep of {len(plan)} tasks would cost about {total:,} credits, more "
                f"than the balance of {known.total:,} credits; pass confirm=True to submit "
                "it anyway",
            )
        if needs_confirmation(total, threshold):
            raise ValidationError(
                "confirm",
                confirm,
                f"this sweep of {len(plan)} tasks would cost about {total:,} credits (over "
                f"{threshold:,.0f}); pass confirm=True to submit it",
            )
    experiment = experiment or default_experiment()
    run = SweepRun(plan, session, experiment, grid=grid)
    # One durable transaction for the whole sweep: the kernel is not held a sync per task.
    run.handles.extend(session.poller.submit_many(plan, experiment=experiment, tags=("sweep",)))
    hub_for(session).add_listener(run.update)
    run.update()
    return run
