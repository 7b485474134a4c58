"""The Jupyter front ends ``vidu-nb`` starts on the quickstart: JupyterLab, Notebook 7, Voila.

Each one serves the project folder (the one holding ``notebooks/``) with the quickstart as its
default page, so the address Jupyter prints, and ``/``, open the quickstart rather than a
launcher or a file list. The quickstart's own address (with the token, if any) is read from
the server's runtime file and printed last, where it is not lost among the server's logs.

The project's own Jupyter settings folder (``jupyter/`` next to this module) is put in front of
``JUPYTER_CONFIG_PATH`` for the server only. The user's own configuration is neither read
differently nor written; a setting in it still wins. It holds:

- ``labconfig/page_config.json``: JupyterLab's (and Notebook 7's) "get Jupyter news?" pop-up,
  which would cover the quickstart on a first start, is disabled;
- ``voila.json``: Voila renders progressively (the form shows as soon as its cell has run,
  not after the whole notebook, whose code cell waits for a generation), and does not load
  Notebook 7's JupyterLab extension, which needs a module Voila does not provide and fails
  with "The getter for the shared module is not a function ... #RUNTIME-012" (it only adds
  switching between JupyterLab and Notebook 7, which Voila has no use for);
- ``labconfig/default_setting_overrides.json``: JupyterLab saves the widget state with the
  notebook (its Settings > Save Widget State Automatically, off by default in Lab; this is a
  default, so the user's own setting wins), so a reopened notebook draws its widgets again.

The pre-save hook of ``saved_stills`` (each widget's still written as an output of its own,
shown where the widget cannot be drawn) is the ``vidu_nb`` server extension, enabled by the
file the package installs in its environment (``ENABLING``) for every Jupyter server there,
these included. Only when that file is missing (vidu-nb run from a checkout, not installed) is
the folder holding it (``jupyter-extension/``) put in ``JUPYTER_CONFIG_PATH`` too: installed,
the environment's file rules, so ``jupyter server extension disable vidu_nb``, which rewrites
it, turns the hook off for these servers as for any other.

Binder's ``start`` puts the same folders in front of ``JUPYTER_CONFIG_PATH`` for its JupyterLab.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

#: The project's own Jupyter settings (``labconfig/page_config.json``), for its servers only.
CONFIG_DIR = Path(__file__).resolve().parent / "jupyter"
#: A settings folder holding only the file that enables the ``vidu_nb`` server extension...
EXTENSION_DIR = Path(__file__).resolve().parent / "jupyter-extension"
#: ...which the package installs at this path under ``sys.prefix`` (pyproject's data-files).
ENABLING = Path("etc", "jupyter", "jupyter_server_config.d", "vidu_nb.json")
ANNOUNCEMENTS = "@jupyterlab/apputils-extension:announcements"


@dataclass(frozen=True)
class FrontEnd:
    """How to start one Jupyter front end on a notebook and where that notebook's page is."""

    command: str  # the ``vidu-nb`` command
    title: str
    module: str  # ``python -m <module>``
    extra: str  # ``pip install 'vidu-nb[<extra>]'`` installs it
    #: The server application whose ``default_url`` becomes the notebook's page; ``None``: the
    #: notebook is given as an argument and is the page at ``/`` (Voila).
    app: str | None
    page: str  # the notebook's URL path, ``{}`` standing for its path under the root

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def page_of(self, relative: str) -> str:
        return self.page.format(quote(relative))


LAB = FrontEnd("lab", "JupyterLab", "jupyterlab", "lab", "LabApp", "/lab/tree/{}")
NOTEBOOK = FrontEnd(
    "notebook", "Jupyter Notebook 7", "notebook", "notebook", "JupyterNotebookApp", "/notebooks/{}"
)
VOILA = FrontEnd("voila", "Voila", "voila", "voila", None, "/")
FRONT_ENDS = {f.command: f for f in (LAB, NOTEBOOK, VOILA)}


def served_root(notebook: Path) -> Path:
    """The folder a front end serves: the project folder for a notebook in ``notebooks/``."""
    return notebook.parent.parent if notebook.parent.name == "notebooks" else notebook.parent


def command(
    front: FrontEnd, notebook: Path | None, extra: list[str], *, as_root: bool
) -> tuple[list[str], Path]:
    """The front end's command line and the folder to run it in (the root it serves).

    Options in ``extra`` come last, so the user's ``--port``, ``--ServerApp.root_dir`` or
    ``--LabApp.default_url`` win over the ones set here.
    """
    cmd = [sys.executable, "-m", front.module]
    if as_root and front.app is not None and "--allow-root" not in extra:
        cmd.append("--allow-root")  # Voila has no such check (and no such option)
    if notebook is None:
        return [*cmd, *extra], Path.cwd()
    root = served_root(notebook)
    relative = notebook.relative_to(root).as_posix()
    if front.app is None:
        return [*cmd, relative, *extra], root
    return [
        *cmd,
        f"--ServerApp.root_dir={root}",
        f"--{front.app}.default_url={front.page_of(relative)}",
        *extra,
    ], root


def config_dirs(prefix: str = sys.prefix) -> list[Path]:
    """The project's settings folders for its servers: its own, and the one enabling the
    server extension when the environment at ``prefix`` holds no file about it."""
    installed = (Path(prefix) / ENABLING).exists()
    return [CONFIG_DIR] if installed else [CONFIG_DIR, EXTENSION_DIR]


def config_path(env: Mapping[str, str], prefix: str = sys.prefix) -> str:
    """``JUPYTER_CONFIG_PATH`` with the project's settings folders first (lower priority than
    the user's ``JUPYTER_CONFIG_DIR``, higher than the environment's and the system's)."""
    rest = env.get("JUPYTER_CONFIG_PATH", "")
    return os.pathsep.join(p for p in (*map(str, config_dirs(prefix)), rest) if p)


def runtime_dir() -> Path | None:
    """Where servers write ``jpserver-<pid>.json`` (None when Jupyter is not installed).

    The server runs in this process's environment plus variables that do not move it."""
    try:
        from jupyter_core import paths
    except ImportError:
        return None
    return Path(paths.jupyter_runtime_dir())


def server_info(
    folder: Path, pid: int, *, timeout: float = 60.0, alive: Callable[[], bool] | None = None
) -> dict[str, object] | None:
    """The running server's ``jpserver-<pid>.json`` (url, token, ...), once it is written."""
    path = folder / f"jpserver-{pid}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (alive is None or alive()):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):  # not there yet, or half written
            time.sleep(0.2)
            continue
        return info if isinstance(info, dict) else None
    return None


def page_url(front: FrontEnd, info: Mapping[str, object], relative: str) -> str:
    """The notebook's address on a running server, with its token when it has one."""
    base = str(info.get("url") or "").rstrip("/")
    token = str(info.get("token") or "")
    url = base + front.page_of(relative)
    return url + ("?" + urlencode({"token": token}) if token else "")
