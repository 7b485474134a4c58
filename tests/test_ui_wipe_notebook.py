"""A saved notebook with A/B wipes holds the wipe's code once and no video bytes; each wipe
grows it by at most 2 KB of widget state beyond the shared module (JupyterLab's "save widget
state" on), and its output carries A's and B's contact sheets for frontends without a kernel."""

from __future__ import annotations

import json
import re

import pytest
from saved_notebook import growth, run_on_videos, widget_state

from vidu_nb.ui.wipe import WipeCode

#: The costliest prompt to save: long, and every character one that HTML and JSON escape.
PROMPT = '"<a fox> & friends" ' * 20
ROWS = (
    "from vidu_nb import wipe\n"
    "from vidu_nb.ui import compare\n"
    "rows = [dict(task_id=f'{880000000000000000 + i}', state='success', seed=i,\n"
    "             prompt=PROMPT + str(i), model='viduq2-pro', duration=5, resolution='720p',\n"
    "             credits=10, video_path=VIDEOS[i], cover_path=COVER,\n"
    "             video_url='http://127.0.0.1:9/expired.mp4')\n"
    "        for i in range(4)]"
)
CELLS = ["wipe(rows[0], rows[1])", "wipe(rows[2], rows[3], mode='difference')"]
CELLS += ["compare(rows).wipe(1, 2)"]
#: Bytes each wipe after the first may add without its stills: its cell, its output's view and
#: a line of text, and its ``Wipe`` state with two items (measured: 1.79 KB with ``PROMPT``;
#: 2.40 KB before the items kept only what the front end reads and the grid's unused traits
#: were left out of the state).
PER_WIPE_MAX = 2048
#: The first brings the shared module too (wipe.js and wipe.css: 16.4 KB in the notebook's
#: JSON) and the Layout every grid and wipe shares (measured: 20.1 KB in all).
FIRST_WIPE_MAX = 22_000
#: What each video's stills may add on top, as for every player (``test_ui_notebook``): a
#: wipe has two (measured: 34.3 KB per wipe on noise with ``PROMPT``).
STILL_MAX = 2 * 20 * 1024
DATA_URI = re.compile(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+")


@pytest.mark.slow
def test_saved_wipes_hold_the_code_once_no_video_bytes_and_stay_within_budget(tmp_path, png_bytes):
    run = run_on_videos(CELLS, tmp_path, png_bytes, videos=4, prompt=PROMPT, rows=ROWS)
    nb, saved, text, models = run
    assert models.count("vidu_nb.ui.wipe.WipeCode") == 1, models
    assert models.count("vidu_nb.ui.wipe.Wipe") == 3, models
    assert text.count(json.dumps(WipeCode._esm)[1:-1]) == 1  # once for the whole notebook

    # Without a kernel: each wipe's output shows A's and B's sheets, its state their posters.
    for cell in nb.cells[1:3]:
        data = cell.outputs[-1].data
        assert len(DATA_URI.findall(data["text/html"])) == 2
        assert "A/B comparison" in data["text/html"] and data["text/plain"].startswith("Wipe(A: 88")
        assert "<a fox>" not in data["text/html"]  # escaped
    state = widget_state(nb)["state"]
    wipes = [m["state"] for m in state.values() if m["state"].get("mode")]
    assert all(set(w["posters"]) == {"a", "b"} for w in wipes)

    added = growth(saved)
    live = [after.live - before.live for before, after in zip(saved, saved[1:], strict=False)]
    print(json.dumps({"added": added, "live": live}))
    assert live[0] <= FIRST_WIPE_MAX, live
    assert live[1] <= PER_WIPE_MAX, live
    still = [a - b for a, b in zip(added, live, strict=True)]
    assert max(still[:2]) <= STILL_MAX, still
