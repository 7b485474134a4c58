"""The notebooks: committed without outputs, and each runs top to bottom against a simulator.

Execution uses nbclient in a real kernel whose environment points at a fast loopback simulator
(as ``vidu-nb lab`` and Binder's ``start`` do with a simulator subprocess). Output-widget
contents are captured by the front end, so the checks read the task log and a final cell that
prints facts from the kernel.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vidu_nb.tracking.tasklog import TaskLog

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
NAMES = {p.name for p in NOTEBOOKS}


def test_the_three_notebooks_and_the_sample_image_exist():
    assert {
        "quickstart.ipynb",
        "compare_prompts_and_seeds.ipynb",
        "task_log_analysis.ipynb",
    } <= NAMES
    sample = REPO / "notebooks" / "sample.png"
    assert sample.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sample.stat().st_size < 100_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs_or_widget_state(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: outputs committed"
            assert cell.execution_count is None, f"{path.name}: execution count committed"
        assert "widgets" not in cell.metadata
    text = path.read_text()
    assert not re.search(r"VIDU_API_KEY\"\]\s*=\s*\"[^\"]", text), "a key is written in"
    assert "/work/" not in text and "/tmp/" not in text  # no machine paths


def test_strip_script_agrees():
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "strip-notebooks"), "--check"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout


def test_strip_script_strips(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "2"})]
    nb.cells[0].execution_count = 3
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    script = [sys.executable, str(REPO / "scripts" / "strip-notebooks")]
    assert subprocess.run([*script, "--check", str(path)], capture_output=True).returncode == 1
    assert subprocess.run([*script, str(path)], capture_output=True).returncode == 0
    clean = json.loads(path.read_text())
    assert clean["cells"][0]["outputs"] == [] and clean["cells"][0]["execution_count"] is None
    assert "widgets" not in clean["metadata"]


# -- execution ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def simulator():
    from vidu_nb.simulator import Simulator

    # A distinctive key, so that finding it anywhere in a saved notebook is unambiguous.
    with Simulator(speed=40.0, video_height=96, api_key="vidu-test-key-5f3a9c0e7d21") as sim:
        yield sim


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, simulator):
    """A copy of the notebooks folder with one task log, shared by the three runs in order."""
    from jupyter_harness import copy_notebooks

    return copy_notebooks(tmp_path_factory.mktemp("notebooks"))


def execute(
    name: str, workdir: Path, simulator, monkeypatch, checks: str, **extra_env: str
) -> list[str]:
    """Run a notebook plus a final cell of ``checks``; return the stream text of that cell."""
    nb = run_notebook(name, workdir, simulator, monkeypatch, checks, **extra_env)
    saved = nbformat.writes(nb)
    assert "widgets" in nb.metadata or "application/vnd.jupyter.widget-view+json" in saved
    return stdout_of(nb.cells[-1])


def stdout_of(*cells) -> list[str]:
    return [
        o.text for c in cells for o in c.get("outputs", [])
        if o.output_type == "stream" and o.name == "stdout"
    ]  # fmt: skip


def run_notebook(name: str, workdir: Path, simulator, monkeypatch, checks: str, **extra_env: str):
    """Run a notebook plus a final cell of ``checks`` in a kernel pointed at ``simulator``."""
    from jupyter_harness import kernel_env

    env = kernel_env(simulator.base_url, simulator.api_key, workdir.parent / f"{name}-jupyter")
    env["VIDU_LOG_PATH"] = str(workdir / "vidu_tasks.sqlite")
    env.update(extra_env)
    for key in [k for k in os.environ if k.startswith("VIDU_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(workdir / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(checks))
    client = nbclient.NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    # Saved as a user would save it (outputs and widget state included): the key is not there.
    saved = nbformat.writes(nb)
    assert simulator.api_key not in saved
    return nb


@pytest.mark.slow
def test_quickstart_runs_against_the_simulator(workdir, simulator, monkeypatch):
    out = execute(
        "quickstart.ipynb", workdir, simulator, monkeypatch,
        "print(client.is_simulated, type(form).__name__, 'vidu-form' in form._dom_classes)\n"
        "print(task.state, task.id, balance.total > 0)",
    )  # fmt: skip
    simulated, kind, classed, state, task_id, funded = "".join(out).split()
    assert (simulated, kind, classed, state) == ("True", "Img2VideoForm", "True", "success")
    assert funded == "True"  # the balance cell read the simulator's credits
    row = TaskLog(workdir / "vidu_tasks.sqlite").get(task_id)
    assert row["experiment"] == "quickstart" and row["state"] == "success"
    assert Path(row["video_path"]).read_bytes()[4:8] == b"ftyp"


def connect_cell_output(workdir: Path, simulator, monkeypatch, preamble: str = "") -> str:
    """Run only the quickstart's first code cell (after ``preamble``); its printed text."""
    nb = nbformat.read(workdir / "quickstart.ipynb", as_version=4)
    connect = next(c for c in nb.cells if "ws = Workspace.from_env()" in c.source)
    cells = [nbformat.v4.new_code_cell(preamble)] if preamble else []
    source = connect.source.replace("client = ws.client", "client = RealLooking()", 1)
    source = source if preamble else connect.source
    nb.cells = [*cells, nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, workdir / "connect.ipynb")
    nb = run_notebook("connect.ipynb", workdir, simulator, monkeypatch, "poller.stop()")
    return "".join(stdout_of(*nb.cells))


@pytest.mark.slow
def test_quickstart_says_what_is_used_not_whether_a_key_is_set(tmp_path, simulator, monkeypatch):
    """Under `vidu-nb lab` or Binder, VIDU_API_KEY holds the simulator's key: the first cell
    must say the local simulator is used (it said "key set: True"), and never show the key."""
    from jupyter_harness import copy_notebooks

    workdir = copy_notebooks(tmp_path / "notebooks")
    text = connect_cell_output(workdir, simulator, monkeypatch)
    assert f"Using the local simulator at {simulator.base_url}" in text, text
    assert "nothing is charged" in text and "key set" not in text
    real = connect_cell_output(
        workdir, simulator, monkeypatch,
        "from vidu_nb import ViduClient\n\n"
        "class RealLooking(ViduClient):\n    is_simulated = False  # as the real service's client",
    )  # fmt: skip
    assert "Using the Vidu service at" in real and "charged" in real and "simulator" not in real
    assert simulator.api_key not in text + real


REAL_LOOKING = """
class RealLooking(type(client)):
    is_simulated = False  # what a client of the real service reports

client = RealLooking()
"""


@pytest.mark.slow
def test_quickstart_run_all_with_a_real_key_spends_nothing_unless_asked(
    tmp_path, simulator, monkeypatch
):
    """Run All with a real key: the code cell prints what it would cost and submits nothing
    unless ``SPEND_CREDITS = True``. The client is made to report a real service."""
    from jupyter_harness import copy_notebooks

    workdir = copy_notebooks(tmp_path / "notebooks")
    nb = nbformat.read(workdir / "quickstart.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "client = ws.client" in c.source)
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(REAL_LOOKING))
    nbformat.write(nb, workdir / "real.ipynb")
    posts = sum(1 for r in simulator.requests if r.method == "POST")
    nb = run_notebook(
        "real.ipynb", workdir, simulator, monkeypatch,
        "print('RESULT', client.is_simulated, SPEND_CREDITS, task)",
    )  # fmt: skip
    text = "".join(stdout_of(*nb.cells))
    assert "RESULT False False None" in text
    assert "Not submitted: on the real API this costs ~70 credits" in text, text
    assert "SPEND_CREDITS = True" in text
    assert sum(1 for r in simulator.requests if r.method == "POST") == posts
    assert TaskLog(workdir / "vidu_tasks.sqlite").to_frame().empty


COMPARE_FACTS = """
print(len(grid.items), grid.cols, run.experiment, page, bundle)
print(len(ranked.items), prompts[1] in ranked.row_titles[0], blind.done, close_up.mode)
print(promotion.handle)
"""


@pytest.mark.slow
def test_compare_notebook_runs_the_whole_loop(workdir, simulator, monkeypatch):
    """Sweep, grid, ratings, a blind duel, rankings, a wipe, measures and a promotion: what
    each step decided is in the task log file another process reads."""
    out = execute("compare_prompts_and_seeds.ipynb", workdir, simulator, monkeypatch, COMPARE_FACTS)
    items, cols, experiment, page, bundle, *rest = "".join(out).split()
    assert (items, cols) == ("6", "2")
    assert rest[:4] == ["6", "True", "True", "wipe"]  # the ranked grid: the duels' winner first
    handle = rest[4]
    log = TaskLog(workdir / "vidu_tasks.sqlite")
    frame = log.to_frame(experiment=experiment)
    drafts = frame[frame["parent_row_id"].isna()]
    assert len(drafts) == 6 and set(drafts["state"]) == {"success"}
    assert drafts["credits"].notna().all() and drafts["prompt"].nunique() == 3
    # Step 4: the example's judgments, as the grid's clicks would have written them.
    judged = {
        (row["prompt"].split()[0], int(row["seed"])): tuple(
            None if row.isna()[k] else row[k] for k in ("rating", "pick", "note")
        )
        for _, row in drafts.iterrows()
    }
    assert judged == {
        ("slow", 1): (None, None, None), ("slow", 2): (None, None, None),
        ("clouds", 1): (3, None, None),
        ("clouds", 2): (4, True, "smooth drift: the one to promote"),
        ("birds", 1): (2, False, None), ("birds", 2): (None, None, None),
    }  # fmt: skip
    # Steps 5 and 6: every pair of different prompts voted on once; the clouds rank first.
    votes = log.votes()
    assert len(votes) == 12 and not votes["tie"].any()
    ranking = log.rankings(by=["prompt"])
    assert ranking["prompt"].iloc[0].startswith("clouds drift")
    assert list(ranking["wins"]) == [8, 4, 0]
    # Step 8: every video of the sweep measured.
    assert drafts[["motion", "flicker", "first_frame_ssim"]].notna().all().all()
    # Step 9: the picked clouds video re-run at 1080p, its lineage in the log.
    rerun = log.get_by_ref(handle)
    picked = drafts[drafts["pick"].fillna(False).astype(bool)]
    assert rerun["parent_row_id"] == int(picked.index[0])
    assert (rerun["resolution"], rerun["seed_requested"]) == ("1080p", 2)
    assert rerun["experiment"] == experiment
    # Step 10: the report holds the sweep's six videos (not the re-run).
    assert (page, bundle) == ("compare_report.html", "compare_report.zip")
    assert (workdir / page).read_text().count('<video class="vr-video"') == 6
    assert len(list((workdir / "compare_report_files").glob("*.mp4"))) == 6
    with zipfile.ZipFile(workdir / bundle) as zf:
        assert sum(name.endswith(".mp4") for name in zf.namelist()) == 6


@pytest.mark.slow
def test_analysis_notebook_summarises_and_exports(workdir, simulator, monkeypatch):
    out = execute(
        "task_log_analysis.ipynb", workdir, simulator, monkeypatch,
        "print(len(df), len(by_settings), int(by_settings['tasks'].sum()))",
    )  # fmt: skip
    tasks, groups, grouped = map(int, "".join(out).split())
    assert tasks >= 8 and groups >= 8 and grouped == tasks
    exported = (workdir / "vidu_exports" / "tasks.csv").read_text().splitlines()
    assert len(exported) == tasks + 1
    assert (workdir / "vidu_exports" / "tasks.parquet").stat().st_size > 0


@pytest.fixture
def empty_account():
    """A service account with no tasks yet (the notebook syncs from the account's task list, so
    the shared simulator's tasks from the other runs would be brought in)."""
    from vidu_nb.simulator import Simulator

    with Simulator(speed=40.0, video_height=96, api_key="vidu-test-key-0b9e6c1d2a47") as sim:
        yield sim


@pytest.mark.slow
def test_analysis_notebook_on_an_empty_log_as_with_a_real_key(tmp_path, empty_account, monkeypatch):
    """Unchanged with a real key and nothing submitted yet: no demo batch (nothing spent), and
    the summaries, charts, grid and export say there is nothing yet instead of failing.

    The kernel has a key and a base URL like a real configuration; the only loopback tell,
    ``client.is_simulated``, is overridden by ``VIDU_DEMO_BATCH=0``, which takes the very branch
    a real key takes (the notebook documents it).
    """
    from jupyter_harness import copy_notebooks

    workdir = copy_notebooks(tmp_path / "notebooks")
    posts = sum(1 for r in empty_account.requests if r.method == "POST")
    nb = run_notebook(
        "task_log_analysis.ipynb", workdir, empty_account, monkeypatch,
        "print('ROWS', len(df), len(by_settings), demo)", VIDU_DEMO_BATCH="0",
    )  # fmt: skip
    text = "".join(stdout_of(*nb.cells))
    assert "ROWS 0 0 False" in text and "0 tasks on the service" in text
    assert "No demo batch" in text and "No finished videos yet" in text
    assert "No videos to watch yet" in text and "Nothing to export yet" in text
    assert sum(1 for r in empty_account.requests if r.method == "POST") == posts
    assert not (workdir / "vidu_exports").exists()


@pytest.mark.slow
def test_the_embedded_simulator_is_announced_by_a_line_in_a_notebook_not_a_warning(
    tmp_path, monkeypatch
):
    """With no key and no service (plain ``jupyter notebook``, no ``vidu-nb lab``) the kernel
    starts its own simulator: a one-line notice in the cell's output, not a stderr warning box
    with a source line. A script still gets the ``LocalSimulatorWarning``."""
    for key in [k for k in os.environ if k.startswith("VIDU_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("VIDU_SIM_SPEED", "40")
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from vidu_nb import ViduClient\nclient = ViduClient()")]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    outputs = nb.cells[0].outputs
    assert [o.output_type for o in outputs] == ["display_data"], outputs
    html = outputs[0].data["text/html"]
    assert "using the local simulator at http://127.0.0.1:" in html and "vidu-notice" in html
    assert "no credits are charged" in outputs[0].data["text/plain"]
    script = subprocess.run(
        [sys.executable, "-c", "from vidu_nb import ViduClient; ViduClient()"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "LocalSimulatorWarning: No VIDU_API_KEY set: using the local simulator" in script.stderr
