"""A hostile service's text reaches the UI only as text.

A stub server stands in for a malicious remote: its task id, state, model, err_code and
creation URLs carry markup, a ``javascript:`` URL and attribute breakers. Cards, players,
grids with row/column headers and the credits views built from what it answered must show
it escaped (HTML widgets) or as plain values the front end sets with ``textContent`` and
DOM properties (grid items); the grid never receives a non-http(s) URL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from ipywidgets.widgets.widget import _instances
from simhelpers import serving

from vidu_nb import Img2VideoRequest, ViduClient
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import compare, credits_view, show
from vidu_nb.ui.card import TaskCard
from vidu_nb.ui.player import LOADER, PlayerCode

HOSTILE = "<img src=x onerror=alert(1)>\"' onmouseover=alert(2) &amp;$x^{<b>}$"
COVER = 'https://cdn.example/c.jpg"><script>alert(3)</script>'
#: Markup our own code writes; anything else in an HTML value must have come in escaped.
OURS = re.compile(r"</?(b|i|br|pre|span)( class='[a-z0-9 _-]+')?>|&[a-z#0-9]+;", re.IGNORECASE)


class _Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer({"task_id": HOSTILE, "state": HOSTILE, "model": HOSTILE, "credits": 3,
                      "resolution": HOSTILE, "payload": HOSTILE})  # fmt: skip

    def do_GET(self) -> None:
        creation = {"id": HOSTILE, "url": "javascript:alert(4)", "cover_url": COVER,
                    "watermarked_url": "data:text/html,<script>alert(5)</script>"}  # fmt: skip
        self._answer({"id": HOSTILE, "state": "success", "err_code": HOSTILE, "credits": 3,
                      "model": HOSTILE, "creations": [creation]})  # fmt: skip


@pytest.fixture
def hostile_url() -> Iterator[str]:
    with serving(_Hostile) as url:
        yield url


def test_a_hostile_service_reaches_cards_grids_and_credits_only_escaped(
    hostile_url, tmp_path, png_bytes
):
    client = ViduClient("sk-review-html-0123456789", hostile_url, max_retries=0)
    before = set(_instances)
    with TaskLog(tmp_path / "tasks.sqlite") as log:
        request = Img2VideoRequest(
            image=png_bytes, model="viduq2-turbo", duration=2, prompt=HOSTILE
        )
        task = client.submit(request)
        log.record_submission(request, task, experiment=HOSTILE, tags=[HOSTILE], notes=HOSTILE)
        log.update(client.get(task))
        frame = log.to_frame()
        assert frame["task_id"].tolist() == [HOSTILE]
        views = [
            TaskCard(HOSTILE, log=log, client=client),
            TaskCard(task, log=log, client=client),
            show(HOSTILE, log=log, client=client),
            compare(frame, log=log, client=client),
            compare(frame, rows="prompt", cols="experiment", log=log, client=client),
        ]
        views += [credits_view(log, by=by) for by in ("state", ["experiment", "model"])]
        states = {mid: w.get_state() for mid, w in list(_instances.items()) if mid not in before}
    htmls = [s["value"] for s in states.values() if s.get("_model_name") == "HTMLModel"]
    tables = [h for h in htmls if "<table" in h]
    assert len(tables) == 2 and any("&lt;img" in t for t in tables)  # the experiment name
    for table in tables:  # pandas' own markup: look for the hostile tags only
        assert "<img" not in table and "<script" not in table and "<b>}" not in table
    cards = [h for h in htmls if h not in tables]
    assert any("&lt;img" in h for h in cards)  # the hostile text did reach the cards...
    for h in cards:  # ...escaped: with our own markup stripped, no tag remains
        assert "<" not in OURS.sub("", h), h
    items = [i for s in states.values() for i in s.get("items", [])]
    titles = [t for s in states.values() for t in (*s.get("row_titles", ()), *s.get("col_titles", ()))]  # fmt: skip
    assert len(items) == 4 and any(HOSTILE in t for t in titles)
    for item in items:
        for name in ("video_url", "poster_url"):
            assert item[name] == "" or item[name].startswith("https://"), item
        assert re.fullmatch(r"[a-z0-9_-]+", item["state"]), item
    for state in states.values():
        for poster in (state.get("posters") or {}).values():  # frames the kernel drew
            assert poster.startswith("data:image/jpeg;base64,"), poster[:60]
        for cls in state.get("_dom_classes", ()):
            assert re.fullmatch(r"[A-Za-z0-9_-]+", cls), cls


def test_the_player_front_end_never_parses_text_as_html_or_code():
    """Labels, titles, metadata and URLs go in through ``textContent`` and DOM properties."""
    source = f"{PlayerCode._esm}\n{LOADER}"  # the shared code and each grid's loader
    sinks = r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\s*[\"']on|srcdoc|createContextualFragment"  # noqa: E501
    assert not re.search(sinks, source)
    # Every URL the player loads is an item's http(s) URL, the kernel's answer, a blob, or the
    # poster frame the kernel drew from its cache (``posters``: data: JPEGs, checked below).
    assignments = re.findall(r"\.(?:src|poster)\s*=\s*([^;]+);", source)
    allowed = ("url", "it.poster_url", "still", "posters[key]")
    assert assignments and all(a.strip() in allowed for a in assignments), assignments
