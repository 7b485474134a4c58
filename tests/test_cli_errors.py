"""The ``vidu-nb`` command as a shell user meets it: bad options are refused before anything is
sent (so nothing is charged), and every error is one line naming the problem, with the exit code
the README documents (2 bad input, 5 timeout)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from vidu_nb.cli import EXIT, main
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.workspace import embedded

KEY = "sk-review-cli-NOT-PRINTED-91c2"
SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "sample.png"
QUICK = ("-d", "1", "-r", "540p")


@pytest.fixture(scope="module")
def sim():
    with Simulator(api_key=KEY, speed=50.0, video_height=96) as server:
        yield server


def _clear_vidu_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("VIDU_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    monkeypatch.setenv("VIDU_SIM_SPEED", "50")


@pytest.fixture
def env(sim, tmp_path, monkeypatch):
    """A configured service (the simulator standing in for the real API)."""
    _clear_vidu_env(monkeypatch, tmp_path)
    monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
    monkeypatch.setenv("VIDU_API_KEY", KEY)
    return tmp_path


@pytest.fixture
def no_key(tmp_path, monkeypatch):
    """No key and no base URL: the command would use a simulator inside itself."""
    _clear_vidu_env(monkeypatch, tmp_path)
    embedded.shutdown()
    yield tmp_path
    embedded.shutdown()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err
    assert "Traceback" not in err
    return code, out, err


def error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--wait", "--timeout", "-1"), "--timeout=-1"),
        (("--wait", "--timeout", "0"), "--timeout=0"),
        (("--wait", "--timeout", "nan"), "--timeout=nan"),
        (("--wait", "--progress-every", "-5"), "--progress-every=-5"),
    ],
)
def test_bad_wait_options_are_refused_before_the_task_is_sent(env, sim, capsys, options, named):
    """Before: the task was submitted (and charged), then the wait "timed out" at once (5)."""
    posts = sim.count("POST", "/img2video")
    code, out, err = run(capsys, "submit", str(SAMPLE), *QUICK, *options)
    assert code == EXIT["usage"] and out == ""
    assert named in error_line(err)
    assert sim.count("POST", "/img2video") == posts
    assert not (env / "log.sqlite").exists()


def test_download_into_a_file_is_refused_before_the_task_is_sent(env, sim, capsys):
    """Before: the task ran and was charged, then the download failed with exit code 1."""
    (env / "taken").write_text("not a folder")
    posts = sim.count("POST", "/img2video")
    for target in ("taken", "taken/videos"):
        code, out, err = run(capsys, "submit", str(SAMPLE), *QUICK, "--download", target)
        line = error_line(err)
        assert code == EXIT["usage"] and out == "", err
        assert f"--download={target}" in line and "taken is a file, not a folder" in line
    assert sim.count("POST", "/img2video") == posts


def test_download_into_a_folder_that_does_not_exist_creates_it(env, capsys):
    code, out, err = run(capsys, "submit", str(SAMPLE), *QUICK, "--download", "new/videos")
    assert code == EXIT["ok"], err
    video = Path(out.split()[-1])
    assert video.parent == Path("new/videos") and (env / video).read_bytes()[4:8] == b"ftyp"


@pytest.mark.parametrize("command", ["status", "cancel"])
def test_status_and_cancel_without_a_service_say_so(no_key, capsys, command):
    """Before: an in-process simulator was started that knows no task: '404 TaskNotFound'."""
    code, out, err = run(capsys, command, "812345678901234567")
    line = error_line(err)
    assert code == EXIT["usage"] and out == ""
    assert "VIDU_API_KEY" in line and "VIDU_BASE_URL" in line and "812345678901234567" in line
    assert "TaskNotFound" not in err
    assert not embedded.is_running()


def test_wait_timeout_on_the_in_process_simulator_does_not_point_at_status(no_key, capsys):
    """That simulator stops with the command: `vidu-nb status ID` could only answer 404."""
    code, out, err = run(capsys, "submit", str(SAMPLE), *QUICK, "--wait", "--timeout", "0.01")
    line = error_line(err)
    assert code == EXIT["timeout"] and out.strip()
    assert "vidu-nb status" not in err and "ended with the local simulator" in line


def test_log_on_a_folder_or_a_file_that_is_not_a_log(env, capsys):
    code, _, err = run(capsys, "log", "--log", str(env))
    assert code == EXIT["usage"] and "is a folder" in error_line(err)
    (env / "notes.sqlite").write_text("just some text, not SQLite\n" * 10)
    for argv in (("log",), ("log", "--export", "out.csv")):
        code, _, err = run(capsys, *argv, "--log", "notes.sqlite")
        assert code == EXIT["usage"], err
        assert "notes.sqlite is not a vidu-nb task log" in error_line(err)
    assert not (env / "out.csv").exists()


def test_log_export_paths(env, capsys):
    TaskLog(env / "log.sqlite").close()
    code, _, err = run(capsys, "log", "--export", "reports/2025/tasks.csv")
    assert code == EXIT["ok"], err
    assert (env / "reports" / "2025" / "tasks.csv").is_file()  # the folder is created
    (env / "taken").write_text("x")
    code, _, err = run(capsys, "log", "--export", "taken/tasks.csv")
    assert code == EXIT["usage"] and "taken is a file, not a folder" in error_line(err)
    (env / "dir.csv").mkdir()
    code, _, err = run(capsys, "log", "--export", "dir.csv")
    assert code == EXIT["usage"] and "--export=dir.csv: is a folder" in error_line(err)


@pytest.mark.parametrize(
    ("argv", "named"), [(("--speed", "0"), "speed"), (("--port", "99999"), "port")]
)
def test_simulator_settings_it_refuses_exit_2(capsys, argv, named):
    code, out, err = run(capsys, "simulator", *argv)
    line = error_line(err)
    assert code == EXIT["usage"] and "invalid input" in line and named in line


def test_help_documents_every_exit_code(capsys):
    from vidu_nb.cli import build_parser

    epilog = build_parser().epilog or ""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    documented = readme.split("Exit codes:")[1].split("\n\n")[0]
    for code in sorted(set(EXIT.values())):
        assert re.search(rf"(?<!\d){code} ", epilog), code
        assert re.search(rf"(?<!\d){code} ", documented), code


@pytest.mark.parametrize("speed", ["0", "-1", "nan"])
def test_lab_refuses_a_simulator_speed_it_cannot_run(no_key, capsys, speed):
    """Before: the simulator subprocess died with a traceback, then exit 1 'did not start'."""
    code, out, err = run(capsys, "lab", "--sim-speed", speed, "--no-browser")
    assert code == EXIT["usage"] and f"--sim-speed={speed}" in error_line(err)
