"""No HTML injection from user or server text, and the API key never reaches a widget.

Builds the whole UI (form with an upload, cards of a success and of a refused submission,
grids, sweep panel, credits view) against the simulator with a sentinel key, then looks at the
state of every widget that exists, i.e. everything a saved notebook or the browser could see.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import pytest
from ipywidgets.widgets.widget import _instances
from simhelpers import running_stack
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.client import ViduClient
from vidu_nb.request.sweep import sweep
from vidu_nb.tracking.poller import Poller
from vidu_nb.ui import compare, credits_view, form, run_sweep, show
from vidu_nb.ui.card import TaskCard
from vidu_nb.ui.style import CSS

SENTINEL = "sk-SENTINEL-7f3a9c-do-not-leak"
HOSTILE = "<script>alert(1)</script>\"><img src=x onerror=alert(2)>'<b>"
#: Markup our own code writes; anything else in an HTML value must have come in escaped.
# Our own markup: a few tags, a class, and a title whose text is escaped (no quote, no tag).
OURS = re.compile(
    r"</?(b|i|br|pre|span)( class='[a-z0-9 _-]+')?( title='[^'<>]*')?>|&[a-z#0-9]+;", re.IGNORECASE
)


def state_since(before: set[str]) -> dict[str, dict]:
    """The state of every widget created since ``before`` (model ids) that is still open."""
    return {mid: w.get_state() for mid, w in list(_instances.items()) if mid not in before}


def html_values(states):
    for state in states.values():
        if state.get("_model_name") == "HTMLModel":
            yield state["value"]


@pytest.fixture
def world(tmp_path):
    with running_stack(tmp_path, speed=60, video_height=96, api_key=SENTINEL) as stack:
        yield stack


def test_key_never_in_widgets_and_hostile_text_always_escaped(world, png_bytes):
    sim, client, log, poller = world
    before = set(_instances)
    f = form(client, log, poller, experiment=HOSTILE)
    when = datetime.now(timezone.utc)
    f.controls["image"].value = (
        {"name": HOSTILE + ".png", "type": "image/png", "size": len(png_bytes),
         "content": memoryview(png_bytes), "last_modified": when},
    )  # fmt: skip
    f.controls["prompt"].value = HOSTILE
    f.controls["payload"].value = HOSTILE
    f.controls["model"].value = "viduq2-turbo"
    f.controls["duration"].value = 2
    f.controls["voice_id"].value = HOSTILE
    card = f.submit()
    assert until(lambda: card.view.state == "success" and card._player_box.children)
    # A refused submission (wrong key) shows the server's message on its card.
    bad = ViduClient(api_key=SENTINEL + "-wrong", base_url=sim.base_url)
    with Poller(bad, log) as bad_poller:
        refused = form(bad, log, bad_poller)
        refused.state.image_data = png_bytes
        refused_card = refused.submit()
        assert until(lambda: refused_card.view.done or refused_card.view.get("error"))
    # A failed task whose server message and err_code are hostile.
    req = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", prompt=HOSTILE, duration=2)
    failed = TaskCard(
        {"task_id": HOSTILE, "state": HOSTILE, "prompt": HOSTILE, "err_code": HOSTILE,
         "error": HOSTILE, "model": HOSTILE, "resolution": HOSTILE},
        log=log, client=client,
    )  # fmt: skip
    run = run_sweep(
        sweep(req, prompts=[HOSTILE, "a cat"], seeds=[1]),
        client=client, log=log, poller=poller, experiment=HOSTILE,
    )  # fmt: skip
    run.wait(60)
    f.sweep_panel.prompts.value = HOSTILE
    f.sweep_panel.seeds.value = "1, x<b>"
    f.sweep_panel.make_plan()
    grids = [compare(log.to_frame(), log=log, client=client), show(card.task_id, log=log)]
    credits = credits_view(log, by="experiment")
    assert poller.wait_all(30)

    states = state_since(before)
    assert len(states) > 100
    text = json.dumps(states, default=repr) + "".join(repr(w) for w in list(_instances.values()))
    assert SENTINEL not in text
    for widget in (f, card, refused_card, failed, run, credits, *grids):
        assert SENTINEL not in repr(widget)
    htmls = list(html_values(states))
    table = credits.children[0].value  # pandas' own markup: look for the hostile tags only
    assert "&lt;script&gt;" in table and "<script>" not in table and "<img" not in table
    htmls.remove(table)
    htmls = [h for h in htmls if h != f"<style>{CSS}</style>"]  # our stylesheet, once per form
    assert any("&lt;script&gt;" in h for h in htmls)  # the hostile text did reach the HTML...
    for h in htmls:  # ...but only escaped: strip our own markup, no tag may remain
        assert "<" not in OURS.sub("", h), h
    for state in states.values():
        for cls in state.get("_dom_classes", ()):
            assert re.fullmatch(r"[A-Za-z0-9_-]+", cls), cls
    assert grids[0].items and all("<" not in i.get("state", "") for i in grids[0].items)
