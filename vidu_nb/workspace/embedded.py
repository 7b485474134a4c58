"""The no-key default: one process-wide local simulator, started on first use.

A notebook opened without ``VIDU_API_KEY`` should still work end to end, and must never charge
anyone, so ``ViduClient()`` with no key and no base URL talks to this simulator on a free
loopback port: ``install()`` (run when ``vidu_nb`` is imported) makes it the client layer's
default server, so the client starts it without importing it. It runs at ``DEMO_SPEED`` (a
5 s clip takes about 5 s instead of ~25 s), can be changed with ``VIDU_SIM_SPEED``, says so
once per simulator start (a line in a notebook's output, a ``LocalSimulatorWarning`` in
scripts), and stops at exit.
"""

from __future__ import annotations

import atexit
import html
import logging
import sys
import threading
import warnings
from typing import TYPE_CHECKING

from ..client.config import ENV_SIM_SPEED, env_sim_speed, set_default_server

if TYPE_CHECKING:
    from ..simulator import Simulator

log = logging.getLogger("vidu_nb.embedded")

DEMO_SPEED = 5.0
ENV_SPEED = ENV_SIM_SPEED

_lock = threading.Lock()
_sim: Simulator | None = None
_atexit_registered = False


class LocalSimulatorWarning(UserWarning):
    """No key is configured, so requests go to the local simulator (nothing is charged)."""


def get_simulator() -> Simulator:
    """The running embedded ``Simulator``, started (and announced) on the first call."""
    global _sim, _atexit_registered
    with _lock:
        if _sim is not None:
            return _sim
        from ..simulator import Simulator

        sim = Simulator(host="127.0.0.1", port=0, speed=_demo_speed())
        sim.__enter__()
        _sim = sim
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True
    message = (
        f"No VIDU_API_KEY set: using the local simulator at {sim.base_url} — nothing is "
        "sent to Vidu and no credits are charged."
    )
    log.info(message)
    if not _notice_in_notebook(message):
        # Called through config.default_server() by ViduClient(): the warning names the caller.
        warnings.warn(message, LocalSimulatorWarning, stacklevel=4)
    return sim


def _notice_in_notebook(message: str) -> bool:
    """In a notebook (an IPython kernel, on the thread that runs cells) say it as one friendly
    line in the cell's output; a warning there is a pink stderr box naming a source line.
    Scripts and the command line get the ``LocalSimulatorWarning``. True when displayed."""
    if "IPython" not in sys.modules or threading.current_thread() is not threading.main_thread():
        return False
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - a partly installed IPython
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:  # a terminal IPython: warn
        return False
    line = html.escape(message)
    display(
        {
            "text/plain": message,
            "text/html": f"<div class='vidu-notice' style='color:#555'>\u2139\ufe0f {line}</div>",
        },
        raw=True,
    )
    return True


def is_running() -> bool:
    return _sim is not None


def shutdown() -> None:
    """Stop the embedded simulator; the next ``get_simulator()`` starts (and announces) anew."""
    global _sim
    with _lock:
        sim, _sim = _sim, None
    if sim is not None:
        try:
            sim.__exit__(None, None, None)
        except Exception as exc:  # at interpreter exit, never fail loudly
            log.debug("embedded simulator did not stop cleanly: %s", exc)


def _demo_speed() -> float:
    return env_sim_speed() or DEMO_SPEED


def install() -> None:
    """Make the embedded simulator what ``ViduClient()`` uses with nothing configured."""
    set_default_server(get_simulator)
