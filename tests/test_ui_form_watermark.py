"""The form's Advanced section: watermark, its corner and image, and meta_data (live JSON check).
They reach the request, the JSON and curl previews, and what the service receives."""

from __future__ import annotations

import html
import json

from waiting import until

from vidu_nb.request.spec import DEFAULT_WM_POSITION
from vidu_nb.ui import form
from vidu_nb.ui.form_state import FormState


def preview_body(f) -> dict:
    return json.loads(html.unescape(f.preview_json.value)[5:-6])


def test_watermark_fields_reach_the_request_only_when_watermark_is_on(png_bytes):
    s = FormState(model="viduq2-turbo", image_data=png_bytes)
    s.wm_position, s.wm_url = 1, "https://example.org/mark.png"
    assert {"wm_position", "wm_url"} <= set(s.inactive())  # no watermark: no effect
    options = s.build().request.options()
    assert not {"watermark", "wm_position", "wm_url"} & set(options)
    s.watermark = True
    assert not {"wm_position", "wm_url"} & set(s.inactive())
    options = s.build().request.options()
    assert options["watermark"] is True and options["wm_position"] == 1
    assert options["wm_url"] == "https://example.org/mark.png"
    s.wm_url = ""
    s.wm_position = DEFAULT_WM_POSITION
    options = s.build().request.options()
    assert options["wm_position"] == 3 and "wm_url" not in options


def test_meta_data_is_checked_as_json_while_typing(png_bytes):
    s = FormState(model="viduq2-turbo", image_data=png_bytes)
    s.meta_data = '{"project": "fox", '
    result = s.build()
    assert not result.ok and result.request is None
    assert result.errors["meta_data"].startswith("meta_data must be JSON")
    s.meta_data = '{"project": "fox", "take": 2}'
    result = s.build()
    assert result.ok and json.loads(result.request.meta_data) == {"project": "fox", "take": 2}


def test_the_advanced_section_controls_previews_and_messages(png_bytes):
    f = form()
    f.state.image_data = png_bytes
    f.state.model = "viduq2-turbo"
    c = f.controls
    corner = c["wm_position"]
    assert corner.value == 3 and corner.label == "bottom right (3)"
    assert [label for label, _n in corner.options] == [
        "top left (1)",
        "top right (2)",
        "bottom right (3)",
        "bottom left (4)",
    ]
    assert corner.disabled and c["wm_url"].disabled  # enabled only with the watermark on
    assert "only when watermark is on" in f.messages["wm_position"].value
    c["watermark"].value = True
    assert not corner.disabled and not c["wm_url"].disabled
    assert f.messages["wm_position"].value == ""
    corner.value = 2
    c["wm_url"].value = "https://example.org/<mark>.png"
    c["meta_data"].value = '{"project": "<fox>"}'
    body = preview_body(f)
    assert body["watermark"] is True and body["wm_position"] == 2
    assert body["wm_url"] == "https://example.org/<mark>.png"
    assert json.loads(body["meta_data"]) == {"project": "<fox>"}
    curl = html.unescape(f.preview_curl.value)
    assert '"wm_position": 2' in curl and '"watermark": true' in curl and "meta_data" in curl
    assert "<fox>" not in f.preview_json.value  # escaped in the HTML
    c["meta_data"].value = "{not json"
    assert "meta_data must be JSON" in f.messages["meta_data"].value
    assert "vidu-error" in f.messages["meta_data"].value and f.submit_button.disabled
    assert "fix meta_data" in f.estimate_html.value
    assert f.preview_json.value == ""  # nothing to preview while the request is invalid
    c["watermark"].value = False
    c["meta_data"].value = ""
    body = preview_body(f)
    assert not {"watermark", "wm_position", "wm_url", "meta_data"} & set(body)


def test_the_watermark_and_meta_data_are_submitted(live, png_bytes):
    sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    f.controls["watermark"].value = True
    f.controls["wm_position"].value = 4
    f.controls["wm_url"].value = "https://example.org/mark.png"
    f.controls["meta_data"].value = '{"take": 7}'
    card = f.submit()
    assert until(lambda: card.task_id)
    received = sim.engine.tasks_by_id()[card.task_id].fields
    assert received["watermark"] is True and received["wm_position"] == 4
    assert received["wm_url"] == "https://example.org/mark.png"
    assert json.loads(received["meta_data"]) == {"take": 7}
    row = log.get(card.task_id)
    assert (row["watermark"], row["wm_position"], row["wm_url"]) == (
        True,
        4,
        "https://example.org/mark.png",
    )
    assert poller.wait_all(30)
