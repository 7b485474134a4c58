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
from typing import Any

import ipywidgets as w

from ..spec import AUDIO_TYPES, MOVEMENT_AMPLITUDES
from .card import TaskCard
from .form_state import FormState
from .rows import esc
from .session import Session, estimate
from .style import style_widget

_WIDE = {"width": "420px"}  # a dict, not a Layout: no widget exists (or is saved) at import
_LABEL = {"description_width": "110px"}
_TRI = [("on", True), ("off", False)]
#: The "model's default" choice of a dropdown. Not ``None``: ipywidgets reads a ``None`` value
#: as "nothing selected" and shows an empty box.
DEFAULT = "(default)"
#: Seconds after a click on Submit during which another click counts as a double click.
CLICK_COOLDOWN = 1.0


def _labelled(text: str, field: w.Widget) -> w.HBox:
    """A row with a label in the description column, for widgets without a usable one."""
    label = w.HTML(text)
    label.add_class("vidu-row-label")
    row = w.HBox([label, field])
    row.add_class("vidu-row")
    return row


def _msg() -> w.HTML:
    html = w.HTML()
    html.add_class("vidu-field-msg")
    return html


class Img2VideoForm(w.VBox):
    """The request form; ``display(form)`` or ``vidu_nb.ui.form()`` to show it."""

    def __init__(
        self,
        client: Any = None,
        log: Any = None,
        poller: Any = None,
        *,
        experiment: str | None = None,
        state: FormState | None = None,
    ) -> None:
        self.session = Session(client, log, poller)
        self.experiment = experiment
        self.state = state or FormState()
        self.cards: list[TaskCard] = []
        self._refreshing = False
        self._preview_of: Any = None
        self.controls: dict[str, w.Widget] = {}
        self.messages: dict[str, w.HTML] = {}
        self._trait_of: dict[str, str] = {}
        super().__init__(self._build())
        self.add_class("vidu-form")
        self._busy = False
        self._cooldown_until = 0.0
        self.click_cooldown = CLICK_COOLDOWN
        self._listening = False
        self.state.observe(lambda _c: self.refresh())
        self.refresh()
        self.refresh_seed_choices()
        if self.session.has_poller:
            self._listen()

    # -- layout ----------------------------------------------------------------------------
    def _control(self, name: str, widget: w.Widget, trait: str | None = None) -> w.HBox:
        self.controls[name] = widget
        self.messages[name] = _msg()
        widget.add_class(f"vidu-field-{name}")
        if trait is not None:
            self._trait_of[name] = trait
            widget.observe(lambda c: self._from_control(trait, c.new), "value")
        return w.HBox([widget, self.messages[name]])

    def _take_upload(self, value: Any) -> None:
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
        # The button's own text ("<description> (<count>)") is hidden by the stylesheet, which
        # writes "Choose image..." instead: the count of the emptied widget would read 0.
        upload = w.FileUpload(
            accept=".png,.jpg,.jpeg,.webp",
            multiple=False,
            description="Choose image",
            tooltip="a PNG, JPEG or WebP start frame (up to 50 MB)",
        )
        upload.add_class("vidu-upload")
        upload.observe(lambda c: self._take_upload(c.new), "value")
        self.thumbnail = w.Image(format="jpeg", layout=w.Layout(max_width="160px"))
        self.thumbnail.add_class("vidu-thumbnail")
        self.image_info = w.HTML()
        self.image_info.add_class("vidu-image-info")
        field = self._control("image", upload)  # the button and its message
        field.children = (upload, self.image_info, self.messages["image"])
        image_row = _labelled("Image", field)
        image_url = w.Text(placeholder="https://... (instead of a file)", description="or URL")
        image_url.style = _LABEL
        prompt = w.Textarea(description="Prompt", layout=w.Layout(width="420px", height="80px"))
        prompt.style = _LABEL
        self.counter = w.HTML()
        self.counter.add_class("vidu-prompt-counter")
        from ..models import MODELS

        model = w.Dropdown(options=list(MODELS), description="Model", style=_LABEL)
        duration = w.Dropdown(description="Duration", style=_LABEL)
        resolution = w.Dropdown(description="Resolution", style=_LABEL)
        # Our own label: a ToggleButtons' description sits above the buttons, out of line.
        seed_mode = w.ToggleButtons(options=["random", "fixed"], style={"button_width": "80px"})
        seed = w.BoundedIntText(min=-(2**32), max=2**33, description="Seed value", style=_LABEL)
        self.reuse = w.Dropdown(description="from task", style=_LABEL, options=[], disabled=True)
        self.reuse_button = w.Button(description="Use its seed", icon="repeat", disabled=True)
        self.reuse_button.add_class("vidu-reuse-seed")
        self.reuse_button.on_click(lambda _b: self.reuse_selected_seed())
        essentials = w.VBox(
            [
                image_row,
                self.thumbnail,
                self._control("image_url", image_url, "image_url"),
                self._control("prompt", prompt, "prompt"),
                self.counter,
                self._control("model", model, "model"),
                self._control("duration", duration, "duration"),
                self._control("resolution", resolution, "resolution"),
                _labelled("Seed", self._control("seed_mode", seed_mode, "seed_mode")),
                self._control("seed", seed, "seed"),
                w.HBox([self.reuse, self.reuse_button]),
            ]
        )
        essentials.add_class("vidu-form-essentials")
        audio = w.VBox(
            [
                self._control("audio", w.Dropdown(description="Audio", style=_LABEL), "audio"),
                self._control(
                    "audio_type",
                    w.Dropdown(
                        options=[("default (all)", DEFAULT), *[(a, a) for a in AUDIO_TYPES]],
                        description="Audio type",
                        style=_LABEL,
                    ),
                    "audio_type",
                ),
                self._control("voice_id", w.Text(description="Voice id", style=_LABEL), "voice_id"),
                self._control("bgm", w.Checkbox(description="Background music"), "bgm"),
            ]
        )
        advanced = w.VBox(
            [
                self._control(
                    "movement_amplitude",
                    w.Dropdown(
                        options=[
                            ("default (auto)", DEFAULT),
                            *[(m, m) for m in MOVEMENT_AMPLITUDES],
                        ],
                        description="Movement",
                        style=_LABEL,
                    ),
                    "movement_amplitude",
                ),
                self._control(
                    "off_peak",
                    w.Checkbox(description="Off-peak (cheaper, within 48 h)"),
                    "off_peak",
                ),
                self._control(
                    "is_rec", w.Checkbox(description="Recommended prompt (+10 credits)"), "is_rec"
                ),
                self._control(
                    "payload",
                    w.Textarea(description="Payload", layout=w.Layout(**_WIDE), style=_LABEL),
                    "payload",
                ),
                self._control(
                    "callback_url",
                    w.Text(description="Callback URL", layout=w.Layout(**_WIDE), style=_LABEL),
                    "callback_url",
                ),
            ]
        )
        self.preview_json = w.HTML()
        self.preview_curl = w.HTML()
        self.preview_json.add_class("vidu-preview-json")
        self.preview_curl.add_class("vidu-preview-curl")
        more = w.Accordion(
            [audio, advanced, w.VBox([self.preview_json, self.preview_curl])],
            titles=("Audio", "Advanced", "Request preview"),
        )
        from .sweeps import SweepPanel

        self.sweep_panel = SweepPanel(self)
        sweep_box = w.Accordion([self.sweep_panel], titles=("Sweep (prompts x seeds x ...)",))
        self.estimate_html = w.HTML()
        self.estimate_html.add_class("vidu-estimate")
        self.submit_button = w.Button(description="Submit", button_style="primary", icon="play")
        self.submit_button.add_class("vidu-submit")
        self.submit_button.on_click(lambda _b: self.click_submit())
        self.status = w.HTML()
        self.status.add_class("vidu-form-status")
        self.card_box = w.VBox()
        self.card_box.add_class("vidu-cards")
        footer = w.HBox([self.submit_button, self.estimate_html, self.status])
        footer.add_class("vidu-form-footer")
        return [style_widget(), essentials, more, sweep_box, footer, self.card_box]

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
            if list(c[name].options) != opts:
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
        for name, html in self.messages.items():
            key = "image" if name == "image_url" else name
            if key in result.errors:
                html.value = f"<span class='vidu-error'>{esc(result.errors[key])}</span>"
            elif name in inactive:
                html.value = f"<span class='vidu-inactive'>{esc(inactive[name])}</span>"
            elif name in result.warnings:
                html.value = f"<span class='vidu-warning'>{esc(result.warnings[name])}</span>"
            else:
                html.value = ""
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
        if req is None:
            self.estimate_html.value = "<i>fix the fields marked in red to submit</i>"
            self.preview_json.value = self.preview_curl.value = ""
            return
        credits, source = estimate(req, self.session.log_if_open)
        self.estimate_html.value = f"\u2248 <b>{credits:,}</b> credits <i>({esc(source)})</i>"
        body = json.dumps(req.preview(), indent=2, ensure_ascii=False)
        self.preview_json.value = f"<pre>{esc(body)}</pre>"
        base, scheme = self.session.base_url_and_scheme()
        self.preview_curl.value = f"<pre>{esc(req.to_curl(base, scheme))}</pre>"

    def _show_image(self) -> None:
        try:
            img = self.state.start_image()
        except Exception:
            img = None
        name = self.state.image_name or "image"
        if img is None or img.is_remote:
            self.thumbnail.value, self._preview_of = b"", None
            self.thumbnail.layout.display = "none"
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
        self.thumbnail.layout.display = None
        ratio = img.aspect_ratio or 0
        self.image_info.value = esc(
            f"{name}: {img.width}x{img.height} {img.format.upper()}, "
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
            from ..tasklog import default_log_path

            if not default_log_path().exists():
                return
            log = self.session.log
        df = log.to_frame()
        done = df[(df["state"] == "success") & df["seed"].notna()].tail(30).iloc[::-1]
        options = [(f"{r.task_id} (seed {int(r.seed)})", int(r.seed)) for r in done.itertuples()]
        with self.hold_sync():
            if list(self.reuse.options) != options:
                keep = self.reuse.value
                self.reuse.options = options
                values = [v for _label, v in options]
                self.reuse.value = keep if keep in values else (values[0] if values else None)
            self.reuse.disabled = self.reuse_button.disabled = not options

    def _listen(self) -> None:
        """Refresh the seed choices when a task succeeds (held weakly: the form may go)."""
        if self._listening:
            return
        from .live import hub_for

        self._listening = True
        method = weakref.WeakMethod(self._on_event)
        hub_for(self.session).add_listener(lambda e: (m := method()) is not None and m(e))

    def _on_event(self, event: Any) -> None:
        if getattr(event, "new_state", None) == "success" and event.kind == "state":
            self.refresh_seed_choices()

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
                "<span class='vidu-error'>not submitted: fix the fields marked in red</span>"
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
        note = " (simulated: nothing is charged)" if session.client.is_simulated else ""
        self.status.value = f"submitted{esc(note)}"
        self.refresh_seed_choices()
        return card

    def add_card(self, handle: Any) -> TaskCard:
        from .live import card_for

        card = card_for(handle, self.session)
        self._listen()
        self.cards.insert(0, card)
        self.card_box.children = (card, *self.card_box.children)
        return card


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
    """The request form in one line: ``vidu_nb.ui.form()`` (simulator when no key is set)."""
    return Img2VideoForm(client, log, poller, **kwargs)
