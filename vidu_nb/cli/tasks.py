"""``vidu-nb submit | status | cancel``: tasks from the shell, recorded in the task log.

Machine-readable results go to stdout (the task id; with ``--wait`` the video URL or the
downloaded path), progress and notes to stderr, so ``ID=$(vidu-nb submit ...)`` works.
``vidu-nb log`` lists what they recorded (``listing``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import states
from ..client.config import ENV_API_KEY, ENV_BASE_URL, ClientConfig
from ..client.task import Task
from ..errors import SubmissionUncertain, TaskFailed, ViduError
from ..tracking.tasklog.owners import Owner
from . import command
from .command import UsageError

if TYPE_CHECKING:
    from ..workspace import Workspace


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("submit", help="submit an image-to-video task")
    p.add_argument("image", help="start frame: a png/jpeg/webp file or an http(s) URL")
    p.add_argument("--prompt", "-p", default=None, help="what should happen (<= 5000 chars)")
    p.add_argument("--model", "-m", default=None, help="model, e.g. viduq3-pro (the default)")
    p.add_argument("--duration", "-d", type=int, default=None, help="seconds of video")
    p.add_argument("--resolution", "-r", default=None, help="e.g. 540p, 720p, 1080p")
    p.add_argument("--seed", type=int, default=None, help="fixed seed (random when unset)")
    p.add_argument("--off-peak", action="store_true", default=None, help="cheaper, slower")
    p.add_argument("--audio", action=argparse.BooleanOptionalAction, default=None)
    p.add_argument("--audio-type", default=None, help="all, speech_only, sound_effect_only")
    p.add_argument("--movement-amplitude", default=None, help="auto, small, medium, large")
    p.add_argument("--bgm", action="store_true", default=None, help="background music")
    p.add_argument("--is-rec", action="store_true", default=None, help="recommended prompt")
    p.add_argument("--voice-id", default=None)
    p.add_argument("--payload", default=None, help="passed through to the task untouched")
    p.add_argument("--callback-url", default=None)
    p.add_argument("--experiment", default=None, help="group name in the task log")
    p.add_argument("--tag", action="append", default=[], help="tag in the task log (repeat)")
    p.add_argument("--wait", "-w", action="store_true", help="wait until the task finishes")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds --wait waits (900)")
    p.add_argument(
        "--download", metavar="DIR", default=None, help="save the video (implies --wait)"
    )
    p.add_argument(
        "--progress-every",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="on a terminal, print the elapsed time this often while waiting (10; 0 = only "
        "state changes)",
    )
    command.log_option(p)
    p.set_defaults(handler=submit)

    p = sub.add_parser("status", help="show a task's state (and update the task log)")
    p.add_argument("task_id")
    p.add_argument("--json", action="store_true", help="print the task as JSON")
    command.log_option(p)
    p.set_defaults(handler=status)

    p = sub.add_parser("cancel", help="cancel a task (off-peak tasks only)")
    p.add_argument("task_id")
    command.log_option(p)
    p.set_defaults(handler=cancel)


def _check_wait_options(args: argparse.Namespace) -> None:
    """--timeout, --progress-every and --download, checked before anything is sent."""
    if math.isnan(args.timeout) or args.timeout <= 0:
        raise UsageError(f"--timeout={args.timeout:g}: must be a number of seconds > 0")
    if math.isnan(args.progress_every) or args.progress_every < 0:
        raise UsageError(
            f"--progress-every={args.progress_every:g}: must be 0 (only state changes) or more"
        )
    if args.download is not None:
        command.check_folder(f"--download={args.download}", Path(args.download).expanduser())


# -- submit ------------------------------------------------------------------------------
def submit(args: argparse.Namespace) -> int:
    from ..client.core import new_client_ref
    from ..request.spec import Img2VideoRequest

    fields = {
        name: getattr(args, name)
        for name in (
            "prompt", "model", "duration", "resolution", "seed", "off_peak", "audio",
            "audio_type", "movement_amplitude", "bgm", "is_rec", "voice_id", "payload",
            "callback_url",
        )
        if getattr(args, name) is not None
    }  # fmt: skip
    request = Img2VideoRequest(image=args.image, **fields)  # checked before any network call
    wait = args.wait or args.download is not None
    if wait:
        _check_wait_options(args)
    if not wait and ClientConfig.resolve().embedded:
        # The task would die with this command's simulator; `status` would then answer 404.
        raise UsageError(
            f"with no {ENV_API_KEY} or {ENV_BASE_URL} the simulator runs inside this command "
            "and stops with it, so the task could never finish: use --wait, or start "
            f"`vidu-nb simulator` and set {ENV_BASE_URL}"
        )
    ws = command.workspace(args.log)
    client = command.client(ws)
    log = command.open_log(ws)
    ref = new_client_ref()
    common = {"experiment": args.experiment, "tags": args.tag, "base_url": client.base_url}
    # The row is written before the POST (queued -> submitting), so a command killed while
    # sending leaves a row that `Poller.resume` marks uncertain instead of losing the task.
    owner = Owner(log.owners_dir, log.owner_locks)
    try:
        token = owner.hold()
        log.record_queued(request, ref, owner=token, **common)
        log.start_sending(ref, token)
        try:
            task = client.submit(request, client_ref=ref)
        except SubmissionUncertain as exc:
            log.record_uncertain(request, exc.client_ref or ref, exc, **common)
            raise
        except ViduError as exc:  # refused, or provably never sent: nothing was created
            code = getattr(exc, "reason", "") or type(exc).__name__
            log.record_uncertain(request, ref, exc, state="failed", err_code=code, **common)
            raise
        log.record_submission(request, task, client_ref=ref, **common)
    finally:
        owner.release()
    settings = request.resolved()
    command.say(f"submitted task {task.id} ({settings['model']}, {settings['duration']} s, "
         f"{settings['resolution']}): {task.state}"
         + (f", {task.credits} credits" if task.credits is not None else ""))  # fmt: skip
    if client.config.embedded:  # the simulator, and the task with it, end with this command
        args.interrupt_hint = args.timeout_hint = "the task ended with the local simulator"
    else:
        args.interrupt_hint = f"task {task.id} goes on: vidu-nb status {task.id}"
    print(task.id, flush=True)
    if not wait:
        return 0
    task = _wait(client, log, task, args.timeout, args.progress_every)
    command.say(_summary(task, log))
    if args.download is None:
        print(task.video_url, flush=True)
        return 0
    from ..tracking.cache import VideoCache
    from ..tracking.recipe import recipe_of

    cache = VideoCache(Path(args.download).expanduser())
    try:
        recipe = recipe_of(log.get(task.id))  # the file says how it was made
        video, cover = cache.fetch(task, client, on_refresh=log.update, recipe=recipe)
    finally:
        cache.close()
    log.set_files(task.id, video.resolve(), cover.resolve() if cover else None)
    print(video, flush=True)
    return 0


def _wait(client: Any, log: Any, task: Task, timeout: float, every: float = 0.0) -> Task:
    """Wait for ``task``, one stderr line per state change; on a terminal also a line every
    ``every`` seconds without a change, so a long generation does not look hung."""
    start = time.monotonic()
    ticker = _Ticker(start, every, task.state) if every > 0 and sys.stderr.isatty() else None

    def progress(update: Task) -> None:
        log.update(update)
        if ticker is not None:
            ticker.changed(update.state)
        command.say(f"{time.monotonic() - start:7.1f} s  {update.state}")

    if ticker is not None:
        ticker.start()
    try:
        final = client.wait(task, timeout=timeout, on_update=progress)
    except TaskFailed as exc:
        if exc.task is not None:
            log.update(exc.task)
        raise
    finally:
        if ticker is not None:
            ticker.stop()
    log.update(final)
    return final


class _Ticker(threading.Thread):
    """Prints the elapsed time every ``every`` seconds since the last line."""

    def __init__(self, began: float, every: float, state: str) -> None:
        super().__init__(daemon=True, name="vidu-nb-progress")
        self.every = every
        self.state = state
        self.began = self.last = began
        self._stop_event = threading.Event()

    def changed(self, state: str) -> None:
        self.state, self.last = state, time.monotonic()

    def run(self) -> None:
        while not self._stop_event.wait(min(self.every, 1.0)):
            if time.monotonic() - self.last >= self.every:
                self.last = time.monotonic()
                command.say(f"{self.last - self.began:7.1f} s  {self.state} (still waiting)")

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=2)


def _summary(task: Task, log: Any) -> str:
    row = log.get(task.id) or {}
    parts = [f"task {task.id} {task.state}"]
    if row.get("finished_at") and row.get("submitted_at"):
        wall = (row["finished_at"] - row["submitted_at"]).total_seconds()
        parts.append(f"in {wall:.1f} s")
    if task.credits is not None:
        parts.append(f"{task.credits} credits")
    if task.seed is not None:
        parts.append(f"seed {task.seed}")
    return ", ".join(parts)


# -- status / cancel ---------------------------------------------------------------------
def status(args: argparse.Namespace) -> int:
    ws = command.workspace(args.log, args.task_id)
    task = command.client(ws).get(args.task_id)
    row = _update_if_logged(ws, task) or {}
    seed = task.seed if task.seed is not None else _first(row, "seed", "seed_requested")
    info = {
        "id": task.id,
        "state": task.state,
        "model": task.model or row.get("model"),  # GET does not return it: the log knows
        "credits": task.credits,
        "seed": seed,
        "err_code": task.err_code,
        "off_peak": task.off_peak,
        "created_at": task.created_at.isoformat() if task.created_at else None,
        "video_url": task.video_url,
        "cover_url": task.cover_url,
        "trace_id": task.trace_id,
    }
    if args.json:
        print(json.dumps(info, indent=2, default=_plain))
    else:
        for key, value in info.items():
            if value not in (None, ""):
                print(f"{key + ':':<11} {value}")
    return 4 if states.is_failed(task.state) else 0


def _first(row: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` the log row has a value for (pandas' missing values skipped)."""
    for name in names:
        value = row.get(name)
        if value is not None and value == value:  # NaN != NaN
            return _plain(value)
    return None


def _plain(value: Any) -> Any:
    """numpy scalars as plain Python numbers, for JSON and printing."""
    return value.item() if hasattr(value, "item") else value


def cancel(args: argparse.Namespace) -> int:
    ws = command.workspace(args.log, args.task_id)
    command.client(ws).cancel(args.task_id)
    if ws.log_path.is_file():
        log = command.open_log(ws)
        if log.get(args.task_id) is not None:
            log.set_state(args.task_id, states.CANCELLED, "cancelled from the command line")
    command.say(f"cancel requested for task {args.task_id}")
    return 0


def _update_if_logged(ws: Workspace, task: Task) -> dict[str, Any] | None:
    """Record ``task`` in the log when the log knows it; return its (updated) row."""
    if not ws.log_path.is_file():  # a status check does not create a log
        return None
    log = command.open_log(ws)
    if log.get(task.id) is None:
        return None
    log.update(task)
    return log.get(task.id)
