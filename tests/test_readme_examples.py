"""The README's code runs as written: its Python examples against the simulator a reader gets
with no key, and its command lines against the ``vidu-nb`` parser (and, for ``submit`` and
``log``, for real)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def fenced(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def reader_env(tmp_path: Path) -> dict[str, str]:
    """A newcomer's environment: no key, no base URL (a faster simulator, for the suite)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env.update(VIDU_SIM_SPEED="50", HOME=str(tmp_path), MPLBACKEND="Agg")
    return env


@pytest.fixture
def workdir(tmp_path):
    """A folder laid out like the repository root for the paths the README uses."""
    (tmp_path / "pyproject.toml").write_text("")  # what makes it the project's root
    (tmp_path / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "sample.png", tmp_path / "notebooks" / "sample.png")
    return tmp_path


def test_the_python_examples_run_with_no_key(workdir):
    blocks = fenced("python")
    assert len(blocks) >= 2
    script = workdir / "readme_examples.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=workdir, env=reader_env(workdir),
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    state, credits, url = lines[0].split()
    assert state == "success" and int(credits) > 0 and url.startswith("http://127.0.0.1")
    assert "6 requests" in lines  # what the comment beside plan.describe() promises
    balance = next(line.split() for line in lines if line.startswith("balance "))
    assert int(balance[1]) > 0 and int(balance[2]) > 0  # credits and the concurrency limit
    assert "using the local simulator" in proc.stderr  # and says nothing is charged
    assert (workdir / "vidu_tasks.sqlite").is_file()  # TaskLog()'s documented default


def readme_commands() -> list[list[str]]:
    commands = []
    for block in fenced("bash"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["vidu-nb"]:
                commands.append(words[1:])
    return commands


def test_the_command_lines_parse():
    from vidu_nb.cli import build_parser

    commands = readme_commands()
    assert {c[0] for c in commands} >= {"lab", "submit", "status", "cancel", "log", "simulator"}
    parser = build_parser()
    for argv in commands:
        args, extra = parser.parse_known_args(argv)
        assert not extra or getattr(args, "passthrough", False), (argv, extra)


def test_submit_and_log_run_as_written_with_no_key(workdir):
    commands = {c[0]: c for c in readme_commands()}
    env = reader_env(workdir)
    cli = [sys.executable, "-m", "vidu_nb.cli"]
    proc = subprocess.run(
        [*cli, *commands["submit"], "--progress-every", "0"], cwd=workdir, env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    task_id, video = proc.stdout.split()
    assert (workdir / video).parent == workdir / "videos"
    assert (workdir / video).read_bytes()[4:8] == b"ftyp"
    proc = subprocess.run(
        [*cli, *commands["log"]], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert task_id in proc.stdout and "success" in proc.stdout
