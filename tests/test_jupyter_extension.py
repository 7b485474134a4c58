"""vidu-nb as a Jupyter server extension, installed with the package: a plain ``jupyter server``
started in an environment vidu-nb is installed in (no project settings, nothing on its command
line) saves each of our stills apart, leaves other libraries' widget outputs as they came, runs
the user's own ``pre_save_hook`` too, and is turned off by ``VIDU_NB_SAVED_STILLS=0`` or by
``jupyter server extension disable vidu_nb``. And both a wheel and an editable install
carry the file that enables it.

The environment is a virtual environment of its own (so its ``sys.prefix/etc/jupyter`` is
ours): it sees this interpreter's packages and this checkout through a ``.pth`` file, and holds
the package's data files where ``pyproject.toml`` installs them. Each server starts in a few
seconds; one notebook is saved through the contents API of each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest
from jupyter_harness import REPO, JupyterServer

from vidu_nb.cli import frontends
from vidu_nb.cli.saved_stills import MARK
from vidu_nb.ui.static import OWN

tomllib = pytest.importorskip("tomllib")
pytestmark = pytest.mark.slow

VIEW = "application/vnd.jupyter.widget-view+json"
ENABLING = "etc/jupyter/jupyter_server_config.d"
USER_HOOK = '''
def mark(model, **kwargs):
    """The user's own pre-save hook: notes how many outputs each code cell had when it ran."""
    if model.get("type") == "notebook":
        nb = model["content"]
        nb["metadata"]["user_hook"] = [
            len(c["outputs"]) for c in nb["cells"] if c["cell_type"] == "code"
        ]
'''


def data_files() -> dict[str, list[str]]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"]["data-files"]


def test_the_package_installs_the_file_that_enables_the_extension():
    (source,) = data_files()[ENABLING]
    assert REPO / source == frontends.EXTENSION_DIR / "jupyter_server_config.d" / "vidu_nb.json"
    assert Path(ENABLING, Path(source).name) == frontends.ENABLING  # where vidu-nb lab looks
    enabling = json.loads((REPO / source).read_text())
    assert enabling == {"ServerApp": {"jpserver_extensions": {"vidu_nb": True}}}
    import vidu_nb
    from vidu_nb.cli import saved_stills

    (point,) = vidu_nb._jupyter_server_extension_points()
    assert point == {"module": saved_stills.__name__}
    assert callable(saved_stills._load_jupyter_server_extension)


def make_prefix(folder: Path) -> Path:
    """An environment vidu-nb is installed in, its Python at ``bin/python``."""
    prefix = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    python = prefix / "bin" / "python"
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.run([python, "-c", code], check=True, capture_output=True,
                               text=True).stdout.strip())  # fmt: skip
    ours = sysconfig.get_paths()["purelib"]
    (site / "vidu_nb_test.pth").write_text(f"{REPO}\nimport site; site.addsitedir({ours!r})\n")
    for target, sources in data_files().items():
        (prefix / target).mkdir(parents=True)
        for source in sources:
            shutil.copy2(REPO / source, prefix / target)
    return prefix


@pytest.fixture(scope="module")
def prefix(tmp_path_factory) -> Path:
    return make_prefix(tmp_path_factory.mktemp("env"))


class PlainServer(JupyterServer):
    """``jupyter server`` as a user starts it in that environment (with a token: a request
    with it needs no XSRF cookie)."""

    ready_path = "/api"  # answers without the token
    token = "vidu-test-token"

    def __init__(self, prefix: Path, root: Path, env: dict[str, str], **kw: Path) -> None:
        super().__init__(root, env, **kw)
        self.prefix = prefix

    def command(self) -> list[str]:
        return [
            str(self.prefix / "bin" / "python"), "-m", "jupyter_server",
            "--allow-root", "--no-browser", f"--IdentityProvider.token={self.token}",
            "--ip", "127.0.0.1", "--port", str(self.port), f"--ServerApp.root_dir={self.root}",
        ]  # fmt: skip


def user_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell: no project settings, Jupyter's folders their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "JUPYTER_"))}
    env.pop("PYTHONPATH", None)  # the environment's packages only
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "user-config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        **extra,
    )
    return env


def notebook() -> dict:
    """One cell: an ipywidgets slider, another library's widget with HTML of its own, ours."""
    slider = {
        "output_type": "display_data",
        "metadata": {},
        "data": {VIEW: {"version_major": 2, "version_minor": 0, "model_id": "s1"},
                 "text/plain": "IntSlider(value=3)"},
    }  # fmt: skip
    other = {
        "output_type": "display_data",
        "metadata": {"other_lib": {"still": True}},
        "data": {VIEW: {"version_major": 2, "version_minor": 0, "model_id": "o1"},
                 "text/html": "<div class='map'>\nfallback</div>",
                 "text/plain": "Map(center=(0, 0))"},
    }  # fmt: skip
    ours = {
        "output_type": "display_data",
        "metadata": {OWN: {"still": True}},
        "data": {VIEW: {"version_major": 2, "version_minor": 0, "model_id": "v1"},
                 "text/html": "<div class='vidu-stills'>frames</div>",
                 "text/plain": "VideoGrid\n- seed 1"},
    }  # fmt: skip
    cell = {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1,
            "source": "show()", "outputs": [slider, other, ours]}  # fmt: skip
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}


def save_through(prefix: Path, tmp: Path, env: dict[str, str]) -> dict:
    """Start a plain server in ``tmp``, save ``notebook()`` through its contents API, stop it:
    the file as written."""
    root = tmp / "root"
    root.mkdir()
    with PlainServer(prefix, root, env, log_path=tmp / "server.log") as server:
        body = json.dumps({"type": "notebook", "content": notebook()}).encode()
        request = urllib.request.Request(
            f"{server.url}/api/contents/saved.ipynb", data=body, method="PUT",
            headers={"Content-Type": "application/json",
                     "Authorization": f"token {server.token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=30) as resp:
            assert resp.status in (200, 201)
    return json.loads((root / "saved.ipynb").read_text())


@pytest.fixture(scope="module")
def saved_off(prefix, tmp_path_factory) -> dict:
    """Saved by a server with the hook turned off by its variable: the reference file."""
    tmp = tmp_path_factory.mktemp("off")
    return save_through(prefix, tmp, user_env(tmp, VIDU_NB_SAVED_STILLS="0"))


def test_a_plain_server_saves_our_stills_apart_and_runs_the_users_hook_first(
    prefix, saved_off, tmp_path
):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "user_hook.py").write_text(USER_HOOK)
    config = tmp_path / "user-config"
    config.mkdir()
    user_config = {"ContentsManager": {"pre_save_hook": "user_hook.mark"}}
    (config / "jupyter_server_config.json").write_text(json.dumps(user_config))
    saved = save_through(prefix, tmp_path, user_env(tmp_path, PYTHONPATH=str(hooks)))

    slider, other, widget, still = saved["cells"][0]["outputs"]
    assert [slider, other] == saved_off["cells"][0]["outputs"][:2]  # as they came
    assert json.dumps([slider, other]) == json.dumps(saved_off["cells"][0]["outputs"][:2])
    assert joined(widget)["data"] == {VIEW: notebook()["cells"][0]["outputs"][2]["data"][VIEW],
                              "text/plain": "VideoGrid"}  # fmt: skip
    html = "".join(still["data"]["text/html"])
    assert f"<div class=\"{MARK}\"><div class='vidu-stills'>frames</div></div>" in html
    # The user's hook ran, and before ours: it saw the three outputs as sent.
    assert saved["metadata"]["user_hook"] == [3]


def joined(output: dict) -> dict:
    """An output as sent: a file holds multi-line text as a list of lines."""
    data = {k: "".join(v) if isinstance(v, list) else v for k, v in output["data"].items()}
    return {**output, "data": data}


def test_turned_off_by_its_variable_the_notebook_is_saved_as_sent(saved_off):
    assert [joined(o) for o in saved_off["cells"][0]["outputs"]] == (
        notebook()["cells"][0]["outputs"]
    )


def test_disabled_as_jupyter_disables_extensions_nothing_is_split(tmp_path):
    """``jupyter server extension disable vidu_nb`` rewrites the installed file; ``vidu-nb
    lab`` then adds no file of its own either."""
    prefix = make_prefix(tmp_path)
    env = user_env(tmp_path)
    disable = [str(prefix / "bin" / "python"), "-m", "jupyter_server", "extension", "disable",
               "vidu_nb"]  # fmt: skip
    subprocess.run(disable, env=env, check=True, capture_output=True)
    written = json.loads((prefix / frontends.ENABLING).read_text())
    assert written["ServerApp"]["jpserver_extensions"] == {"vidu_nb": False}
    assert frontends.config_dirs(str(prefix)) == [frontends.CONFIG_DIR]
    saved = save_through(prefix, tmp_path, env)
    assert len(saved["cells"][0]["outputs"]) == 3  # nothing split


def test_a_wheel_and_an_editable_install_carry_the_enabling_file(tmp_path):
    """Built with the project's backend (setuptools' editable wheel leaves data files out
    unless the backend's fix is there). Needs the setuptools ``pyproject.toml`` asks for."""
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools {setuptools.__version__} cannot build this pyproject.toml")
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md", "MANIFEST.in"):
        shutil.copy2(REPO / name, project / name)
    for folder in ("build_backend", "vidu_nb"):
        shutil.copytree(REPO / folder, project / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    out = tmp_path / "wheels"
    env = {**os.environ, "PYTHONPATH": str(project / "build_backend")}
    for hook in ("build_wheel", "build_editable"):  # each as pip runs it: a process of its own
        build = f"import sys, vidu_nb_build as b; print(b.{hook}(sys.argv[1]))"
        subprocess.run([sys.executable, "-c", build, str(out)], cwd=project, env=env,
                       check=True, capture_output=True)  # fmt: skip
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 2 and any("editable" in w.name for w in wheels)
    (source,) = data_files()[ENABLING]
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            (name,) = [n for n in zf.namelist() if f".data/data/{ENABLING}/" in n]
            assert name.endswith("/vidu_nb.json")
            assert zf.read(name) == (REPO / source).read_bytes()
            record = zf.read(next(n for n in zf.namelist() if n.endswith("/RECORD"))).decode()
            assert name in record  # installed, and removed on uninstall
