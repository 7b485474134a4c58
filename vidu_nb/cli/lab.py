"""``vidu-nb lab`` (and ``notebook``, ``voila``): a Jupyter front end on the quickstart, with a
simulator subprocess when no key is set.

The simulator runs as a separate process (not inside a kernel) so that every kernel shares one
simulator that outlives kernel restarts: a task submitted before a restart can be resumed after
it. It is started in its own session so a Ctrl-C meant for JupyterLab does not stop it, and it
is stopped when JupyterLab exits.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from ..client.config import ENV_API_KEY, ENV_BASE_URL, env_sim_speed
from ..tracking.tasklog.store import default_log_path
from ..workspace.embedded import DEMO_SPEED, ENV_SPEED
from . import frontends
from .command import UsageError, say
from .frontends import FRONT_ENDS, LAB, FrontEnd

QUICKSTART = Path("notebooks") / "quickstart.ipynb"


def add_parser(sub: argparse._SubParsersAction) -> None:
    for front in FRONT_ENDS.values():
        p = sub.add_parser(
            front.command,
            help=f"open {front.title} on the quickstart (local simulator when no key is set)",
            description=f"Start {front.title} on notebooks/quickstart.ipynb. With no "
            "VIDU_API_KEY a local simulator is started for all kernels (nothing is charged). "
            f"Arguments not listed here are passed to {front.title} (e.g. --port 8890 "
            "--no-browser).",
        )
        p.add_argument("--notebook", type=Path, default=None, help="notebook to open")
        p.add_argument(
            "--sim-speed",
            type=float,
            default=None,
            help=f"simulator time factor (default ${ENV_SPEED} or {DEMO_SPEED:g})",
        )
        p.add_argument("--log", default=None, help="task log for all kernels (sets VIDU_LOG_PATH)")
        p.set_defaults(handler=run_lab, passthrough=True, front=front)


class SimulatorProcess:
    """``python -m vidu_nb.simulator`` on a free loopback port, as a context manager."""

    def __init__(self, *, speed: float = DEMO_SPEED, extra: tuple[str, ...] = ()) -> None:
        self.speed = speed
        self.extra = extra
        self.api_key = "sim-" + secrets.token_urlsafe(12)
        self.base_url = ""
        self.proc: subprocess.Popen[str] | None = None
        self._drainer: threading.Thread | None = None

    def __enter__(self) -> SimulatorProcess:
        self.start()
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 30.0) -> str:
        cmd = [
            sys.executable, "-m", "vidu_nb.simulator",
            "--host", "127.0.0.1", "--port", "0",
            "--speed", f"{self.speed:g}", "--api-key", self.api_key, *self.extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # a Ctrl-C for JupyterLab must not reach it
        )
        self.base_url = self._read_url(timeout)
        # Keep draining its output so the pipe never fills.
        self._drainer = threading.Thread(target=self._drain, daemon=True, name="vidu-sim-drain")
        self._drainer.start()
        return self.base_url

    def _read_url(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                line = self.proc.stdout.readline()
                if not line and self.proc.poll() is not None:
                    break
                if "http://" in line:
                    return line[line.index("http://") :].split()[0]
            elif self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the local simulator did not start (see the messages above)")

    def _drain(self) -> None:
        proc = self.proc
        if proc is not None and proc.stdout is not None:
            for _ in proc.stdout:
                pass

    def stop(self) -> None:
        """Stop the simulator and close its output pipe (no "unclosed file" warning at exit)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        finally:
            drainer, self._drainer = self._drainer, None
            if drainer is not None:
                drainer.join(timeout=5)  # it ends at the pipe's end-of-file
            if proc.stdout is not None and (drainer is None or not drainer.is_alive()):
                proc.stdout.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def find_notebook(given: Path | None, cwd: Path) -> Path | None:
    """The notebook to open: the given one, ./notebooks/quickstart.ipynb, or the repo's."""
    if given is not None:
        return given.resolve()
    for base in (cwd, Path(__file__).resolve().parents[2]):
        candidate = base / QUICKSTART
        if candidate.is_file():
            return candidate
    return None


def lab_command(
    notebook: Path | None, extra: list[str], *, as_root: bool, front: FrontEnd = LAB
) -> tuple[list[str], Path]:
    """The front end's command line and the folder to run it in (the root it serves)."""
    return frontends.command(front, notebook, extra, as_root=as_root)


def lab_environment(
    base: Mapping[str, str],
    *,
    base_url: str = "",
    api_key: str = "",
    log_path: Path,
    speed: float | None = None,
) -> dict[str, str]:
    """The front end's environment: the simulator's address (and pace) when one was started,
    one task log shared by every kernel whatever folder its notebook is in, and the project's
    Jupyter settings folder in front of ``JUPYTER_CONFIG_PATH``."""
    env = dict(base)
    if base_url:
        env[ENV_BASE_URL] = base_url
        env[ENV_API_KEY] = api_key
        if speed is not None:
            env[ENV_SPEED] = f"{speed:g}"
    env["VIDU_LOG_PATH"] = str(log_path)
    # The project's Jupyter settings (no news pop-up over the quickstart), for this server only.
    env["JUPYTER_CONFIG_PATH"] = frontends.config_path(base)
    return env


def run_lab(args: argparse.Namespace) -> int:
    front: FrontEnd = getattr(args, "front", LAB)
    if not front.installed():
        raise UsageError(
            f"{front.title} is not installed here: pip install 'vidu-nb[{front.extra}]' "
            "(make run installs it)"
        )
    cwd = Path.cwd()
    notebook = find_notebook(args.notebook, cwd)
    if notebook is not None and not notebook.is_file():
        raise FileNotFoundError(2, "no such notebook", str(notebook))
    cmd, root = lab_command(notebook, list(args.extra), as_root=_is_root(), front=front)
    # The rule every kernel would follow from the served root (the project's log), made
    # explicit so kernels share it whatever folder their notebook is in.
    log_path = Path(args.log).resolve() if args.log else default_log_path(root).resolve()
    speed = args.sim_speed if args.sim_speed is not None else env_speed()
    if not 0 < speed < math.inf:  # the simulator process would die with a traceback
        raise UsageError(f"--sim-speed={speed:g}: must be a number > 0 (1 = real-time pace)")
    key_set = bool(os.environ.get(ENV_API_KEY, "").strip())
    url_set = bool(os.environ.get(ENV_BASE_URL, "").strip())
    sim = SimulatorProcess(speed=speed) if not key_set and not url_set else None
    if notebook is None:
        say(f"no {QUICKSTART} here: starting {front.title} in {cwd}")
    try:
        if sim is not None:
            sim.start()
            say(f"no {ENV_API_KEY} set: using the local simulator at {sim.base_url}")
            say(
                f"  nothing is sent to Vidu and no credits are charged; it stops with {front.title}"
            )
        elif key_set:
            say(f"{ENV_API_KEY} is set: generations go to the Vidu API and are charged")
        else:
            say(f"using the API at {os.environ[ENV_BASE_URL].strip()} ({ENV_BASE_URL})")
        say(f"task log: {log_path}")
        env = lab_environment(
            os.environ,
            base_url=sim.base_url if sim else "",
            api_key=sim.api_key if sim else "",
            log_path=log_path,
            speed=sim.speed if sim else None,
        )
        page = notebook.relative_to(root).as_posix() if notebook is not None else None
        return _run_until_exit(cmd, root, env, announce=(front, page))
    finally:
        if sim is not None:
            sim.stop()


def _run_until_exit(
    cmd: list[str], cwd: Path, env: dict[str, str], *, announce: tuple[FrontEnd, str | None]
) -> int:
    """Run the front end in the foreground; its own Ctrl-C handling (confirm, twice) applies.

    Once it is up, the notebook's address is printed (see ``_announce``)."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env)
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _terminate(signum: int, frame: object) -> None:
        proc.terminate()

    previous_term = signal.signal(signal.SIGTERM, _terminate)
    front, page = announce
    if page is not None and front.app is not None:
        threading.Thread(
            target=_announce, args=(proc, front, page), daemon=True, name="vidu-announce"
        ).start()
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)


def _announce(proc: subprocess.Popen[bytes], front: FrontEnd, page: str) -> None:
    """Print the notebook's own address (token included) once the server has written it:
    Jupyter's banner scrolls away under its logs. (Voila prints it itself: it is ``/``.)"""
    folder = frontends.runtime_dir()
    info = None
    if folder is not None:
        info = frontends.server_info(folder, proc.pid, alive=lambda: proc.poll() is None)
    if info is not None:
        say(f"open {page} at {frontends.page_url(front, info, page)}")


def env_speed() -> float:
    """``$VIDU_SIM_SPEED`` checked, or the demo default."""
    return env_sim_speed() or DEMO_SPEED


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
