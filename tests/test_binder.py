"""The Binder (repo2docker) configuration is consistent, and its start script really works.

No container runtime is available here, so instead of building the image this checks what a
build relies on: the files and their modes in git, pins that satisfy pyproject.toml, and the
start script run for real (it must start a simulator the kernels can use, then exec).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")

REPO = Path(__file__).resolve().parents[1]
BINDER = REPO / "binder"


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def project_requirements(extras: set[str]) -> dict[str, Requirement]:
    project = pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return {canonicalize_name(r.name): r for r in reqs}


def test_files_exist_and_scripts_are_executable_in_git():
    for name in ("requirements.txt", "runtime.txt", "postBuild", "start"):
        assert (BINDER / name).is_file(), name
    assert not (REPO / ".binder").exists(), "use binder/ only"
    out = subprocess.run(
        ["git", "ls-files", "-s", "binder/postBuild", "binder/start"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if out.returncode != 0 or not out.stdout.strip():
        pytest.skip("not a git checkout (or binder scripts not committed yet)")
    modes = {line.split()[3]: line.split()[0] for line in out.stdout.splitlines()}
    assert modes == {"binder/postBuild": "100755", "binder/start": "100755"}


@pytest.mark.parametrize("name", ["postBuild", "start"])
def test_scripts_are_valid_bash(name):
    text = (BINDER / name).read_text()
    assert text.startswith("#!/bin/bash\n")
    subprocess.run(["bash", "-n", str(BINDER / name)], check=True)


def test_start_ends_with_exec():
    lines = [ln.strip() for ln in (BINDER / "start").read_text().splitlines() if ln.strip()]
    assert lines[-1] == 'exec "$@"'


def test_runtime_satisfies_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime)
    version = Version(runtime.removeprefix("python-"))
    assert version in SpecifierSet(pyproject()["project"]["requires-python"])


def test_requirements_install_the_repo_and_pin_compatible_versions():
    lines = requirement_lines()
    local = [ln for ln in lines if ln == "." or ln.startswith(".[")]
    assert len(local) == 1, "binder/requirements.txt must install this repository ('.')"
    extras = set(re.findall(r"[\w-]+", local[0][1:]))
    assert extras <= set(pyproject()["project"]["optional-dependencies"]), extras
    declared = project_requirements(extras)
    assert "jupyterlab" in declared, "Binder needs JupyterLab: install the lab extra"
    for line in lines:
        if line in local:
            continue
        req = Requirement(line)
        pins = [s for s in req.specifier if s.operator == "=="]
        assert len(pins) == 1, f"{line}: pin an exact version for a reproducible Binder"
        name = canonicalize_name(req.name)
        if name in declared:
            version = Version(pins[0].version)
            allowed = declared[name].specifier
            assert version in allowed, f"{line} does not satisfy pyproject's {name}{allowed}"


def test_readme_binder_badge_points_at_the_quickstart():
    readme = REPO / "README.md"
    text = readme.read_text() if readme.exists() else ""
    urls = re.findall(r"https://mybinder\.org/v2/[^\s)\"'>\]]+", text)
    if not urls:
        pytest.skip("README has no Binder badge yet")
    for url in urls:
        assert re.match(r"https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/[\w./-]+\?", url), url
        target = unquote(url.split("urlpath=", 1)[1].split("&")[0])
        assert target.startswith("lab/tree/"), url
        assert (REPO / target.removeprefix("lab/tree/")).is_file(), f"{url}: no such notebook"


def _start(command: list[str], env: dict[str, str], out_path: Path, timeout: float = 60) -> str:
    """Run binder/start with a command in its own process group; stop whatever it left.

    Output goes to a file: the background simulator keeps its stderr open after the command
    ends, so a pipe would never reach end-of-file.
    """
    with open(out_path, "w") as sink:
        proc = subprocess.Popen(
            [str(BINDER / "start"), *command],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        proc.wait(timeout=timeout)
        out = out_path.read_text()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # the background simulator it started
        except ProcessLookupError:
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    return out


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["VIDU_LOG_PATH"] = str(tmp_path / "log.sqlite")
    return env


CHECK_SIMULATOR = """
import os
from vidu_nb import Img2VideoRequest, ViduClient
url = os.environ["VIDU_BASE_URL"]
assert url.startswith("http://127.0.0.1:"), url
client = ViduClient()  # as a notebook makes it: the pace comes from the environment
assert client.is_simulated
print("SPEED", os.environ.get("VIDU_SIM_SPEED"), round(1 / client.schedule.time_scale, 3))
if os.environ["VIDU_SIM_SPEED"] != "5":
    req = Img2VideoRequest(image="notebooks/sample.png", duration=1, resolution="540p")
    print("STATE", client.submit(req).wait(timeout=60).state)
print("LOG", os.environ["VIDU_LOG_PATH"])
"""


def test_start_runs_a_simulator_when_no_key_is_set(tmp_path):
    from jupyter_harness import free_port

    env = _clean_env(tmp_path)
    env.update(VIDU_SIM_PORT=str(free_port()), VIDU_SIM_SPEED="50")
    out = _start([sys.executable, "-c", CHECK_SIMULATOR], env, tmp_path / "out.txt")
    assert "nothing is charged" in out
    assert "SPEED 50 50.0" in out  # the kernel polls at the simulator's pace
    assert "STATE success" in out
    assert f"LOG {tmp_path / 'log.sqlite'}" in out  # a given log path is kept


def test_start_gives_kernels_the_default_simulator_pace(tmp_path):
    """No VIDU_SIM_SPEED given: the simulator runs at the default 5x and kernels see it too
    (else they would poll a 5x simulator at the real service's pace)."""
    from jupyter_harness import free_port

    env = _clean_env(tmp_path)
    env["VIDU_SIM_PORT"] = str(free_port())
    assert "VIDU_SIM_SPEED" not in env
    out = _start([sys.executable, "-c", CHECK_SIMULATOR], env, tmp_path / "out.txt")
    assert "SPEED 5 5.0" in out, out


def test_start_leaves_a_configured_key_alone(tmp_path):
    env = _clean_env(tmp_path)
    env["VIDU_API_KEY"] = "sk-user-key"
    code = "import os; print(os.environ['VIDU_API_KEY'], os.environ.get('VIDU_BASE_URL'))"
    out = _start([sys.executable, "-c", code], env, tmp_path / "out.txt")
    assert out.strip() == "sk-user-key None"


def test_start_gives_jupyter_the_projects_settings(tmp_path):
    """JupyterLab on Binder reads the settings `vidu-nb lab` uses (widget state saved, stills
    written apart), in front of any configuration path already set."""
    from vidu_nb.cli import frontends

    env = _clean_env(tmp_path)
    env["VIDU_API_KEY"] = "sk-user-key"  # no simulator needed here
    env["JUPYTER_CONFIG_PATH"] = "/somewhere/else"
    code = "import os; print(os.environ['JUPYTER_CONFIG_PATH'])"
    out = _start([sys.executable, "-c", code], env, tmp_path / "out.txt")
    ours = [str(d) for d in frontends.config_dirs()]
    assert out.strip().split(os.pathsep) == [*ours, "/somewhere/else"]
