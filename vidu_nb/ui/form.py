"""``Img2VideoForm``: every request field as a control, live checks, estimate, preview, submit.

The controls are linked to a ``FormState`` (pure traitlets object); any change calls
``refresh()``, which asks the state for the request and its messages and redraws. Callbacks
are one line each, so what they do is tested through ``FormState`` and ``refresh``/``submit``.
"""

from __future__ import annotations

import io
import json
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from .. import states
from . import form_sections as sections
from . import form_sweep
from .card import TaskCard, card_for
from .form_sections import DEFAULT
from .form_state import FormState
from .form_still import form_still
from .live import hub_for
from .rows import esc
from .session import Session, estimate
from .shared import hbox, html, make, shared_layout, vbox
from .static import StillDisplay, mark_stale
from .style import style_widget

if TYPE_CHECKING:
    from ..client.task import Task
    from ..tracking.poller import Submission
    from ..workspace import Workspace

#: Seconds after a click on Submit during which another click counts as a double click.
CLICK_COOLDOWN = 1.0
_TRI = [("on", True), ("off", False)]
#: Every folded section's builder: those of ``form_sections`` and the sweep's.
_BUILDERS = {**sections.BUILDERS, "sweep": form_sweep.section}


class _Controls(dict):
    """``form.controls``/``form.messages``: asking for a control of a folded section that was
    never opened builds that section (so code and tests can set any field)."""

    def __init__(self, form: Img2VideoForm) -> None:
        super().__init__()
        self._form = form

    def __missing__(self, name: str) -> Any:
        section = sections.SECTION_OF.get(name)
        if section is None or section in self._form.built:
            raise KeyError(name)
        self._form.open_section(section)
        return self[name]


class Img2VideoForm(StillDisplay, w.VBox):
    """The request form; ``display(form)`` or ``vidu_nb.ui.form()`` to show it.

    Essentials first; Audio, Advanced, Request preview and Sweep are folded and built when
    first opened (``open_section``), which keeps the saved notebook small.

    Its output also carries the request and the submitted tasks as escaped HTML, for places
    where no widget runs; it is rewritten after each submit and when a submitted task
    settles, after the next cell runs (never on edits or from events while one may be typing:
    each rewrite makes the front end draw the form anew).
    """

    def __init__(
        self,
        client: Any = None,
        log: Any = None,
        poller: Any = None,
        *,
        workspace: Workspace | None = None,
        experiment: str | None = None,
        state: FormState | None = None,
    ) -> None:
        self.session = Session(client, log, poller, workspace=workspace)
        self.experiment = experiment
        self.state = state or FormState()
        self.cards: list[TaskCard] = []
        self._refreshing = False
        self._preview_of: Any = None
        self.controls: dict[str, w.Widget] = _Controls(self)
        self.messages: dict[str, w.HTML] = _Controls(self)
        self._trait_of: dict[str, str] = {}
        self.built: set[str] = set()
        self._valid = False
        self._busy = False
        self._cooldown_until = 0.0
        self.click_cooldown = CLICK_COOLDOWN
        self._listening = False
        super().__init__(self._build(), layout=shared_layout())
        self.add_class("vidu-form")
        self.state.observe(lambda _c: self.refresh())
        self.refresh()
        self.refresh_seed_choices()
        if self.session.has_poller:
            self._listen()
        if self.session.client_if_open is not None:  # none given: none started just to ask
            self.session.balance.refresh()

    def still_parts(self) -> tuple[str, str]:
        return form_still(self)

    # -- layout ----------------------------------------------------------------------------
    def control(self, name: str, widget: w.Widget, trait: str | None = None) -> w.HBox:
        """Register a control (and its message) under ``name``; returns its row."""
        self.controls[name] = widget
        self.messages[name] = html(cls="vidu-field-msg")
        widget.add_class(f"vidu-field-{name}")
        if trait is not None:
            self._trait_of[name] = trait
            widget.observe(lambda c: self._from_control(trait, c.new), "value")
        return hbox([widget, self.messages[name]])

    def take_upload(self, value: Any) -> None:
        """Move the uploaded file into the form state and empty the widget.

        Widget state is saved with the notebook; the image must live only in the kernel.
        """
        if not value:
            return  # the widget being emptied below
        self.state.set_upload(value)
        self.controls["image"].value = ()

    def _from_control(self, trait: str, value: Any) -> None:
        """A user edit goes into the state (not the transient values set while redrawing)."""
        if not self._refreshing:
            setattr(self.state, trait, None if value == DEFAULT else value)

    def _build(self) -> list[w.Widget]:
        essentials = sections.essentials(self)
        self._panes = {key: vbox() for key, _title in sections.SECTIONS}
        self.sections = make(
            w.Accordion,
            list(self._panes.values()),
            titles=[title for _key, title in sections.SECTIONS],
            layout=sections.COLUMN,
        )
        self.sections.add_class("vidu-form-sections")
        self.sections.observe(lambda c: self._opened(c.new), "selected_index")
        self.estimate_html = html(cls="vidu-estimate")
        self.submit_button = make(
            w.Button, description="Submit", button_style="primary", icon="play"
        )
        self.submit_button.add_class("vidu-submit")
        self.submit_button.on_click(lambda _b: self.click_submit())
        self.status = html(cls="vidu-form-status")
        self.balance_html = self.session.balance.view()
        self.card_box = vbox(cls="vidu-cards")
        footer = hbox(
            [self.submit_button, self.estimate_html, self.balance_html, self.status],
            "vidu-form-footer",
        )
        return [style_widget(), essentials, self.sections, footer, self.card_box]

    def _opened(self, index: int | None) -> None:
        if index is not None:
            self.open_section(sections.SECTIONS[index][0])

    def open_section(self, key: str) -> None:
        """Build a folded section's controls (once) and bring them up to date."""
        if key in self.built:
            return
        self.built.add(key)
        self._panes[key].children = tuple(_BUILDERS[key](self))
        self.refresh()

    @property
    def preview_json(self) -> w.HTML:
        self.open_section("preview")
        return self._preview_json

    @property
    def preview_curl(self) -> w.HTML:
        self.open_section("preview")
        return self._preview_curl

    @property
    def sweep_panel(self) -> Any:
        self.open_section("sweep")
        return self._sweep_panel

    # -- redraw ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring every control, message, estimate and preview in line with the state."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            self._sync_options()
            self._show_messages()
        finally:
            self._refreshing = False

    def _sync_options(self) -> None:
        s = self.state
        spec = s.spec
        c = self.controls
        options = {
            "duration": [(f"default ({spec.default_duration} s)", DEFAULT)]
            + [(f"{d} s", d) for d in s.allowed_durations()],
            "resolution": [
                (f"default ({spec.default_resolution_for(s.effective_duration)})", DEFAULT)
            ]
            + [(r, r) for r in s.allowed_resolutions()],
            "audio": [(f"default ({'on' if spec.audio_default else 'off'})", DEFAULT), *_TRI],
        }
        for name, opts in options.items():
            if name in c and list(c[name].options) != opts:
                c[name].options = opts
        for name, trait in self._trait_of.items():
            value = getattr(s, trait)
            if value is None and isinstance(c[name], w.Dropdown):
                value = DEFAULT
            if c[name].value != value:
                c[name].value = value
        c["seed"].disabled = s.seed_mode != "fixed"

    def _show_messages(self) -> None:
        s = self.state
        result = s.build()
        inactive = s.inactive()
        by_url = bool(s.image_url.strip()) and not s.image_data  # where an image error goes
        for name, msg in self.messages.items():
            key = "image" if name == "image_url" else name
            if name in ("image", "image_url") and by_url != (name == "image_url"):
                key = ""  # the image's message shows once: by the URL when one is given
            if key in result.errors:
                msg.value = f"<span class='vidu-error'>{esc(result.errors[key])}</span>"
            elif name in inactive:
                msg.value = f"<span class='vidu-inactive'>{esc(inactive[name])}</span>"
            elif name in s.adjusted:  # a model switch changed the user's choice: say so
                msg.value = f"<span class='vidu-warning'>{esc(s.adjusted[name])}</span>"
            elif name in result.warnings:
                msg.value = f"<span class='vidu-warning'>{esc(result.warnings[name])}</span>"
            else:
                msg.value = ""
            if name in inactive:
                self.controls[name].disabled = True
            elif name != "seed":
                self.controls[name].disabled = False
        text, over = s.prompt_counter()
        cls = "vidu-error" if over else "vidu-counter"
        self.counter.value = f"<span class='{cls}'>{text} characters</span>"
        self._show_image()
        req = result.request
        self._valid = result.ok
        self._enable_submit()
        preview = "preview" in self.built
        if req is None:
            self.estimate_html.value = f"<i>to submit, fix {esc(_names(result.errors))}</i>"
            if preview:
                self._preview_json.value = self._preview_curl.value = ""
            return
        self._show_estimate(req)
        if not preview:  # nobody looks at it: no JSON in the widget state either
            return
        body = json.dumps(req.preview(), indent=2, ensure_ascii=False)
        self._preview_json.value = f"<pre>{esc(body)}</pre>"
        base, scheme = self.session.base_url_and_scheme()
        self._preview_curl.value = f"<pre>{esc(req.to_curl(base, scheme))}</pre>"

    def _show_estimate(self, req: Any) -> None:
        credits, source = estimate(req, self.session.log_if_open)
        self.estimate_html.value = f"\u2248 <b>{credits:,}</b> credits <i>({esc(source)})</i>"

    def _show_image(self) -> None:
        try:
            img = self.state.start_image()
        except Exception:
            img = None
        name = self.state.image_name or "image"
        if img is None or img.is_remote:
            self.thumbnail.value, self._preview_of = b"", None
            self.thumbnail.add_class("vidu-hidden")
            if img is not None:
                self.image_info.value = esc(img.url)
            elif self.state.image_data:  # an upload that failed its checks: still say which
                size = len(self.state.image_data) / 1024
                self.image_info.value = esc(f"{name}: {size:,.0f} KB")
            else:
                self.image_info.value = "<span class='vidu-inactive'>no image chosen</span>"
            return
        if self._preview_of is not img:  # decoding a large image on every keystroke is slow
            self.thumbnail.value = small_preview(img)
            self._preview_of = img
        self.thumbnail.remove_class("vidu-hidden")
        ratio = img.aspect_ratio or 0
        self.image_info.value = esc(
            f"{name}: {img.width}x{img.height} {(img.format or '?').upper()}, "
            f"{img.size_bytes / 1024:,.0f} KB, ratio {ratio:.2f}"
        )

    # -- actions ---------------------------------------------------------------------------
    def reuse_selected_seed(self) -> None:
        if self.reuse.value is not None:
            self.state.reuse_seed(self.reuse.value)

    def refresh_seed_choices(self) -> None:
        """Finished tasks in the log, newest first, as choices for "use its seed".

        Filled when the form is built (from the log it was given, or the default one if that
        file exists), after each submit and whenever a task succeeds.
        """
        log = self.session.log_if_open
        if log is None:
            from ..tracking.tasklog import default_log_path

            if not default_log_path().exists():
                return
            log = self.session.log
        options = [(_seed_choice(tid, seed), seed) for tid, seed in log.recent_seeds(30)]
        with self.hold_sync():
            if list(self.reuse.options) != options:  # the newest finished task is selected
                # ...unless the user picked an older one: a task finishing meanwhile must not
                # swap it for another seed under the "Use its seed" button.
                picked = self.reuse.label if self.reuse.index else None
                labels = [label for label, _seed in options]
                self.reuse.options = options
                if picked in labels:
                    self.reuse.index = labels.index(picked)
                else:
                    self.reuse.value = options[0][1] if options else None
            self.reuse.disabled = self.reuse_button.disabled = not options

    def _listen(self) -> None:
        """Refresh the seed choices when a task succeeds (held weakly: the form may go)."""
        if self._listening:
            return
        self._listening = True
        method = weakref.WeakMethod(self._on_event)
        hub_for(self.session).add_listener(lambda e: (m := method()) is not None and m(e))

    def _on_event(self, event: Any) -> None:
        if event.kind == "paused":  # the service refused a charge: show what is left
            self.session.balance.refresh()
        if event.kind == "files" and self._owns(event):
            mark_stale(self)  # a submitted task's video came: its sheet, after the next cell
        if event.kind != "state":
            return
        refunded = states.is_failed(event.new_state) or states.is_cancelled(event.new_state)
        if event.old_state is None or refunded:
            # A task was charged (the service answered a submission) or refunded (failed,
            # cancelled): the balance moved. Fetched in the background, coalesced.
            self.session.balance.refresh()
        if states.is_final(event.new_state) and self._owns(event):
            mark_stale(self)
        if states.is_success(event.new_state):
            self.refresh_seed_choices()
            # A charge to learn from: the estimate may change without any edit of the form.
            result = self.state.build()
            if result.ok:
                self._show_estimate(result.request)

    def _owns(self, event: Any) -> bool:
        """The event is about a task this form submitted (one of its cards)."""
        keys = {getattr(event, "handle", None), getattr(event, "task_id", None)} - {None, ""}
        return any(card.handle in keys or card.task_id in keys for card in self.cards)

    def click_submit(self) -> TaskCard | None:
        """The Submit button: a second click within ``click_cooldown`` seconds is a double
        click (it may have queued while the first submit ran) and is ignored."""
        if self._busy or time.monotonic() < self._cooldown_until:
            return None
        self._cooldown_until = time.monotonic() + self.click_cooldown
        try:
            return self.submit()
        finally:
            self._enable_submit()
            timer = threading.Timer(self.click_cooldown + 0.05, self._enable_submit)
            timer.daemon = True
            timer.start()

    def _enable_submit(self) -> None:
        """Enabled when the form is valid, no submit runs and no click was just taken."""
        wait = self._busy or time.monotonic() < self._cooldown_until
        self.submit_button.disabled = wait or not getattr(self, "_valid", False)

    def submit(self) -> TaskCard | None:
        """Submit the request through the poller and show its card (never blocks for long).

        The Submit button is disabled while this runs, so it cannot send the request twice.
        """
        if self._busy:
            return None
        self._busy = True
        self.submit_button.disabled = True
        try:
            return self._submit()
        finally:
            self._busy = False
            self._enable_submit()

    def _submit(self) -> TaskCard | None:
        result = self.state.build()
        if not result.ok:
            self.status.value = (
                f"<span class='vidu-error'>not submitted: fix {esc(_names(result.errors))}</span>"
            )
            return None
        session = self.session
        try:
            handle = session.poller.submit(result.request, experiment=self.experiment)
        except Exception as exc:  # shown next to the button; the log keeps the details
            self.status.value = (
                f"<span class='vidu-error'>{esc(type(exc).__name__)}: {esc(exc)}</span>"
            )
            return None
        card = self.add_card(handle)
        if session.balance.credits is None and not session.balance.note:
            session.balance.refresh()  # the first client of this form: show its balance
        note = " (simulated: nothing is charged)" if session.client.is_simulated else ""
        self.status.value = f"submitted{esc(note)}"
        self.refresh_seed_choices()
        self.refresh_still()
        return card

    def add_card(self, item: Submission | Task | str) -> TaskCard:
        """A live card, first in the list, for a submission, a ``Task`` or a task id."""
        card = card_for(item, self.session)
        self._listen()
        self.cards.insert(0, card)
        self.card_box.children = (card, *self.card_box.children)
        return card


def _names(errors: dict[str, str]) -> str:
    """The fields to fix, by name (each one's message is next to it, in red)."""
    return ", ".join(errors) or "the fields marked in red"


def _seed_choice(task_id: str, seed: int) -> str:
    """The seed first (what the user picks), then the task's id, shortened to fit the box."""
    tid = str(task_id)
    return (
        f"seed {seed} \u00b7 task \u2026{tid[-6:]}" if len(tid) > 8 else f"seed {seed} \u00b7 {tid}"
    )


#: The preview thumbnail is widget state (saved with the notebook): keep it this small.
PREVIEW_MAX_BYTES = 4096


def small_preview(img: Any, max_side: int = 160) -> bytes:
    """A JPEG thumbnail of at most ``PREVIEW_MAX_BYTES`` (smaller side/quality until it fits)."""
    from PIL import Image

    with Image.open(io.BytesIO(img.data)) as im:
        im.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        base = im.convert("RGB")
    base.thumbnail((max_side, max_side))
    for side, quality in ((max_side, 80), (max_side, 60), (max_side * 3 // 4, 50), (64, 40)):
        thumb = base.copy()
        thumb.thumbnail((side, side))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=quality)
        if out.tell() <= PREVIEW_MAX_BYTES:
            break
    return out.getvalue()


def form(client: Any = None, log: Any = None, poller: Any = None, **kwargs: Any) -> Img2VideoForm:
    """The request form in one line: ``vidu_nb.ui.form()`` (simulator when no key is set), or
    ``form(workspace=ws)`` for the parts of a ``Workspace``."""
    return Img2VideoForm(client, log, poller, **kwargs)
