"""A saved notebook that shows players holds no video bytes, holds the player code once, and
grows by under 2 KB per player and per grid cell (JupyterLab's "save widget state" on)."""

from __future__ import annotations

import base64
import json
import os

import nbformat
import pytest
from saved_notebook import growth, run_measuring, widget_state

from vidu_nb.ui.player import PlayerCode

PLAYERS = 10
ROWS = (
    "from vidu_nb.ui import compare, show\n"
    "rows = [dict(task_id=f'{880000000000000000 + i}', state='success', seed=i,\n"
    "             prompt=f'a fox runs through the snow at dawn {i}', model='viduq2-pro',\n"
    "             duration=5, resolution='720p', credits=10, video_path=VIDEO,\n"
    "             cover_path=COVER, video_url='http://127.0.0.1:9/expired.mp4')\n"
    f"        for i in range({PLAYERS})]"
)
CELLS = [
    *(f"show(rows[{i}])" for i in range(PLAYERS)),
    "compare(rows[:1])",
    "compare(rows)",
]
#: Bytes a saved notebook may grow by (cell, output and widget state). Measured with nbclient's
#: full widget state: a show() player 1.79 KB (JupyterLab's own save: 1.76 KB), a grid of one
#: 1.80 KB, each further grid cell 0.38 KB; the first player 15.0 KB, as it brings the code
#: (11.3 KB, once per notebook) and the Layout all grids share. Before the code was shared,
#: every player carried a packed copy: 6.6 KB per player (8.3 KB the first).
PER_PLAYER_MAX = 2048
PER_CELL_MAX = 2048
FIRST_PLAYER_MAX = 16_000


@pytest.mark.slow
def test_saved_notebook_holds_the_code_once_and_no_video_bytes(tmp_path, png_bytes):
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(400_000))
    cover = tmp_path / "cover.png"
    cover.write_bytes(png_bytes)
    setup = f"VIDEO = {str(video)!r}\nCOVER = {str(cover)!r}\n" + ROWS
    nb, saved = run_measuring([setup, *CELLS], tmp_path)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    text = nbformat.writes(nb)
    assert "data:video" not in text
    assert base64.b64encode(video.read_bytes()[1000:1030]).decode() not in text
    state = widget_state(nb)["state"]
    models = [m["state"].get("_anywidget_id", m["model_name"]) for m in state.values()]
    assert models.count("LayoutModel") == 1, models  # nothing at import, one shared by grids
    assert models.count("vidu_nb.ui.player.PlayerCode") == 1, models
    assert models.count("vidu_nb.ui.player.VideoGrid") == PLAYERS + 2, models
    code = json.dumps(PlayerCode._esm)[1:-1]  # as the notebook's JSON writes it
    assert text.count(code) == 1  # once for the whole notebook, not once per player

    added = growth(saved)
    first, players = added[0], added[:PLAYERS]  # added[0]: the first show()
    per_player = (sum(players) - first) / (PLAYERS - 1)
    grid_of_1, grid_of_n = added[-2], added[-1]
    per_cell = (grid_of_n - grid_of_1) / (PLAYERS - 1)
    print(json.dumps({"first": first, "per_player": per_player, "grid_of_1": grid_of_1,
                      "per_cell": per_cell}))  # fmt: skip
    assert per_player <= PER_PLAYER_MAX, per_player
    assert grid_of_1 <= PER_PLAYER_MAX, grid_of_1  # a grid is one more player
    assert per_cell <= PER_CELL_MAX, per_cell
    assert first <= FIRST_PLAYER_MAX, first
