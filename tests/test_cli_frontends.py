"""``vidu-nb lab``, ``vidu-nb notebook`` and ``vidu-nb voila`` started for real on a copy of the
project: each prints an address that opens the quickstart itself (token included), serves the
project folder, and points its kernels at a local simulator.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidu_nb.cli import frontends
from vidu_nb.cli.lab import lab_command

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def project(tmp_path: Path) -> Path:
    """A project folder like a checkout: ``notebooks/`` with the quickstart and the sample."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    for name in ("quickstart.ipynb", "sample.png"):
        shutil.copy2(REPO / "notebooks" / name, root / "notebooks" / name)
    return root


def private_env(tmp_path: Path) -> dict[str, str]:
    """No key, no service, and a Jupyter configuration of the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "JUPYTER_"))}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(REPO),
    )
    return env


class Running:
    """A ``vidu-nb`` front end as a child process; its stderr lines, read as they come."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "vidu_nb.cli", *argv],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: str, timeout: float = 90) -> re.Match[str]:
        """The first stderr line (from the start) matching ``pattern``."""
        deadline = time.monotonic() + timeout
        for line in self.lines:
            if found := re.search(pattern, line):
                return found
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if found := re.search(pattern, line):
                return found
        pytest.fail(f"no line matching {pattern!r}:\n" + "".join(self.lines[-40:]))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextlib.contextmanager
def running(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[Running]:
    child = Running(argv, cwd, env)
    try:
        yield child
    finally:
        child.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, ""


def test_lab_command_serves_the_project_with_the_quickstart_as_its_page(tmp_path):
    root = project(tmp_path)
    nb = root / "notebooks" / "quickstart.ipynb"
    cmd, served = lab_command(nb, ["--port", "9999"], as_root=False)
    assert served == root
    assert f"--ServerApp.root_dir={root}" in cmd
    assert "--LabApp.default_url=/lab/tree/notebooks/quickstart.ipynb" in cmd
    assert cmd[-2:] == ["--port", "9999"]  # the user's options come last: theirs win
    voila, _ = lab_command(nb, [], as_root=True, front=frontends.VOILA)
    assert voila[3] == "notebooks/quickstart.ipynb" and "--allow-root" not in voila
    info = {"url": "http://localhost:8888/", "token": "a b"}
    assert (
        frontends.page_url(frontends.LAB, info, "notebooks/my nb.ipynb")
        == "http://localhost:8888/lab/tree/notebooks/my%20nb.ipynb?token=a+b"
    )
    assert frontends.page_url(frontends.NOTEBOOK, {"url": "http://h:1/"}, "n.ipynb") == (
        "http://h:1/notebooks/n.ipynb"
    )


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[tuple[Running, str, Path]]:
    """``vidu-nb lab`` in a copy of the project: the process, its announced address, its tmp."""
    tmp = tmp_path_factory.mktemp("lab")
    root = project(tmp)
    port = free_port()
    argv = ["lab", "--no-browser", "--port", str(port), "--ip", "127.0.0.1",
            "--sim-speed", "20", "--log", str(tmp / "log.sqlite")]  # fmt: skip
    with running(argv, root, private_env(tmp)) as child:
        url = child.wait_for(r"vidu-nb: open notebooks/quickstart\.ipynb at (\S+)").group(1)
        yield child, url, tmp


def test_lab_prints_the_quickstart_address_with_its_token(lab):
    child, url, _tmp = lab
    assert re.fullmatch(
        r"http://127\.0\.0\.1:\d+/lab/tree/notebooks/quickstart\.ipynb\?token=\w+", url
    ), url
    port = url.split(":")[2].split("/")[0]
    # Jupyter's own banner names the same page, not the launcher at /lab.
    assert any(url.split("?")[0] in line for line in child.lines), "".join(child.lines)
    assert not any(re.search(rf":{port}/lab\?token", line) for line in child.lines)
    status, page = get(url)
    assert status == 200 and "jupyter-config-data" in page
    status, page = get(url.split("?")[0])  # without the token: the login page
    assert status != 200 or "jupyter-config-data" not in page or "login" in page.lower()


def test_lab_disables_the_news_pop_up_without_touching_the_users_config(lab):
    _child, url, tmp = lab
    status, page = get(url)
    assert status == 200
    config = json.loads(
        re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1)
    )
    assert frontends.ANNOUNCEMENTS in config["disabledExtensions"], config  # a list of ids
    # The user's configuration folder got nothing (Jupyter may create it, empty of settings).
    written = [p for p in (tmp / "cfg").rglob("*") if p.is_file()]
    assert not [p for p in written if "labconfig" in p.parts or p.suffix == ".json"], written


def api(url: str, path: str, body: dict | None = None) -> dict:
    """A JSON call to the server's REST API with the token from ``url`` (PUT with a body)."""
    base, token = url.split("/lab/")[0], url.split("token=")[1]
    request = urllib.request.Request(
        base + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "PUT",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_lab_saves_widget_state_and_writes_stills_apart(lab):
    """The two settings that make a saved notebook reopen with its widgets or its stills: Save
    Widget State on by default, and the pre-save hook splitting each still from its widget."""
    _child, url, tmp = lab
    setting = api(url, "/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin")
    # Lab's own default is off; the server gives ours as the default (a user's setting wins).
    assert setting["schema"]["properties"]["saveState"]["default"] is True
    assert "saveState" not in setting["settings"]  # the user's settings hold nothing of it
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    output = {
        "output_type": "display_data",
        "metadata": {"vidu_nb": {"still": True}},  # ours (ui.static.OWN)
        "data": {
            "application/vnd.jupyter.widget-view+json": view,
            "text/html": "<div>frames</div>",
            "text/plain": "VideoGrid\n- seed 1",
        },
    }
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [{"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1,
                   "source": "compare(run)", "outputs": [output]}],
    }  # fmt: skip
    api(url, "/api/contents/notebooks/saved.ipynb", {"type": "notebook", "content": nb})
    root = tmp / "project" / "notebooks"
    saved = json.loads((root / "saved.ipynb").read_text())
    widget, still = ({k: "".join(v) if isinstance(v, list) else v for k, v in o["data"].items()}
                     for o in saved["cells"][0]["outputs"])  # fmt: skip
    assert widget == {"application/vnd.jupyter.widget-view+json": view, "text/plain": "VideoGrid"}
    assert "vidu-saved-still" in still["text/html"] and "<div>frames</div>" in still["text/html"]
    assert still["text/plain"] == "VideoGrid\n- seed 1"


def test_lab_stops_cleanly(lab):
    child, _url, _tmp = lab
    assert child.stop() == 0


def free_port() -> int:
    from jupyter_harness import free_port as port

    return port()


def test_notebook_command_opens_the_quickstart_in_notebook_7(tmp_path):
    pytest.importorskip("notebook")
    root = project(tmp_path)
    argv = ["notebook", "--no-browser", "--port", str(free_port()), "--ip", "127.0.0.1",
            "--log", str(tmp_path / "log.sqlite")]  # fmt: skip
    with running(argv, root, private_env(tmp_path)) as child:
        child.wait_for(r"local simulator at http://127\.0\.0\.1:")
        url = child.wait_for(r"vidu-nb: open notebooks/quickstart\.ipynb at (\S+)").group(1)
        assert re.fullmatch(
            r"http://127\.0\.0\.1:\d+/notebooks/notebooks/quickstart\.ipynb\?token=\w+", url
        ), url
        status, page = get(url)
        assert status == 200 and "jupyter-config-data" in page
        assert child.stop() == 0


def test_voila_command_serves_the_quickstart_progressively_with_the_simulator(tmp_path):
    """``/`` is the quickstart as an app; it renders progressively (the form shows once its
    cell ran, not after the whole notebook) and without Notebook 7's JupyterLab extension,
    which fails in Voila (the browser tests run the notebooks in this configuration)."""
    pytest.importorskip("voila")
    root = project(tmp_path)
    port = free_port()
    argv = ["voila", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
            "--sim-speed", "40", "--log", str(tmp_path / "log.sqlite")]  # fmt: skip
    with running(argv, root, private_env(tmp_path)) as child:
        child.wait_for(r"local simulator at http://127\.0\.0\.1:")
        child.wait_for(rf"http://127\.0\.0\.1:{port}/")  # Voila's banner: / is the quickstart
        child.wait_for(r"Progressive rendering is activated")
        status, page = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and "quickstart" in page
        config = json.loads(
            re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1)
        )
        assert config["progressiveRendering"] is True
        loaded = {ext["name"] for ext in config["federated_extensions"]}
        assert "@jupyter-widgets/jupyterlab-manager" in loaded and "anywidget" in loaded
        assert "@jupyter-notebook/lab-extension" not in loaded
        assert child.stop() == 0


def test_a_front_end_that_is_not_installed_says_how_to_install_it():
    import argparse

    from vidu_nb.cli.app import UsageError
    from vidu_nb.cli.lab import run_lab

    missing = frontends.FrontEnd("x", "Nothing", "no_such_module_x", "x", None, "/")
    with pytest.raises(
        UsageError, match=r"Nothing is not installed here: pip install 'vidu-nb\[x\]'"
    ):
        run_lab(argparse.Namespace(front=missing))


def test_make_run_installs_every_front_end_it_can_start():
    """``make run UI=...`` starts any of them, so its install step brings each one's extra,
    and each extra names the package the command runs."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    makefile = (REPO / "Makefile").read_text()
    installed = re.search(r"\.run-deps:.*\n\t.*pip install -q -e '\.\[([\w,]+)\]'", makefile)
    assert installed, "the run target's install line"
    for front in frontends.FRONT_ENDS.values():
        assert front.extra in installed.group(1).split(","), front
        names = {Requirement(r).name for r in extras[front.extra]}
        assert {front.module, "ipykernel"} <= names, front
    assert "UI ?= lab" in makefile and "$(BIN)/vidu-nb $(UI)" in makefile
