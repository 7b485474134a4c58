"""A saved notebook that shows players holds no video bytes and grows by a few KB per player."""

from __future__ import annotations

import base64
import json
import os

import nbformat
import pytest
from saved_notebook import run_measuring, widget_state

CELLS = [
    "from vidu_nb.ui import compare, show",
    (
        "rows = [dict(task_id=f't{i}', state='success', prompt=f'prompt {i}', seed=i,\n"
        "             credits=10, video_path=VIDEO, cover_path=COVER,\n"
        "             video_url='http://127.0.0.1:9/expired.mp4') for i in range(5)]\n"
        "grid = compare(rows, cols=3)\n"
        "grid"
    ),
    "show(rows[0])",
]
#: Saved-notebook growth per cell, in bytes, cell metadata and output included. Measured:
#: 5-player grid 9.6 KB (with the one Layout all grids share), single player 6.6 KB (with row
#: and column headers, the empty-grid note, CSS-drawn icons and capped cell widths); before
#: the player code was packed, 12.2 and 10.9 KB. Most of it is the packed player code (~4.8 KB).
GRID_OF_5_MAX = 10_500
SINGLE_PLAYER_MAX = 7_000


@pytest.mark.slow
def test_saved_notebook_has_no_video_bytes_and_stays_small(tmp_path, png_bytes):
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(400_000))
    cover = tmp_path / "cover.png"
    cover.write_bytes(png_bytes)
    setup = f"VIDEO = {str(video)!r}\nCOVER = {str(cover)!r}\n" + CELLS[0]
    nb, saved = run_measuring([setup, *CELLS[1:]], tmp_path)
    sizes = [s.size for s in saved]
    text = nbformat.writes(nb)
    state = widget_state(nb)
    assert state, "widget state was saved (so the checks below are meaningful)"
    assert "data:video" not in text
    chunk = base64.b64encode(video.read_bytes()[1000:1030]).decode()
    assert chunk not in text
    models = [m["model_name"] for m in state["state"].values()]
    assert models.count("LayoutModel") == 1, models  # nothing at import, one shared by grids
    grid, single = sizes[1] - sizes[0], sizes[2] - sizes[1]
    print(json.dumps({"grid_of_5_bytes": grid, "single_player_bytes": single}))
    assert grid < GRID_OF_5_MAX, grid
    assert single < SINGLE_PLAYER_MAX, single
