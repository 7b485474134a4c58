"""A saved notebook that shows players holds no video bytes and holds the player code once; the
live players grow it by under 2 KB each (JupyterLab's "save widget state" on), and each video's
stills (its contact sheet in the output's HTML, its poster frame in the widget state, its line
of summary text) by at most 20 KB more, measured on videos of noise, the worst case for JPEG."""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from saved_notebook import growth, live_only, run_on_videos, widget_state

from vidu_nb.ui.player import PlayerCode
from vidu_nb.ui.wipe import WipeCode

PLAYERS = 8
#: The costliest prompt to save: long, and every character one that HTML and JSON escape.
PROMPT = '"<a fox> & friends" ' * 20
ROWS = (
    "from vidu_nb.ui import compare, show\n"
    "rows = [dict(task_id=f'{880000000000000000 + i}', state='success', seed=i,\n"
    "             prompt=PROMPT + str(i), model='viduq2-pro',\n"
    "             duration=5, resolution='720p', credits=10, video_path=VIDEOS[i],\n"
    "             cover_path=COVER, video_url='http://127.0.0.1:9/expired.mp4')\n"
    f"        for i in range({PLAYERS})]"
)
CELLS = [
    *(f"show(rows[{i}])" for i in range(PLAYERS)),
    "compare(rows[:1])",
    "compare(rows)",
]
#: Bytes a saved notebook may grow by for the live players (cell, output and widget state,
#: without the stills). Measured with nbclient's full widget state: a show() player 1.79 KB
#: (JupyterLab's own save: 1.76 KB), a grid of one 1.80 KB, each further grid cell 0.38 KB;
#: the first player 15.0 KB, as it brings the code (11.3 KB, once per notebook) and the Layout
#: all grids share; 16.3 KB since the code sets poster frames and says when it is a saved copy;
#: 14.5 KB once the code was stored compact, 23.1 KB with the judging bar, Promote and the
#: prompt titles' differences (still once per notebook).
#: Before the code was shared, every player carried a packed copy: 6.6 KB per player (8.3 KB
#: the first). With frame-accurate review (frame steps, rate, loop range, solo/mute, keys,
#: drift correction) the code is 19.3 KB without its comments and indentation: the first
#: player 24.3 KB, a show() player 1.78 KB, each further grid cell 0.44 KB (its frame rate).
#: Review and judging together in the one shared code (both key sets in one dispatcher, the
#: legend, the options a duel draws its players with): the code 23.9 KB and its CSS 6.1 KB as
#: the notebook's JSON writes them, the first player 34.3 KB; a show() player 1.88 KB, each
#: further grid cell 0.56 KB (its frame rate and the label before its judgment). The first
#: player's limit is that, rounded up to 35 KB: the code is saved once per notebook, and what
#: every further player or cell adds stays under the 2 KB limits below.
#: Picking two cells of a grid for an A/B wipe (the toggles, the key, the panel) grew the
#: code: the first player 38.2 KB (limit 40 KB); a show() player 1.89 KB, a grid of one 1.94 KB
#: (it saves nothing for A/B), each further cell 0.55 KB. A grid of two cells or more also
#: references the wipe's code (``WipeCode``: its A/B panel draws with it), saved once per
#: notebook with the first such grid: 13.5 KB as the notebook's JSON writes it, stored
#: compact. A shared module, it is counted once apart (``SHARED_MAX``), not in a grid's cost.
PER_PLAYER_MAX = 2048
PER_CELL_MAX = 2048
FIRST_PLAYER_MAX = 40 * 1024
SHARED_MAX = 14 * 1024
#: What each video's stills may add on top. Measured on noise with ``PROMPT``: 15.7 KB per show()
#: player, 15.8 KB for a grid of one, 17.0 KB per further grid cell (a sheet of up to 10 KB and
#: a poster of up to 3 KB of JPEG, base64 in the notebook, plus the labels as HTML and text).
STILL_MAX = 20 * 1024
DATA_URI = re.compile(r"data:image/jpeg;base64,[A-Za-z0-9+/=]+")


@pytest.mark.slow
def test_saved_notebook_holds_the_code_once_stills_within_budget_and_no_video_bytes(
    tmp_path, png_bytes
):
    run = run_on_videos(CELLS, tmp_path, png_bytes, videos=8, prompt=PROMPT, rows=ROWS)
    nb, saved, text, models = run
    state = widget_state(nb)["state"]
    assert models.count("LayoutModel") == 1, models  # nothing at import, one shared by grids
    assert models.count("vidu_nb.ui.player.PlayerCode") == 1, models
    assert models.count("vidu_nb.ui.player.VideoGrid") == PLAYERS + 2, models
    assert models.count("vidu_nb.ui.wipe.WipeCode") == 1, models  # with the grid of 8 only
    wipe_code = json.dumps(WipeCode._esm)[1:-1]
    assert text.count(wipe_code) == 1
    code = json.dumps(PlayerCode._esm)[1:-1]  # as the notebook's JSON writes it
    assert text.count(code) == 1  # once for the whole notebook, not once per player

    # Every output carries its videos' sheets in its HTML, every player its poster frame.
    outputs = [c.outputs[0].data for c in nb.cells[1:]]
    sheets = [len(DATA_URI.findall(data["text/html"])) for data in outputs]
    assert sheets == [1] * PLAYERS + [1, PLAYERS], sheets
    grids = [m["state"] for m in state.values() if "items" in m["state"]]
    posters = [g["posters"].get(item["key"], "") for g in grids for item in g["items"]]
    assert len(posters) == 2 * PLAYERS + 1
    assert all(p.startswith("data:image/jpeg;base64,") for p in posters)

    added = growth(saved)
    live = [after.live - before.live for before, after in zip(saved, saved[1:], strict=False)]
    still = [a - b for a, b in zip(added, live, strict=True)]
    players, live_players = added[:PLAYERS], live[:PLAYERS]
    per_player = (sum(live_players) - live_players[0]) / (PLAYERS - 1)
    still_per_player = sum(still[:PLAYERS]) / PLAYERS
    # The wipe's code came with the grid of 8: the notebook's size with and without its model.
    bare = live_only(nb)
    with_it = len(nbformat.writes(bare).encode())
    widget_state(bare)["state"] = {
        k: m for k, m in widget_state(bare)["state"].items()
        if m["state"].get("_anywidget_id") != "vidu_nb.ui.wipe.WipeCode"
    }  # fmt: skip
    shared = with_it - len(nbformat.writes(bare).encode())
    grid_of_1, grid_of_n = live[-2], live[-1] - shared
    per_cell = (grid_of_n - grid_of_1) / (PLAYERS - 1)
    still_per_cell = (still[-1] - still[-2]) / (PLAYERS - 1)
    print(json.dumps({
        "first": live_players[0], "per_player": per_player, "grid_of_1": grid_of_1,
        "per_cell": per_cell, "still_per_player": still_per_player, "still_grid_of_1": still[-2],
        "still_per_cell": still_per_cell, "wipe_code": shared, "total_per_player": sum(players) / PLAYERS,
    }))  # fmt: skip
    assert per_player <= PER_PLAYER_MAX, per_player
    assert grid_of_1 <= PER_PLAYER_MAX, grid_of_1  # a grid is one more player
    assert per_cell <= PER_CELL_MAX, per_cell
    assert live_players[0] <= FIRST_PLAYER_MAX, live_players[0]
    assert 0 < shared <= SHARED_MAX, shared
    assert max(still[:PLAYERS]) <= STILL_MAX, still[:PLAYERS]
    assert still[-2] <= STILL_MAX and still_per_cell <= STILL_MAX, (still[-2], still_per_cell)
