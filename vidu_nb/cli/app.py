"""Argument parsing, dispatch, and the mapping from exceptions to exit codes and messages."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import TextIO

from ..errors import (
    APIError,
    ConnectionFailed,
    SubmissionUncertain,
    TaskFailed,
    ValidationError,
    ViduError,
    WaitTimeout,
)
from .command import UsageError

EXIT = MappingProxyType(
    {"ok": 0, "error": 1, "usage": 2, "api": 3, "failed": 4, "timeout": 5, "interrupted": 130}
)


def build_parser() -> argparse.ArgumentParser:
    from . import lab, listing, report, sync, tasks

    parser = argparse.ArgumentParser(
        prog="vidu-nb",
        description="Experiment with Vidu image-to-video generation (simulator when no "
        "VIDU_API_KEY is set: nothing is charged).",
        epilog="Exit codes: 0 ok, 1 other error (e.g. a file that cannot be written), 2 bad "
        "input, 3 API error, 4 task failed, 5 timeout, 130 interrupted.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    lab.add_parser(sub)
    sim = sub.add_parser(
        "simulator",
        add_help=False,
        help="serve a local simulator of the API (see `vidu-nb simulator --help`)",
    )
    sim.set_defaults(handler=_simulator, passthrough=True)
    tasks.add_parsers(sub)
    listing.add_parser(sub)
    sync.add_parser(sub)
    report.add_parser(sub)
    return parser


def _simulator(args: argparse.Namespace) -> int:
    from ..simulator.__main__ import main as simulator_main

    try:
        return simulator_main(args.extra)
    except (ValueError, OverflowError) as exc:  # a setting the simulator refuses (speed, port)
        raise UsageError(str(exc)) from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # argparse already printed usage and the message
        return int(exc.code or 0)
    if extra and not getattr(args, "passthrough", False):
        print(f"{parser.prog}: error: unrecognized arguments: {' '.join(extra)}", file=sys.stderr)
        return EXIT["usage"]
    args.extra = extra
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    return run(args.handler, args)


def run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Call a command handler; turn what it raises into one stderr line and an exit code."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = _show_warning
        try:
            return handler(args)
        except KeyboardInterrupt:
            hint = getattr(args, "interrupt_hint", "")
            _error("interrupted" + (f"; {hint}" if hint else ""), args)
            return EXIT["interrupted"]
        except BaseException as exc:  # noqa: BLE001 - every error becomes one line and a code
            if isinstance(exc, SystemExit):
                raise
            message, code = describe(exc)
            hint = getattr(args, "timeout_hint", "")
            if hint and isinstance(exc, WaitTimeout):
                message = f"{exc}; {hint}"
            _error(message, args)
            return code


def describe(exc: BaseException) -> tuple[str, int]:
    """The one-line message and exit code for an exception."""
    if isinstance(exc, (ValidationError, UsageError)):
        return f"invalid input: {exc}", EXIT["usage"]
    if isinstance(exc, TaskFailed):
        return str(exc), EXIT["failed"]
    if isinstance(exc, WaitTimeout):
        return f"{exc}; it may still finish: vidu-nb status {exc.task_id}", EXIT["timeout"]
    if isinstance(exc, SubmissionUncertain):
        ref = f" (look for payload {exc.client_ref})" if exc.client_ref else ""
        return f"submission uncertain: {exc}{ref}", EXIT["api"]
    if isinstance(exc, APIError):
        return f"API error: {exc}", EXIT["api"]
    if isinstance(exc, ConnectionFailed):
        return f"connection failed: {exc}", EXIT["api"]
    if isinstance(exc, ViduError):
        return str(exc), EXIT["api"]
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}", EXIT["usage"]
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT["error"]
    return f"{type(exc).__name__}: {exc}", EXIT["error"]


def _error(message: str, args: argparse.Namespace) -> None:
    if getattr(args, "debug", False) and sys.exc_info()[0] is not None:
        traceback.print_exc()
    text = " ".join(message.split())  # one line, whatever the exception text holds
    print(f"vidu-nb: error: {text}", file=sys.stderr)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    print(f"vidu-nb: note: {' '.join(str(message).split())}", file=sys.stderr)
