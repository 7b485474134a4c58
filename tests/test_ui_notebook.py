"""A saved notebook that shows players holds no video bytes and grows by a few KB per player."""

from __future__ import annotations

import base64
import os
import sys

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = [
    "from vidu_nb.ui import compare, show",
    (
        "rows = [dict(task_id=f't{i}', state='success', prompt=f'prompt {i}', seed=i,\n"
        "             credits=10, video_path=VIDEO, cover_path=COVER,\n"
        "             video_url='http://127.0.0.1:9/expired.mp4') for i in range(4)]\n"
        "grid = compare(rows, cols=2)\n"
        "grid"
    ),
    "show(rows[0])",
]


@pytest.mark.slow
def test_saved_notebook_has_no_video_bytes_and_stays_small(tmp_path, png_bytes):
    video = tmp_path / "video.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(400_000))
    cover = tmp_path / "cover.png"
    cover.write_bytes(png_bytes)
    setup = f"VIDEO = {str(video)!r}\nCOVER = {str(cover)!r}"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in [setup, *CELLS]]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    before = len(nbformat.writes(nb).encode())
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.km = client.create_kernel_manager()
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    client.execute()
    text = nbformat.writes(nb)
    players = 5
    growth = len(text.encode()) - before
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    assert state, "widget state was saved (so the check below is meaningful)"
    assert "data:video" not in text
    chunk = base64.b64encode(video.read_bytes()[1000:1030]).decode()
    assert chunk not in text
    assert growth < players * 6_000, growth
