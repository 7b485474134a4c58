"""Running a sweep: confirm above a credit threshold, submit through the poller, follow, compare.

``run_sweep(plan, ...)`` submits every request of a ``SweepPlan`` tagged as one experiment and
returns a ``SweepRun`` (a progress bar widget that knows its tasks); ``run.compare()`` shows
the synchronized grid, laid out by the swept parameters. ``SweepPanel`` is the form's section
that builds a plan from text boxes.
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
    parse_list,
    sweep,
)
from ..tracking.promotion import Promotion
from .judging import promote_task
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
        from .live import task_id_of

        return [task_id_of(h, self.session) for h in self.handles]

    def task_views(self) -> list[TaskView]:
        from .live import view_of

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
                from .live import hub_for

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
        from .compare import compare

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
            from .live import card_for

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
    from .live import hub_for

    # One durable transaction for the whole sweep: the kernel is not held a sync per task.
    run.handles.extend(session.poller.submit_many(plan, experiment=experiment, tags=("sweep",)))
    hub_for(session).add_listener(run.update)
    run.update()
    return run


class SweepPanel(w.VBox):
    """The form's sweep section: lists as text, plan summary, confirm, progress, grid."""

    def __init__(self, form: Any) -> None:
        self.form = form
        from .form_sections import FIELD, LABEL

        def box(cls: type, description: str, placeholder: str, **layout: str) -> Any:
            return make(
                cls,
                description=description,
                placeholder=placeholder,
                layout={**FIELD, **layout},
                style=LABEL,
            )

        self.prompts = box(w.Textarea, "Prompts", "one prompt per line", height="64px")
        self.seeds = box(w.Text, "Seeds", "e.g. 1, 2, 3")
        self.durations = box(w.Text, "Durations", "e.g. 4, 8")
        self.resolutions = box(w.Text, "Resolutions", "e.g. 540p, 720p")
        self.models = box(w.Text, "Models", "e.g. viduq2-pro, viduq2-turbo")
        self.plan_button = make(w.Button, description="Plan sweep", icon="th")
        self.plan_button.add_class("vidu-sweep-plan")
        self.plan_button.on_click(lambda _b: self.make_plan())
        self.submit_button = make(
            w.Button,
            description="Submit sweep",
            button_style="primary",
            layout={"width": "auto", "min_width": "120px"},  # "Confirm 1,200 (balance 900)"
        )
        self.submit_button.add_class("vidu-sweep-submit")
        self.submit_button.on_click(lambda _b: self.submit())
        self.summary = html(cls="vidu-sweep-summary")
        self.balance = form.session.balance
        self.balance_html = self.balance.view()
        self.balance_html.add_class("vidu-sweep-summary")
        self.runs = vbox()
        self.plan: SweepPlan | None = None
        self.credits = 0
        self.confirmed = False
        self.submit_button.disabled = True
        buttons = hbox([self.plan_button, self.submit_button], "vidu-sweep-buttons")
        super().__init__(
            [
                self.prompts,
                self.seeds,
                self.durations,
                self.resolutions,
                self.models,
                buttons,
                self.summary,
                self.balance_html,
                self.runs,
            ],
            layout=shared_layout(),
        )
        self.add_class("vidu-sweep-panel")
        # A plan is what the form and the lists said when it was made: any later edit drops it,
        # so "Submit sweep" never sends requests that no longer match what the user sees.
        for box_ in (self.prompts, self.seeds, self.durations, self.resolutions, self.models):
            box_.observe(lambda _c: self._outdated(), "value")
        form.state.observe(lambda _c: self._outdated())
        # A balance read after the plan was made may turn "Submit" into "Confirm".
        self.balance.on_change(self._show_plan)
        if form.session.client_if_open is not None and self.balance.credits is None:
            self.balance.refresh()

    def _outdated(self) -> None:
        if self.plan is None:
            return
        self.plan, self.confirmed = None, False
        self.submit_button.disabled = True
        self.summary.value = "<i>changed since planned: plan the sweep again</i>"

    def make_plan(self) -> SweepPlan | None:
        """Build the plan from the boxes and the form's request; say its size and cost."""
        self.plan, self.confirmed = None, False
        self.submit_button.disabled = True
        result = self.form.state.build()
        if not result.ok:
            self.summary.value = "<span class='vidu-error'>fix the form first</span>"
            return None
        try:
            plan = sweep(
                result.request,
                prompts=parse_list(self.prompts.value) or None,
                seeds=parse_list(self.seeds.value, int) or None,
                durations=parse_list(self.durations.value, int) or None,
                resolutions=parse_list(self.resolutions.value.replace(",", "\n").replace(" ", "\n"))
                or None,
                models=parse_list(self.models.value.replace(",", "\n").replace(" ", "\n")) or None,
                skip_invalid=True,
            )
        except ValidationError as exc:
            self.summary.value = f"<span class='vidu-error'>{esc(exc)}</span>"
            return None
        self.plan = plan
        self.credits = plan_credits(plan, self.form.session.log_if_open)
        if self.form.session.client_if_open is not None:
            self.balance.refresh()  # the figure to compare with, current (in the background)
        self._show_plan()
        return plan

    def _show_plan(self) -> None:
        """The plan's size and cost, and the button: "Confirm" when the estimate is above the
        confirmation threshold or the last balance read, which the summary then states."""
        plan = self.plan
        if plan is None:
            return
        text = esc(f"{plan.describe()} \u2248 {self.credits:,} credits")
        known = self.balance.credits
        balance = known.total if known is not None else None
        over = balance is not None and self.credits > balance
        if over:
            text += (
                f"<br><span class='vidu-warning'>more than the balance of {balance:,} "
                f"credits: the estimate is {self.credits:,}</span>"
            )
        for combo, why in plan.skipped[:5]:
            text += f"<br><span class='vidu-warning'>skipped {esc(combo)}: {esc(why)}</span>"
        button = self.submit_button
        if over:
            button.description = f"Confirm {self.credits:,} (balance {balance:,})"
        elif needs_confirmation(self.credits):
            button.description = f"Confirm {self.credits:,} credits"
        else:
            button.description = "Submit sweep"
        if over or needs_confirmation(self.credits):
            button.button_style = "warning"
            button.add_class("vidu-sweep-confirm")
        else:
            button.button_style = "primary"
            button.remove_class("vidu-sweep-confirm")
        button.disabled = False
        self.summary.value = text

    def submit(self) -> SweepRun | None:
        """Submit the planned sweep; clicking the (confirm) button is the confirmation."""
        if self.plan is None:
            return None
        plan, self.plan = self.plan, None
        self.submit_button.disabled = True
        try:
            run = run_sweep(plan, session=self.form.session, confirm=True)
        except Exception as exc:  # shown in the panel, not raised into the widget callback
            self.summary.value = f"<span class='vidu-error'>{esc(exc)}</span>"
            return None
        self.runs.children = (run, *self.runs.children)
        return run
