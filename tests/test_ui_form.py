"""The form widget without a browser: set every control, read the request, messages, preview."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone

import ipywidgets as w
from ipywidgets.widgets.widget import _remove_buffers
from PIL import Image

from vidu_nb.ui.form import DEFAULT, Img2VideoForm, form

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def upload(name, data):
    """A file as the browser's FileUpload sends it."""
    when = datetime.now(timezone.utc)
    return {
        "name": name,
        "type": "image/png",
        "size": len(data),
        "content": memoryview(data),
        "last_modified": when,
    }


def fill_every_control(f, png_bytes):
    c = f.controls
    c["image"].value = (upload("frame.png", png_bytes),)
    c["prompt"].value = "a red fox"
    c["model"].value = "viduq2-pro"
    c["duration"].value = 8
    c["resolution"].value = "1080p"
    c["seed_mode"].value = "fixed"
    c["seed"].value = 77
    c["audio"].value = True
    c["audio_type"].value = "speech_only"
    c["voice_id"].value = "narrator"
    c["bgm"].value = True
    c["off_peak"].value = False  # audio with off_peak is refused on q2 (Q3 only)
    c["is_rec"].value = False
    c["payload"].value = "exp-1"
    c["callback_url"].value = "https://example.org/hook"


def test_every_control_reaches_the_request(png_bytes):
    f = form()
    assert "vidu-form" in f._dom_classes and "vidu-submit" in f.submit_button._dom_classes
    assert f.submit_button.disabled
    fill_every_control(f, png_bytes)
    result = f.state.build()
    assert result.ok, result.errors
    assert result.request.options() == {
        "model": "viduq2-pro",
        "prompt": "a red fox",
        "duration": 8,
        "seed": 77,
        "resolution": "1080p",
        "audio": True,
        "audio_type": "speech_only",
        "voice_id": "narrator",
        "bgm": True,
        "payload": "exp-1",
        "callback_url": "https://example.org/hook",
    }
    assert not f.submit_button.disabled
    assert f.thumbnail.value and "320x240 PNG" in f.image_info.value
    preview = json.loads(
        f.preview_json.value[5:-6].replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    )
    assert (
        preview["images"][0].startswith("data:image/png;base64,<")
        and "elided" in preview["images"][0]
    )
    assert "$VIDU_API_KEY" in f.preview_curl.value
    assert "credits" in f.estimate_html.value and "unverified rate" in f.estimate_html.value


def test_validation_messages_next_to_fields_and_submit_disabled(png_bytes):
    f = form()
    c = f.controls
    assert "choose an image" in f.messages["image"].value
    assert f.messages["image_url"].value == ""  # said once, not next to both
    c["image_url"].value = "ftp://nope"
    c["prompt"].value = "x" * 5001
    c["seed_mode"].value = "fixed"
    c["seed"].value = -1
    c["callback_url"].value = "not a url"
    assert f.submit_button.disabled
    assert "http" in f.messages["image_url"].value and f.messages["image"].value == ""
    assert "5000" in f.messages["prompt"].value and "vidu-error" in f.counter.value
    assert "0 to" in f.messages["seed"].value
    assert "http" in f.messages["callback_url"].value
    c["image_url"].value = "https://example.org/a.png"
    c["prompt"].value = "ok"
    c["seed"].value = 5
    c["callback_url"].value = ""
    assert not f.submit_button.disabled
    assert all(m.value == "" or "vidu-inactive" in m.value for m in f.messages.values())


def test_model_switch_updates_allowed_options_and_disables_fields():
    f = Img2VideoForm()
    c = f.controls
    c["model"].value = "viduq3-pro"
    assert [v for _l, v in c["duration"].options][1:] == list(range(1, 17))
    c["duration"].value = 12
    c["model"].value = "viduq1"
    assert [v for _l, v in c["duration"].options] == [DEFAULT, 5]
    assert [v for _l, v in c["resolution"].options] == [DEFAULT, "1080p"]
    assert f.state.duration == 5
    c["model"].value = "viduq3-turbo"
    assert c["bgm"].disabled and "Q3" in f.messages["bgm"].value
    assert c["movement_amplitude"].disabled
    c["model"].value = "vidu2.0"
    c["duration"].value = 8
    assert [v for _l, v in c["resolution"].options] == [DEFAULT, "720p"]
    assert not c["bgm"].disabled and not c["movement_amplitude"].disabled


def test_hostile_prompt_is_escaped_in_preview():
    f = form()
    f.controls["image_url"].value = "https://example.org/a.png"
    f.controls["prompt"].value = HOSTILE
    for html in (f.preview_json.value, f.preview_curl.value):
        assert "<script>" not in html and "<img" not in html
        assert "&lt;script&gt;" in html


def test_reuse_seed_of_a_finished_task():
    f = form()
    assert f.reuse_button.disabled and f.reuse.disabled  # no finished task to take it from
    f.reuse.options = [("t1 (seed 4242)", 4242)]
    f.reuse.value = 4242
    f.reuse_button.click()
    assert f.state.seed_mode == "fixed" and f.controls["seed"].value == 4242
    assert not f.controls["seed"].disabled


def widgets_in(widget, seen=None):
    """Every widget reachable from ``widget`` through its synced traits (what gets saved)."""
    seen = {} if seen is None else seen
    if widget.model_id in seen:
        return seen
    seen[widget.model_id] = widget
    for name in widget.keys:
        value = getattr(widget, name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(item, w.Widget):
                widgets_in(item, seen)
    return seen


def state_bytes(widget):
    """Bytes a widget's state would take in a saved notebook (binary buffers included)."""
    state = widget.get_state()
    _state, _paths, buffers = _remove_buffers(state)
    return len(json.dumps(_state, default=str)) + sum(len(b) for b in buffers)


def test_uploaded_image_does_not_stay_in_widget_state():
    big = photo(1600, 1200)
    assert len(big) > 1_000_000
    f = form()
    f.controls["image"].value = (upload("holiday <b>photo</b>.png", big),)
    assert f.controls["image"].value == ()  # moved into the Python state, widget emptied
    assert f.state.image_data == big and f.state.build().ok
    assert "holiday &lt;b&gt;photo&lt;/b&gt;.png: 1600x1200 PNG" in f.image_info.value
    assert 0 < len(f.thumbnail.value) <= 4096 and f.thumbnail.value[:2] == b"\xff\xd8"
    sizes = {type(x).__name__: state_bytes(x) for x in widgets_in(f).values()}
    assert len(widgets_in(f)) > 50 and max(sizes.values()) < 6_000, sizes
    f.state.prompt = "a redraw keeps the image"
    assert f.state.image_data == big and f.thumbnail.value


def test_a_bad_upload_still_names_the_file():
    f = form()
    f.controls["image"].value = (upload("notes.txt", b"not an image at all" * 100),)
    assert f.controls["image"].value == ()
    assert "notes.txt: 2 KB" in f.image_info.value and f.messages["image"].value
    assert f.submit_button.disabled


def photo(width, height):
    """A large noisy PNG (a worst case for thumbnails)."""
    im = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_default_choices_are_shown_selected_not_empty():
    f = form()
    for name in ("duration", "resolution", "audio", "audio_type", "movement_amplitude"):
        control = f.controls[name]
        assert control.index == 0 and control.label.startswith("default"), name
    f.controls["duration"].value = 8
    assert f.state.duration == 8
    f.controls["duration"].value = DEFAULT
    assert f.state.duration is None and "duration" not in f.state.kwargs()


def test_a_model_switch_that_changes_the_users_choice_says_so_next_to_the_field(png_bytes):
    f = form()
    c = f.controls
    c["model"].value = "viduq3-turbo"
    c["duration"].value = 4
    c["resolution"].value = "540p"
    c["model"].value = "viduq1"
    assert (c["duration"].value, c["resolution"].value) == (5, "1080p")
    assert "instead of your 4 s" in f.messages["duration"].value
    assert "instead of your 540p" in f.messages["resolution"].value
    c["model"].value = "viduq3-turbo"
    assert (c["duration"].value, c["resolution"].value) == (4, "540p")
    assert f.messages["duration"].value == f.messages["resolution"].value == ""
    assert f.state.kwargs()["duration"] == 4 and f.state.kwargs()["resolution"] == "540p"


def test_a_bad_url_next_to_a_chosen_file_is_flagged_in_the_form(png_bytes):
    f = form()
    f.controls["image"].value = (upload("frame.png", png_bytes),)
    f.controls["image_url"].value = "not a url"
    assert "must start with http" in f.messages["image_url"].value
    assert "not used: frame.png" in f.messages["image_url"].value
    assert "frame.png is used" in f.messages["image"].value
    assert "vidu-warning" in f.messages["image_url"].value
