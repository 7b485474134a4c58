"""``vidu-nb report`` (and the recipe of ``submit --download``) against a real simulator."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from report_sweep import read_html

from vidu_nb.cli import EXIT, main
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.recipe import read_recipe, read_sidecar
from vidu_nb.tracking.tasklog import TaskLog

KEY = "sk-cli-report-DO-NOT-PRINT-41c9"
SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "sample.png"
PROMPTS = ("a <b>bold</b> fox", "waves at dusk")


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """A simulator and a log with 4 tasks of experiment ``cli-exp`` (2 prompts x 2 seeds),
    submitted by the command line and never downloaded, plus one downloaded with --download."""
    folder = tmp_path_factory.mktemp("cli-report")
    with Simulator(api_key=KEY, speed=50.0, video_height=96) as sim:
        patch = pytest.MonkeyPatch()
        patch.setenv("VIDU_BASE_URL", sim.base_url)
        patch.setenv("VIDU_API_KEY", KEY)
        patch.setenv("VIDU_SIM_SPEED", "50")
        patch.setenv("VIDU_LOG_PATH", str(folder / "log.sqlite"))
        patch.delenv("VIDU_AUTH_SCHEME", raising=False)
        for prompt in PROMPTS:
            for seed in ("1", "2"):
                code = main([
                    "submit", str(SAMPLE), "-p", prompt, "--seed", seed, "-d", "1",
                    "-r", "540p", "--experiment", "cli-exp", "--wait",
                ])  # fmt: skip
                assert code == 0
        code = main([
            "submit", str(SAMPLE), "-p", "kept", "--seed", "5", "-d", "1", "-r", "540p",
            "--experiment", "dl", "--download", str(folder / "videos"),
        ])  # fmt: skip
        assert code == 0
        yield folder
        patch.undo()


@pytest.fixture
def env(logged, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDU_LOG_PATH", str(logged / "log.sqlite"))
    for name in ("VIDU_API_KEY", "VIDU_BASE_URL"):  # the simulator may be gone: files only
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_submit_download_writes_the_recipe_into_the_video_and_a_sidecar(logged):
    video = next((logged / "videos").glob("*.mp4"))
    recipe = read_recipe(video)
    assert recipe == read_sidecar(video)
    assert {"prompt": "kept", "seed": 5, "duration": 1, "resolution": "540p"}.items() <= (
        recipe.items()
    )
    assert recipe["experiment"] == "dl" and recipe["model"] and recipe["task_id"]


def test_report_of_an_experiment_by_prompt_and_seed(env, logged, capsys):
    code, out, err = run(
        capsys, "report", "--experiment", "cli-exp", "--rows", "prompt", "--cols", "seed",
        "sweep.html",
    )  # fmt: skip
    assert code == EXIT["ok"], err
    assert out.strip() == "sweep.html" and "wrote a report of 4 tasks" in err
    page = read_html((env / "sweep.html").read_text(encoding="utf-8"))
    assert len(page.all("video")) == 4 and len(page.all("div", "vr-rowhead")) == 2
    assert page.handlers == [] and not page.all("b")  # the prompt's markup stays text
    assert "a <b>bold</b> fox" in "".join(page.text)
    videos = sorted((env / "sweep_files").glob("*.mp4"))
    assert len(videos) == 4
    ids = set(TaskLog(logged / "log.sqlite").to_frame(experiment="cli-exp")["task_id"])
    assert {read_recipe(v)["task_id"] for v in videos} == ids


def test_zip_embed_filters_and_a_column_count(env, capsys):
    code, out, err = run(capsys, "report", "--experiment", "cli-exp", "--videos", "zip", "r.html")
    assert code == 0 and out.strip() == "r.zip", err
    with zipfile.ZipFile(env / "r.zip") as zf:
        assert "r.html" in zf.namelist() and sum(n.endswith(".mp4") for n in zf.namelist()) == 4
    code, out, err = run(
        capsys, "report", "--state", "success", "--model", "viduq3-pro", "--tag", "none-such",
        "x.html",
    )  # fmt: skip
    assert code == EXIT["usage"] and "no tasks match" in error_line(err)
    code, out, err = run(
        capsys, "report", "--state", "success", "--cols", "5", "--videos", "embed",
        "--title", "All <done>", "all.html",
    )  # fmt: skip
    assert code == 0, err
    text = (env / "all.html").read_text(encoding="utf-8")
    page = read_html(text)
    assert len(page.all("video")) == 5 and "<title>All &lt;done&gt;</title>" in text
    assert "grid-template-columns: repeat(5," in text
    assert sorted(p.name for p in env.iterdir()) == ["all.html", "r.zip"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--experiment", "nope", "r.html"], "experiments in the log: cli-exp, dl"),
        (
            ["--experiment", "cli-exp", "--state", "failed", "r.html"],
            "no tasks match --experiment=cli-exp --state=failed",
        ),
        (["--state", "sleeping", "r.html"], "unknown state"),
        (["--rows", "colour", "r.html"], "rows"),
        (["--videos", "inline", "r.html"], "invalid choice"),
        (["--since", "yesterday", "r.html"], "--since"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_naming_it(env, capsys, argv, says):
    code, out, err = run(capsys, "report", *argv)
    assert code == EXIT["usage"] and says in err, err
    assert out == "" and list(env.iterdir()) == []


def test_no_log_and_a_folder_as_out_exit_2(env, capsys, monkeypatch):
    (env / "folder").mkdir()
    code, _out, err = run(capsys, "report", "folder")
    assert code == EXIT["usage"] and "is a folder" in error_line(err)
    monkeypatch.setenv("VIDU_LOG_PATH", str(env / "missing.sqlite"))
    code, _out, err = run(capsys, "report", "r.html")
    assert code == EXIT["usage"] and "no task log" in error_line(err)


def test_the_command_loads_no_widget_library(env, logged):
    import subprocess
    import sys

    code = (
        "import sys; from vidu_nb.cli import main\n"
        "code = main(['report', '--experiment', 'cli-exp', 'r.html'])\n"
        "print(code, [m for m in ('ipywidgets', 'anywidget', 'matplotlib') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=env, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.split() == ["r.html", "0", "[]"], out.stderr
    assert (env / "r.html").is_file()
