"""The form's controls, section by section; the folded sections are built when first opened.

Each builder takes the form and registers its controls through ``form.control(...)``. Every
widget comes from ``shared.make`` (one ``Layout``/style object per look, not one per widget):
together with the lazy sections this keeps a displayed form near 60 widget models in a saved
notebook instead of 240. Fields are one width (``FIELD``) and the sections one column width.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from ..request.models import MODELS
from ..request.spec import AUDIO_TYPES, MOVEMENT_AMPLITUDES, WM_POSITIONS
from .shared import hbox, html, make, vbox

#: The width of every field (its label included) and of the folded sections.
FIELD = {"width": "420px"}
COLUMN = {"max_width": "640px"}
LABEL = {"description_width": "110px"}
#: The "model's default" choice of a dropdown. Not ``None``: ipywidgets reads a ``None`` value
#: as "nothing selected" and shows an empty box.
DEFAULT = "(default)"
#: Sections folded under the essentials: (key, title). Built on first open.
SECTIONS = (
    ("audio", "Audio"),
    ("advanced", "Advanced"),
    ("preview", "Request preview"),
    ("sweep", "Sweep (prompts x seeds x ...)"),
)
#: Which folded section holds a control (``form.controls[name]`` builds it on demand).
SECTION_OF = {
    **dict.fromkeys(("audio", "audio_type", "voice_id", "bgm"), "audio"),
    **dict.fromkeys(
        (
            "movement_amplitude",
            "off_peak",
            "is_rec",
            "payload",
            "callback_url",
            "watermark",
            "wm_position",
            "wm_url",
            "meta_data",
        ),
        "advanced",
    ),
}


def field(cls: type, description: str = "", **kwargs: Any) -> Any:
    """A labelled input of the common width."""
    return make(cls, description=description, layout=FIELD, style=LABEL, **kwargs)


def labelled(text: str, content: w.Widget) -> w.HBox:
    """A row with a label in the description column, for widgets without a usable one."""
    return hbox([html(text, "vidu-row-label"), content], "vidu-row")


def essentials(form: Any) -> w.VBox:
    # The button's own text ("<description> (<count>)") is hidden by the stylesheet, which
    # writes "Choose image..." instead: the count of the emptied widget would read 0.
    upload = make(
        w.FileUpload,
        accept=".png,.jpg,.jpeg,.webp",
        multiple=False,
        description="Choose image",
        tooltip="a PNG, JPEG or WebP start frame (up to 50 MB)",
    )
    upload.add_class("vidu-upload")
    upload.observe(lambda c: form.take_upload(c.new), "value")
    form.thumbnail = make(w.Image, format="jpeg", layout={"max_width": "160px"})
    form.thumbnail.add_class("vidu-thumbnail")
    form.image_info = html(cls="vidu-image-info")
    image_field = form.control("image", upload)
    image_field.children = (upload, form.image_info, form.messages["image"])
    image_url = field(w.Text, "or URL", placeholder="https://... (instead of a file)")
    prompt = make(
        w.Textarea,
        description="Prompt",
        layout={**FIELD, "height": "80px"},
        style=LABEL,
    )
    form.counter = html(cls="vidu-prompt-counter")
    # Our own label: a ToggleButtons' description sits above the buttons, out of line.
    seed_mode = make(w.ToggleButtons, options=["random", "fixed"], style={"button_width": "80px"})
    seed = field(w.BoundedIntText, "Seed value", min=-(2**32), max=2**33)
    form.reuse = make(
        w.Dropdown,
        description="from task",
        options=[],
        disabled=True,
        layout={"width": "290px"},
        style=LABEL,
    )
    form.reuse_button = make(
        w.Button,
        description="Use its seed",
        icon="repeat",
        disabled=True,
        layout={"width": "126px", "margin": "2px 0 2px 4px"},
    )
    form.reuse_button.add_class("vidu-reuse-seed")
    form.reuse_button.on_click(lambda _b: form.reuse_selected_seed())
    return vbox(
        [
            labelled("Image", image_field),
            form.thumbnail,
            form.control("image_url", image_url, "image_url"),
            form.control("prompt", prompt, "prompt"),
            form.counter,
            form.control("model", field(w.Dropdown, "Model", options=list(MODELS)), "model"),
            form.control("duration", field(w.Dropdown, "Duration"), "duration"),
            form.control("resolution", field(w.Dropdown, "Resolution"), "resolution"),
            labelled("Seed", form.control("seed_mode", seed_mode, "seed_mode")),
            form.control("seed", seed, "seed"),
            hbox([form.reuse, form.reuse_button]),
        ],
        "vidu-form-essentials",
    )


def checkbox(description: str) -> w.Checkbox:
    return make(w.Checkbox, description=description, layout=FIELD, style=LABEL)


def audio(form: Any) -> list[w.Widget]:
    types = [("default (all)", DEFAULT), *[(a, a) for a in AUDIO_TYPES]]
    return [
        form.control("audio", field(w.Dropdown, "Audio"), "audio"),
        form.control("audio_type", field(w.Dropdown, "Audio type", options=types), "audio_type"),
        form.control("voice_id", field(w.Text, "Voice id"), "voice_id"),
        form.control("bgm", checkbox("Background music"), "bgm"),
    ]


def advanced(form: Any) -> list[w.Widget]:
    moves = [("default (auto)", DEFAULT), *[(m, m) for m in MOVEMENT_AMPLITUDES]]
    # The corner's name first, its number (what the request carries) after it.
    corners = [(f"{name} ({n})", n) for n, name in WM_POSITIONS.items()]
    return [
        form.control(
            "movement_amplitude", field(w.Dropdown, "Movement", options=moves), "movement_amplitude"
        ),
        form.control("off_peak", checkbox("Off-peak (cheaper, within 48 h)"), "off_peak"),
        form.control("is_rec", checkbox("Recommended prompt (+10 credits)"), "is_rec"),
        form.control("payload", field(w.Textarea, "Payload"), "payload"),
        form.control("callback_url", field(w.Text, "Callback URL"), "callback_url"),
        form.control("watermark", checkbox("Watermark"), "watermark"),
        form.control(
            "wm_position", field(w.Dropdown, "Mark corner", options=corners), "wm_position"
        ),
        form.control(
            "wm_url",
            field(w.Text, "Mark image", placeholder="https://... (your own mark; default: Vidu's)"),
            "wm_url",
        ),
        form.control(
            "meta_data",
            make(
                w.Textarea,
                description="Meta data",
                placeholder='JSON, e.g. {"project": "fox"}',
                layout={**FIELD, "height": "64px"},
                style=LABEL,
            ),
            "meta_data",
        ),
    ]


def preview(form: Any) -> list[w.Widget]:
    form._preview_json = html(cls="vidu-preview-json")
    form._preview_curl = html(cls="vidu-preview-curl")
    return [form._preview_json, form._preview_curl]


#: The builders of the folded sections; the form adds the sweep's (``form_sweep.section``),
#: which is built on the sweep machinery these sections stay below.
BUILDERS = {"audio": audio, "advanced": advanced, "preview": preview}
