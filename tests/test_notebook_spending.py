"""compare_prompts_and_seeds.ipynb with a real key: "Run All" must not spend credits the reader
did not ask to spend (as in the quickstart); every later cell says there is nothing yet."""

from __future__ import annotations

import os

import pytest

from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NAME = "compare_prompts_and_seeds.ipynb"
REAL_LOOKING = """
class RealLooking(type(client)):
    is_simulated = False  # what a client of the real service reports

client = RealLooking()
ws = Workspace(client, log)  # the cells below submit through this workspace
poller = ws.poller
"""


def run_as_real(tmp_path, monkeypatch, edit, last_cell: str, key: str):
    """Run the notebook, with ``edit`` applied to its cells, against a simulator whose client
    reports itself real; returns the streamed text, the POSTs the service saw and the log."""
    from jupyter_harness import copy_notebooks, kernel_env

    with Simulator(speed=40.0, video_height=96, api_key=key) as sim:
        workdir = copy_notebooks(tmp_path / "notebooks")
        nb = nbformat.read(workdir / NAME, as_version=4)
        at = next(i for i, c in enumerate(nb.cells) if "ws = Workspace.from_env()" in c.source)
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(REAL_LOOKING))
        edit(nb.cells)
        nb.cells.append(nbformat.v4.new_code_cell(last_cell))
        env = kernel_env(sim.base_url, sim.api_key, tmp_path / "jupyter")
        env["VIDU_LOG_PATH"] = str(workdir / "vidu_tasks.sqlite")
        for name in [k for k in os.environ if k.startswith("VIDU_")]:
            monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        client = nbclient.NotebookClient(
            nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
        )
        client.execute()
        posts = sim.count("POST", "/img2video")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "".join(
        o.text for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream"
    )
    return text, posts, TaskLog(workdir / "vidu_tasks.sqlite")


@pytest.mark.slow
def test_run_all_with_a_real_key_submits_nothing_unless_asked(tmp_path, monkeypatch):
    text, posts, log = run_as_real(
        tmp_path,
        monkeypatch,
        lambda cells: None,
        "print('RESULT', SPEND_CREDITS, run)",
        key="vidu-review-key-2b7d",
    )
    assert "Not submitted: on the real API this costs" in text, text
    assert "SPEND_CREDITS = True" in text and "nothing to compare yet" in text
    assert "RESULT False None" in text
    assert posts == 0
    assert log.to_frame().empty


def spend(cells) -> None:
    cell = next(c for c in cells if c.source.startswith("SPEND_CREDITS = False"))
    cell.source = cell.source.replace("SPEND_CREDITS = False", "SPEND_CREDITS = True", 1)


@pytest.mark.slow
def test_run_all_with_a_real_key_spends_on_the_sweep_only_and_judges_nothing_for_you(
    tmp_path, monkeypatch
):
    """``SPEND_CREDITS = True`` submits the sweep, and nothing more: the re-run of the winner
    waits for its own ``PROMOTE = True``, and the example's ratings and duel votes are not
    written into a real account's log (the choices there are the user's clicks)."""
    text, posts, log = run_as_real(
        tmp_path,
        monkeypatch,
        spend,
        "print('RESULT', len(judged), EXAMPLE_CHOICES)",
        key="vidu-review-key-7c1e",
    )
    assert "RESULT 6 False" in text
    assert "No votes yet: vote in the duel above" in text
    assert "would cost about" in text and "Set PROMOTE = True" in text
    assert posts == 6  # the sweep, not the re-run
    assert len(log.to_frame()) == 6 and log.votes().empty
    assert log.to_frame()[["rating", "pick", "note"]].isna().all().all()
