"""``vidu-nb report``: a standalone HTML report of tasks in the task log (an experiment, a
sweep, any filtered slice), to open offline in a browser or send as one file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client.config import ClientConfig
from . import command
from .command import UsageError

if TYPE_CHECKING:
    from ..workspace import Workspace

VIDEO_MODES = ("copy", "embed", "zip")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write a standalone HTML report (synchronized players, parameters, totals)",
        description="Write one HTML file comparing tasks of the task log: the grid of videos "
        "with one play/pause/seek control, a contact sheet, credits and time per video, each "
        "video's parameters and totals. It opens offline from the file.",
    )
    p.add_argument("out", metavar="OUT.html", help="the report to write")
    p.add_argument("--experiment", default=None, help="only this experiment (sweep)")
    p.add_argument("--state", action="append", default=None, help="only this state (repeat)")
    p.add_argument("--model", action="append", default=None, help="only this model (repeat)")
    p.add_argument("--tag", default=None, help="only tasks with this tag")
    p.add_argument("--since", default=None, help="submitted at or after (ISO date/time, UTC)")
    p.add_argument("--rows", default=None, help="a parameter per row, e.g. prompt")
    p.add_argument("--cols", default=None, help="a parameter per column (e.g. seed) or a count")
    p.add_argument(
        "--videos",
        choices=VIDEO_MODES,
        default="copy",
        help="copy: into OUT_files/ next to the page (default); embed: inside the page; "
        "zip: the page and its videos in OUT.zip",
    )
    p.add_argument("--title", default=None, help="the report's title (default: the experiment)")
    command.log_option(p)
    p.set_defaults(handler=write_report)


def write_report(args: argparse.Namespace) -> int:
    out = Path(args.out).expanduser()
    if out.is_dir():
        raise UsageError(f"{args.out}: is a folder; give a file name such as report.html")
    command.check_folder(f"OUT={args.out}", out.parent)
    ws = command.workspace(args.log)
    path = ws.log_path
    command.not_a_folder(path)
    if not path.is_file():
        raise UsageError(f"no task log at {path} (set VIDU_LOG_PATH or --log)")
    log = command.open_log(ws)
    filters: dict[str, Any] = {
        "experiment": args.experiment, "model": args.model, "tag": args.tag,
    }  # fmt: skip
    if args.state:
        filters["state"] = command.states_wanted(args.state, log.states_present())
    if args.since:
        filters["since"] = command.parse_since(args.since)
    frame = log.to_frame(**{k: v for k, v in filters.items() if v is not None})
    if frame.empty:
        raise UsageError(f"no tasks match {_described(args)}{_known_experiments(log, args)}")
    cols: str | int | None = args.cols
    if isinstance(cols, str) and cols.isdigit():
        cols = int(cols)
    from ..ui.reporting import report

    written = report(
        frame, out, rows=args.rows, cols=cols, log=log, client=_refresher(ws),
        videos=args.videos, title=args.title,
    )  # fmt: skip
    where = {"copy": f", videos in {written.stem}_files/ beside it", "zip": ""}
    command.say(f"wrote a report of {len(frame)} tasks to {written}{where.get(args.videos, '')}")
    print(written, flush=True)
    return 0


def _described(args: argparse.Namespace) -> str:
    parts = [
        f"--{name}={','.join(value) if isinstance(value, list) else value}"
        for name in ("experiment", "state", "model", "tag", "since")
        if (value := getattr(args, name))
    ]
    return " ".join(parts) or "(the log is empty)"


def _known_experiments(log: Any, args: argparse.Namespace) -> str:
    if args.experiment is None:
        return ""
    names = log.to_frame(columns=["experiment"])["experiment"].dropna().unique()
    shown = sorted(map(str, names))[:10]
    return f"; experiments in the log: {', '.join(shown)}" if shown else ""


def _refresher(ws: Workspace) -> Any:
    """A client to refresh expired video URLs when a service is configured (a simulator in
    this process would know none of the tasks)."""
    if ClientConfig.resolve().embedded:
        return None
    return ws.client
