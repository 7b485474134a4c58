"""``vidu-nb log``: the task log as a compact table of its newest rows, or exported whole to
CSV or Parquet, filtered by state, model, experiment, tag or date. It reads the log alone: no
client is made, so listing never reaches the service.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import command
from .command import UsageError

LIST_COLUMNS = (
    "task_id", "state", "model", "duration", "resolution", "seed", "credits", "wall_time_s",
    "submitted_at", "experiment", "prompt",
)  # fmt: skip
EXPORTS = (".csv", ".parquet")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="list or export the task log")
    p.add_argument("--state", action="append", default=None, help="only this state (repeat)")
    p.add_argument("--model", action="append", default=None, help="only this model (repeat)")
    p.add_argument("--experiment", default=None)
    p.add_argument("--tag", default=None)
    p.add_argument("--since", default=None, help="submitted at or after (ISO date/time, UTC)")
    p.add_argument("--limit", type=int, default=20, help="newest N rows in the table (20; 0 = all)")
    p.add_argument("--columns", default=None, help="comma-separated columns to show")
    p.add_argument("--export", metavar="FILE", default=None, help="write .csv or .parquet")
    command.log_option(p)
    p.set_defaults(handler=show_log)


def show_log(args: argparse.Namespace) -> int:
    ws = command.workspace(args.log)  # no client: the log alone
    path = ws.log_path
    if args.export is not None and Path(args.export).suffix.lower() not in EXPORTS:
        raise UsageError(f"--export={args.export}: the file name must end in .csv or .parquet")
    if args.export is not None:
        if Path(args.export).expanduser().is_dir():
            raise UsageError(f"--export={args.export}: is a folder; give a file name")
        command.check_folder(f"--export={args.export}", Path(args.export).expanduser().parent)
    if args.limit < 0:
        raise UsageError(f"--limit={args.limit}: must be 0 (all) or more")
    command.not_a_folder(path)
    if not path.is_file():
        command.states_wanted(args.state or [], [])  # a bad name is refused with or without a log
        command.say(f"no task log at {path} yet (set VIDU_LOG_PATH or --log)")
        return 0
    filters: dict[str, Any] = {
        "experiment": args.experiment,
        "state": args.state,
        "model": args.model,
        "tag": args.tag,
    }
    if args.since:
        filters["since"] = command.parse_since(args.since)
    log = command.open_log(ws)
    if args.state:
        filters["state"] = command.states_wanted(args.state, log.states_present())
    frame = log.to_frame(**{k: v for k, v in filters.items() if v is not None})
    if args.export is not None:
        out = Path(args.export).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix.lower() == ".csv":
            log.to_csv(out, **{k: v for k, v in filters.items() if v is not None})
        else:
            _need_pyarrow()
            log.to_parquet(out, **{k: v for k, v in filters.items() if v is not None})
        command.say(f"wrote {len(frame)} tasks to {out}")
        return 0
    print(format_table(frame, args.columns, args.limit))
    return 0


def format_table(frame: Any, columns: str | None, limit: int) -> str:
    """A compact text table of the newest ``limit`` rows."""
    if frame.empty:
        return "(no tasks)"
    wanted = [c.strip() for c in columns.split(",")] if columns else list(LIST_COLUMNS)
    unknown = [c for c in wanted if c not in frame.columns]
    if unknown:
        raise UsageError(
            f"--columns: unknown {', '.join(unknown)}; known: {', '.join(frame.columns)}"
        )
    shown = frame[wanted].tail(limit) if limit else frame[wanted]
    shown = shown.copy()
    for col in wanted:
        if str(shown[col].dtype).startswith("datetime64"):
            shown[col] = shown[col].dt.strftime("%Y-%m-%d %H:%M:%S")
        elif col == "prompt":
            shown[col] = shown[col].fillna("").map(lambda s: s if len(s) <= 40 else s[:39] + "…")
        elif col.endswith("_s"):
            shown[col] = shown[col].round(1)
    text = shown.to_string(index=False, na_rep="-")
    hidden = len(frame) - len(shown)
    return text + (f"\n({hidden} older tasks not shown; --limit 0 shows all)" if hidden else "")


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError(
            "--export: .parquet needs pyarrow (pip install 'vidu-nb[parquet]'); use .csv"
        ) from None
