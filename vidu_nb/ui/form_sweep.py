"""The form's sweep section: a plan from text boxes (prompts, seeds, durations, ...), its
credits, a confirm step above the threshold, then the run with its progress and grid.

It is a section of the form like those in ``form_sections`` and shares their look (``FIELD``,
``LABEL``), but it is built on ``sweeps`` (the plan, ``run_sweep``), which the other sections
know nothing of: the form adds it to their builders (``section``), so ``form_sections`` stays
below ``sweeps`` and the sweep machinery loads with the form, not with every section.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..errors import ValidationError
from ..request.sweep import SweepPlan, needs_confirmation, parse_list, sweep
from .form_sections import FIELD, LABEL
from .rows import esc
from .shared import hbox, html, make, shared_layout, vbox
from .sweeps import SweepRun, plan_credits, run_sweep


class SweepPanel(w.VBox):
    """The form's sweep section: lists as text, plan summary, confirm, progress, grid."""

    def __init__(self, form: Any) -> None:
        self.form = form

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


def section(form: Any) -> list[w.Widget]:
    """The builder of the form's "sweep" section (see ``form_sections.BUILDERS``)."""
    form._sweep_panel = SweepPanel(form)
    return [form._sweep_panel]
