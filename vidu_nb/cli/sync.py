"""``vidu-nb sync``: bring the task log in line with the tasks the service created.

Tasks started from the web console, on another machine or recorded in a log that was lost are
imported (``source`` = ``imported``), tasks the log knows are updated (fresh video URLs too),
and uncertain submissions found in the list are reconciled. The summary goes to stdout as
``key=value`` pairs, so a script can read it; notes go to stderr.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, timedelta, timezone

from ..client.config import ENV_API_KEY, ENV_BASE_URL, ClientConfig
from . import command
from .command import UsageError

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sync",
        help="import tasks created elsewhere (web console, another machine) into the task log",
    )
    p.add_argument(
        "--since", default="7d", help="created at or after: a span back from now (7d, 12h, 30m) "
        "or an ISO date/time, UTC (default 7d, the service's own window)",
    )  # fmt: skip
    p.add_argument("--until", default=None, help="created before: a span back or ISO (now)")
    command.log_option(p)
    p.set_defaults(handler=sync)


def parse_when(option: str, text: str, now: datetime | None = None) -> datetime:
    """``7d``/``12h``/``30m``/``45s``/``2w`` back from ``now``, or an ISO date/time (UTC when
    it names no offset)."""
    now = now or datetime.now(timezone.utc)
    span = _SPAN.match(text)
    if span:
        return now - timedelta(seconds=float(span.group(1)) * _UNIT[span.group(2).lower()])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option}={text}: use a span such as 7d, 12h, 30m or an ISO date such as 2025-01-31"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def sync(args: argparse.Namespace) -> int:
    now = datetime.now(timezone.utc)
    since = parse_when("--since", args.since, now)
    until = parse_when("--until", args.until, now) if args.until else None
    if until is not None and until < since:
        raise UsageError(f"--until={args.until}: is before --since={args.since}")
    if ClientConfig.resolve().embedded:  # a fresh in-process simulator has nothing to list
        raise UsageError(
            f"no {ENV_API_KEY} or {ENV_BASE_URL} is set, so there is no service to list tasks "
            f"from: set {ENV_API_KEY} for the Vidu API, or {ENV_BASE_URL} to a `vidu-nb "
            "simulator`"
        )
    with command.workspace(args.log) as ws:
        client = command.client(ws)
        log = command.open_log(ws)
        summary = log.sync(client, since=since, until=until)
    window = f"{since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC" if until else (
        f"since {since:%Y-%m-%d %H:%M} UTC"
    )  # fmt: skip
    command.say(f"{summary} ({window}) in {log.path}")
    if summary.skipped:
        command.say(
            "skipped (fit several uncertain submissions, or gone): " + ", ".join(summary.skipped)
        )
    print(
        f"added={summary.added} updated={summary.updated} reconciled={summary.reconciled} "
        f"listed={summary.listed}",
        flush=True,
    )
    return 0
