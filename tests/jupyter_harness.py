"""Start and stop real Jupyter processes for tests: JupyterLab, Notebook 7, Voila, their env.

Shared by the browser tests (JupyterLab + Chromium) and the headless notebook tests (nbclient),
so both run notebooks the same way: copies in a temporary root, kernels pointed at a simulator
through ``VIDU_BASE_URL``/``VIDU_API_KEY``, and a task log inside that root.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from vidu_nb.cli import frontends

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def copy_notebooks(root: Path) -> Path:
    """Copy the notebooks folder (notebooks and sample image) into ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for item in NOTEBOOKS.iterdir():
        if item.is_file() and item.suffix in (".ipynb", ".png", ".jpg", ".md"):
            shutil.copy2(item, root / item.name)
    return root


def kernel_env(base_url: str, api_key: str, workdir: Path) -> dict[str, str]:
    """The environment for Jupyter processes: the given API endpoint, everything else private."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "JUPYTER_"))}
    config = workdir / ".jupyter-config"  # private and empty: the user's settings stay out
    config.mkdir(parents=True, exist_ok=True)
    runtime = workdir / ".jupyter-runtime"
    runtime.mkdir(exist_ok=True)
    env.update(
        VIDU_BASE_URL=base_url,
        VIDU_API_KEY=api_key,
        VIDU_LOG_PATH=str(workdir / "vidu_tasks.sqlite"),
        JUPYTER_CONFIG_DIR=str(config),
        # The project's own settings, as `vidu-nb lab` gives them (no news pop-up).
        JUPYTER_CONFIG_PATH=frontends.config_path({}),
        JUPYTER_RUNTIME_DIR=str(runtime),
        IPYTHONDIR=str(workdir / ".ipython"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


class JupyterServer:
    """A Jupyter web server on loopback with no token, serving ``root``; a context manager.

    Subclasses give the command line and the path that says the server is up.
    """

    name = "jupyter server"
    ready_path = "/api/status"

    def __init__(self, root: Path, env: dict[str, str], *, log_path: Path) -> None:
        self.root = root
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def __enter__(self) -> JupyterServer:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in __exit__
        self.proc = subprocess.Popen(
            self.command(), cwd=self.root, env=self.env, stdout=self._log, stderr=subprocess.STDOUT
        )
        try:
            self._wait_ready(timeout=60)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _is_up(self, status: int) -> bool:
        return status == 200

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as resp:
                    status = resp.status
            except urllib.error.HTTPError as err:
                status = err.code
            except OSError:
                status = 0
            if status and self._is_up(status):
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer in {timeout:g} s; see {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the server shuts its kernels down
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log.close()


class JupyterLab(JupyterServer):
    """JupyterLab, with its application object exposed to the page (``window.jupyterapp``)."""

    name = "jupyter lab"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "jupyterlab",
            "--allow-root", "--no-browser",
            "--ServerApp.token=", "--ServerApp.password=",
            "--ip", "127.0.0.1", "--port", str(self.port),
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
        ]  # fmt: skip


class NotebookServer(JupyterServer):
    """Jupyter Notebook 7 (one document per tab, at ``/notebooks/NB.ipynb``)."""

    name = "jupyter notebook"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "notebook",
            "--allow-root", "--no-browser",
            "--ServerApp.token=", "--ServerApp.password=",
            "--ip", "127.0.0.1", "--port", str(self.port),
            f"--ServerApp.root_dir={self.root}",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip


class VoilaServer(JupyterServer):
    """Voila serving the notebooks of ``root`` as apps at ``/voila/render/NB.ipynb``.

    Every request for a notebook starts a kernel and runs it, so readiness is probed on a path
    that does not exist: any HTTP answer, 404 included, means the server is up.
    """

    name = "voila"
    ready_path = "/voila/vidu-readiness-probe"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "voila", str(self.root),
            "--no-browser", f"--port={self.port}", "--Voila.ip=127.0.0.1",
            "--VoilaConfiguration.show_tracebacks=True",
        ]  # fmt: skip

    def _is_up(self, status: int) -> bool:
        return status > 0

    def render_url(self, notebook: str) -> str:
        return f"{self.url}/voila/render/{notebook}"
