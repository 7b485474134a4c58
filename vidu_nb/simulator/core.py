"""``Simulator``: a loopback stand-in for the Vidu API with real videos, credits and faults."""

from __future__ import annotations

import json
import random
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .account import credits_body, list_body, parse_list_query, parse_show_detail
from .api import Endpoint, Reject, check_submit, query_body
from .contract import CANCEL_ANSWERS, CREDITS_FIELDS
from .delivery import CallbackSender
from .engine import UNLIMITED_CREDITS, CancelRefused, CreditShort, Engine, SimTask
from .faults import Faults
from .files import UrlSigner
from .server import SimHTTPServer
from .video import DEFAULT_MAX_LINES, VideoMaker


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int  # 0 when the connection was dropped without an answer
    time: float
    agent: str = ""  # the client's User-Agent: who asked, as an access log says


@dataclass(frozen=True)
class TaskView:
    """The server's own view of a task, for tests (times are epoch seconds)."""

    id: str
    state: str
    err_code: str
    credits: int
    model: str
    duration: int
    resolution: str
    off_peak: bool
    seed: int
    payload: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    queries: int


class Simulator:
    """Serve the Vidu task API on loopback. Use as a context manager or ``start``/``stop``.

    ``speed`` divides all generation times; ``url_ttl`` is in real seconds. ``credits`` is the
    key's starting balance (None: unlimited, shown as a large metered package); a submit that
    costs more answers 400 ``CreditInsufficient``. Where the pages disagree the form answered
    is an option: ``cancel_answer`` (``"{}"``, ``"null"`` or ``""`` for an empty body) and
    ``credits_field`` (``"remains"`` or ``"remaining_credits"``). ``list_states`` adds
    ``state`` and ``created_at`` to listed tasks (the account page lists neither). ``still``
    (also settable between submits) makes clips that do not move, a known still for motion
    measures; otherwise ``movement_amplitude`` sets how fast a clip moves. The API key
    is never shown in ``repr``. ``stop()`` hangs up on every client; ``start()`` again serves the
    same tasks on the same port, like a service coming back after an outage (result files
    survive only with a ``data_dir``).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sim-key",
        prefix: str = "",
        auth_scheme: str | None = None,
        speed: float = 1.0,
        concurrency: int = 5,
        url_ttl: float = 86400.0,
        video_height: int = DEFAULT_MAX_LINES,
        fps: int = 12,
        faults: Faults | None = None,
        seed: int | None = None,
        data_dir: str | Path | None = None,
        verbose: bool = False,
        credits: int | None = None,
        cancel_answer: str = "{}",
        credits_field: str = "remains",
        list_states: bool = False,
        still: bool = False,
    ) -> None:
        if cancel_answer not in CANCEL_ANSWERS:
            raise ValueError(f"cancel_answer={cancel_answer!r}: must be one of {CANCEL_ANSWERS}")
        if credits_field not in CREDITS_FIELDS:
            raise ValueError(f"credits_field={credits_field!r}: must be one of {CREDITS_FIELDS}")
        if credits is not None and credits < 0:
            raise ValueError(f"credits={credits}: must be 0 or more (None: unlimited)")
        self.host = host
        self.port = port
        self.api_key = api_key
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.auth_scheme = auth_scheme
        self.speed = speed
        self.concurrency = concurrency
        self.video_height = video_height
        self.fps = fps
        self.verbose = verbose
        self.cancel_answer = cancel_answer
        self.credits_field = credits_field
        self.list_states = list_states
        #: What listed tasks show as ``key_id`` (an id of the key, never the key itself).
        self.key_id = "key-" + secrets.token_hex(6)
        self._opened = datetime.now(timezone.utc)
        self._credit_amount = UNLIMITED_CREDITS if credits is None else credits
        self._rng = random.Random(seed)
        if faults is None:
            faults = Faults(seed=seed)
        self.faults = faults
        self.requests: list[RequestRecord] = []
        self.signer = UrlSigner(secrets.token_bytes(32), url_ttl)
        self._data_dir = Path(data_dir) if data_dir is not None else None
        self._tmp: str | None = None
        self._server: SimHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self.callbacks: CallbackSender | None = None
        self.videos: VideoMaker | None = None
        self.engine = Engine(
            videos=None, speed=speed, concurrency=concurrency, rng=self._rng,
            on_change=self._changed, balance=self._credit_amount,
        )  # fmt: skip
        self.still = still

    @property
    def still(self) -> bool:
        """While true, clips of submitted tasks do not move (whatever ``movement_amplitude``
        says): a known still, to check motion measures against. Not a feature of the
        service; may be switched between submits."""
        return self.engine.still

    @still.setter
    def still(self, value: bool) -> None:
        self.engine.still = bool(value)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Simulator:
        if self._server is not None:
            return self
        if self._data_dir is None:
            self._tmp = tempfile.mkdtemp(prefix="vidu-sim-")
        directory = self._data_dir or Path(self._tmp or ".")
        self.videos = VideoMaker(directory / "videos", max_lines=self.video_height, fps=self.fps)
        self.engine.videos = self.videos
        self.callbacks = CallbackSender(self.api_key)
        self._server = SimHTTPServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                             name="vidu-sim-http", daemon=True),
            threading.Thread(target=self._tick, name="vidu-sim-clock", daemon=True),
        ]  # fmt: skip
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.callbacks:
            self.callbacks.stop()
        if self.videos:
            self.videos.shutdown()
        self._server = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server else "stopped"
        return f"Simulator({where}, speed={self.speed:g}, concurrency={self.concurrency})"

    def _tick(self) -> None:
        """Moves time on even when nobody asks, so callbacks go out on time."""
        while not self._stop.wait(0.02):
            self.engine.advance()

    # -- addresses -----------------------------------------------------------------------
    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + self.prefix

    # -- used by the handler -------------------------------------------------------------
    def record(self, method: str, path: str, status: int, agent: str = "") -> None:
        self.requests.append(RequestRecord(method, path, status, time.time(), agent))

    def submit(self, endpoint: Endpoint, body: Any, path: str) -> SimTask:
        fields, frame = check_submit(endpoint, body, self._rng.randrange(0, 2**31))
        outcome = lambda: self.faults.task_outcome("POST", path)  # noqa: E731 - once charged
        try:
            return self.engine.submit(fields, frame.data, outcome)
        except CreditShort as exc:
            raise Reject(400, "CreditInsufficient", f"credit insufficient: {exc}") from None

    def _task(self, task_id: str, count_query: bool = False) -> SimTask:
        try:
            return self.engine.get(task_id, count_query=count_query)
        except KeyError:
            raise Reject(404, "TaskNotFound", f"task {task_id} not found") from None

    def query(self, task_id: str) -> dict[str, Any]:
        task = self._task(task_id, count_query=True)
        return self._body(task, self.engine.state_of(task))

    def cancel(self, task_id: str, body: bytes = b"") -> None:
        """Cancel as documented, ``{"id": "<task id>"}``; an empty body, ``{}`` or ``null``
        (older clients, which name the task in the path only) is accepted too."""
        try:
            data = json.loads(body) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            raise Reject(400, "BadRequest", "the request body is not valid JSON") from None
        if data is not None and not isinstance(data, dict):
            raise Reject(400, "BadRequest", 'the cancel body must be {"id": "<task id>"}')
        given = (data or {}).get("id")
        if given is not None and not isinstance(given, str):
            raise Reject(400, "FieldInvalid", "field 'id' must be a string")
        if given is not None and given != task_id:
            raise Reject(
                400, "BadRequest", f"id {given!r} in the body is not the task {task_id} in the path"
            )
        self._task(task_id)
        try:
            self.engine.cancel(task_id)
        except CancelRefused as exc:
            raise Reject(400, "BadRequest", str(exc)) from None

    def list_tasks(self, query: str) -> dict[str, Any]:
        """``GET /ent/v2/tasks``: one page of this key's tasks (see ``account``)."""
        q = parse_list_query(query, datetime.now(timezone.utc))
        self.engine.advance()
        return list_body(
            self.engine.tasks(), q, self.engine.state_of, self._listed_creations,
            self.key_id, self.list_states,
        )  # fmt: skip

    def credits(self, query: str) -> dict[str, Any]:
        """``GET /ent/v2/credits``: the balance, the concurrency limit and the load."""
        return credits_body(
            self.engine.balance, self._credit_amount, self.concurrency, self.engine.load(),
            self._opened, self.credits_field, parse_show_detail(query),
        )  # fmt: skip

    def _listed_creations(self, task: SimTask, state: str) -> list[dict[str, Any]]:
        if state != "success" or task.video is None or not task.video.done():
            return []
        files = task.video.result()
        url, root = self.signer.url, self.root_url
        video = {
            "duration": float(task.fields["duration"]),
            "fps": self.fps,
            "resolution": {"width": files.width, "height": files.height},
        }
        return [{"id": f"{task.id}01", "url": url(root, task.id, "video.mp4"),
                 "cover_url": url(root, task.id, "cover.jpg"), "video": video}]  # fmt: skip

    def _body(self, task: SimTask, state: str) -> dict[str, Any]:
        creations = []
        if state == "success":
            url = self.signer.url
            root = self.root_url
            creations.append(
                {
                    "id": f"{task.id}01",
                    "url": url(root, task.id, "video.mp4"),
                    "cover_url": url(root, task.id, "cover.jpg"),
                    "watermarked_url": url(root, task.id, "watermarked.mp4"),
                }
            )
        return query_body(task, state, creations)

    def file_for(self, task_id: str, name: str) -> Path | None:
        task = self.engine.tasks_by_id().get(task_id)
        if task is None or task.final != "success" or task.video is None:
            return None
        files = task.video.result()
        path = {"video.mp4": files.video, "watermarked.mp4": files.watermarked,
                "cover.jpg": files.cover}.get(name)  # fmt: skip
        return path if path is not None and path.exists() else None

    def _changed(self, task: SimTask, state: str) -> None:
        if task.callback_url and self.callbacks is not None:
            self.callbacks.send(task.callback_url, self._body(task, state))

    # -- for tests -----------------------------------------------------------------------
    def balance(self) -> int:
        """The key's credits left (what ``GET /ent/v2/credits`` reports as ``credit_remain``)."""
        return self.engine.balance

    def set_balance(self, credits: int) -> None:
        """Set the key's credits left, as if a package of ``credits`` had just been bought."""
        if credits < 0:
            raise ValueError(f"credits={credits}: must be 0 or more")
        self._credit_amount = credits
        self.engine.set_balance(credits)

    def force_state(self, task_id: str, state: str | None, seconds: float | None = None) -> None:
        """Make the API report a raw, undocumented ``state`` for a task, for client tests.

        ``scheduled``, ``preparation`` (or any other undocumented text) hold the task where it
        is for ``seconds`` real seconds, or until ``force_state(task_id, None)``; ``canceled``
        ends it for good, refunded. Queries, the task list and a callback report the raw
        text. ``KeyError`` for an unknown task, ``ValueError`` for a documented state.
        """
        self.engine.force(task_id, state, seconds)

    def set_created_at(self, task_id: str, when: datetime) -> None:
        """Pretend a task was created at ``when`` (an aware datetime), for task-list windows."""
        task = self.engine.get(task_id)
        task.created_wall = when.timestamp()
        task.fields["created_at"] = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def task_state(self, task_id: str) -> TaskView:
        """The server-side truth about a task (``KeyError`` when unknown)."""
        task = self.engine.get(task_id)
        f = task.fields
        return TaskView(
            id=task.id,
            state=self.engine.state_of(task),
            err_code=task.err_code,
            credits=task.credits,
            model=f["model"],
            duration=f["duration"],
            resolution=f["resolution"],
            off_peak=f["off_peak"],
            seed=f["seed"],
            payload=f["payload"],
            created_at=self.engine.wall(task.created_at) or 0.0,
            started_at=self.engine.wall(task.started_at),
            finished_at=self.engine.wall(task.finished_at),
            queries=task.queries,
        )

    def count(self, method: str | None = None, path: str = "", *, exact: bool = False) -> int:
        """How many requests matched: ``path`` is a substring, or with ``exact`` the whole
        path without the query (``exact=True, path=sim.prefix + "/ent/v2/tasks"`` counts the
        task-list requests alone, not ``/ent/v2/tasks/{id}/creations``)."""
        return sum(
            1
            for r in list(self.requests)
            if (method is None or r.method == method)
            and (r.path == path if exact else path in r.path)
        )
