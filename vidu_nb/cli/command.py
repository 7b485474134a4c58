"""What every command of ``vidu-nb`` shares: the error for bad input, the ``--log`` option, the
workspace a command works with (its client and task log, opened so that a wrong path is bad
input rather than a crash), the checks of paths and dates, and the one voice on stderr.

It sits under the command modules (``tasks``, ``sync``, ``report``, ``lab``) and under ``app``,
which turns a ``UsageError`` into exit code 2: each of them imports it, it imports none of them.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import states
from ..client.config import ENV_API_KEY, ENV_BASE_URL, ClientConfig
from ..errors import TaskLogError

if TYPE_CHECKING:
    from ..workspace import Workspace

#: The states ``--state`` knows by name; any state present in the log is accepted too.
STATE_NAMES = (*states.ALL_STATES, *states.UNDOCUMENTED_STATES)


class UsageError(Exception):
    """Bad command-line input that argparse cannot see (exit code 2)."""


def say(message: str) -> None:
    """A note for the person at the shell (stderr: stdout holds only what scripts read)."""
    print(f"vidu-nb: {message}", file=sys.stderr, flush=True)


def log_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--log",
        default=None,
        help="task log file (default $VIDU_LOG_PATH or the project's vidu_tasks.sqlite)",
    )


def workspace(log_path: str | None, task_id: str | None = None) -> Workspace:
    """What a command works with, each part made when first asked for: the configured client
    (``client``; one that can know ``task_id`` when given) and the task log at ``--log`` or
    the default path (``open_log``)."""
    from ..workspace import Workspace

    if task_id is not None and ClientConfig.resolve().embedded:
        # A fresh in-process simulator knows no task: every id would be a 404.
        raise UsageError(
            f"no {ENV_API_KEY} or {ENV_BASE_URL} is set, so there is no service that knows "
            f"task {task_id}: set {ENV_API_KEY} for the Vidu API, or {ENV_BASE_URL} to the "
            "`vidu-nb simulator` the task was submitted to"
        )
    return Workspace(log_path=log_path)


def client(ws: Workspace) -> Any:
    client: Any = ws.client  # polls a loopback simulator at $VIDU_SIM_SPEED's pace
    if client.is_simulated and not client.config.embedded:
        say(f"using the simulator at {client.base_url}: nothing is charged")
    return client


def open_log(ws: Workspace) -> Any:
    where = ws.log_path
    not_a_folder(where)
    try:
        return ws.log
    except TaskLogError as exc:
        raise UsageError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        if type(exc) is not sqlite3.DatabaseError:  # locked, I/O errors: not the file's kind
            raise
        raise UsageError(f"task log {where} is not a vidu-nb task log ({exc})") from None


def not_a_folder(log_path: Path) -> None:
    if log_path.is_dir():
        raise UsageError(
            f"task log {log_path} is a folder; give a file such as {log_path / 'vidu_tasks.sqlite'}"
        )


def check_folder(what: str, folder: Path) -> None:
    """``folder`` is, or can be created as, a folder this process can write in."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{what}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{what}: no permission to write in {existing}")


def parse_since(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--since={text}: use an ISO date such as 2025-01-31") from None


def states_wanted(asked: list[str], present: list[str]) -> list[str]:
    """The stored (raw) states matching ``--state`` names, compared as ``states.norm`` does:
    a known name, or any state present in the log (an undocumented one the service sent)."""
    wanted = {states.norm(name) for name in asked}
    found = {states.norm(s) for s in present}
    unknown = [name for name in asked if states.norm(name) not in {*STATE_NAMES, *found}]
    if unknown:
        names = list(dict.fromkeys((*STATE_NAMES, *present)))
        raise UsageError(f"--state={','.join(unknown)}: unknown state; use {', '.join(names)}")
    return sorted({*wanted, *(s for s in present if states.norm(s) in wanted)})
