"""What a saved notebook costs: run cells one by one in a real kernel (nbclient) and measure the
notebook as Save would write it after each (bytes, widget models in its saved widget state).

Like JupyterLab with "save widget state" on, every widget model's state is saved; nbclient saves
each model's full state (Lab leaves out values equal to the front end's defaults, so it writes
a little less). Cells carry no execution timing: Lab records none unless asked to.

Each size is also measured without the stills (``live_only``): the outputs' static parts
(HTML with the contact sheets, the summary text) and the players' poster frames, so a test
can bound what the live widgets cost and what their stills add, each on its own.
"""

from __future__ import annotations

import base64
import copy
import sys
from pathlib import Path
from typing import Any, NamedTuple

import nbformat
from nbclient import NotebookClient

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class Saved(NamedTuple):
    size: int  # bytes of the notebook file
    models: int  # widget models in its saved widget state
    live: int  # bytes of the notebook file without the stills (``live_only``)


def growth(saved: list[Saved]) -> list[int]:
    """Bytes each cell added to the saved notebook."""
    return [after.size - before.size for before, after in zip(saved, saved[1:], strict=False)]


def widget_state(nb: nbformat.NotebookNode) -> dict[str, Any]:
    """The widget state saved in ``nb``'s metadata (empty if none)."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {})


def live_only(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` as it was before widgets carried stills: widget outputs keep only the
    view and a one-line text, grids lose their poster frames."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                data.pop("text/html", None)
                if "text/plain" in data:
                    data["text/plain"] = str(data["text/plain"]).split("\n", 1)[0]
    for model in widget_state(nb).get("state", {}).values():
        model.get("state", {}).pop("posters", None)
    return nb


def run_measuring(cells: list[str], folder: Path) -> tuple[nbformat.NotebookNode, list[Saved]]:
    """Run ``cells`` in a fresh kernel of this interpreter, working in ``folder``; returns the
    notebook and, after each cell, what saving it then would have written: the cells run so
    far (so a cell's growth counts its source and outputs) and the widget state."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        record_timing=False,
    )
    client.km = client.create_kernel_manager()
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    sizes = []
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
            client.set_widgets_metadata()
            state = widget_state(nb)
            so_far = copy.copy(nb)
            so_far.cells = nb.cells[: index + 1]
            size = len(nbformat.writes(so_far).encode())
            live = len(nbformat.writes(live_only(so_far)).encode())
            sizes.append(Saved(size, len(state.get("state", {})), live))
    return nb, sizes


class VideoRun(NamedTuple):
    nb: nbformat.NotebookNode
    saved: list[Saved]
    text: str  # the notebook as Save writes it
    models: list[str]  # each saved widget model's anywidget id, else its model name


def run_on_videos(
    cells: list[str], folder: Path, cover: bytes, *, videos: int, prompt: str, rows: str
) -> VideoRun:
    """``run_measuring`` of ``cells`` after a first cell naming ``videos`` one-second noise
    videos (``VIDEOS``), a cover (``COVER``), ``PROMPT`` and running ``rows``; checks what
    every such notebook must: no cell failed, and no video's bytes were saved in it."""
    from videos import noise_video

    paths = [noise_video(folder / f"v{i}.mp4", seconds=1, size="320x180") for i in range(videos)]
    cover_path = folder / "cover.png"
    cover_path.write_bytes(cover)
    setup = f"VIDEOS = {[str(v) for v in paths]!r}\nCOVER = {str(cover_path)!r}\n"
    setup += f"PROMPT = {prompt!r}\n" + rows
    nb, saved = run_measuring([setup, *cells], folder)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    text = nbformat.writes(nb)
    assert "data:video" not in text
    for video in paths:
        assert base64.b64encode(video.read_bytes()[1000:1030]).decode() not in text
    state = widget_state(nb)["state"]
    models = [m["state"].get("_anywidget_id", m["model_name"]) for m in state.values()]
    return VideoRun(nb, saved, text, models)
