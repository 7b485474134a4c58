"""Task lifecycle on the simulated service: states over time, the concurrency limit, credits.

A task is ``created``, then ``queueing`` until one of ``concurrency`` processing slots frees up
(in submission order among tasks that may start), then ``processing`` for a generation time that
grows with duration and resolution, then ``success`` (once its video is encoded) or ``failed``.
Time is simulated as events at exact instants (``advance``), so finish times and queue order do
not depend on how often anyone looks. All durations are divided by ``speed``.

The organization has a credit balance: a submit is charged when the task is created (refused
when the balance is short), and failed or cancelled tasks are refunded (their ``credits`` drop
to 0 and the balance gets them back). For client tests a task can be made to report a raw,
undocumented state (``force``): ``scheduled`` or ``preparation`` hold it where it is for a
while, ``canceled`` ends it.
"""

from __future__ import annotations

import heapq
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .contract import CANCELLED_STATES, MODELS, STATES, credits_for
from .video import VideoFiles, VideoMaker, look_for

#: The balance of ``Simulator(credits=None)``: large enough never to run out in a session.
UNLIMITED_CREDITS = 1_000_000_000


@dataclass
class Timing:
    """Simulated seconds at ``speed=1`` (the real service takes tens of seconds to minutes)."""

    created: float = 1.0  # time spent in ``created``
    queue_min: float = 1.0  # minimum time in ``queueing``
    base: float = 8.0  # processing time = (base + per_second * duration) * resolution factor
    per_second: float = 3.0
    off_peak_wait: float = 60.0  # extra queueing for off-peak tasks
    resolution_factor: dict[str, float] = field(
        default_factory=lambda: {"360p": 0.6, "540p": 0.8, "720p": 1.0, "1080p": 1.5}
    )

    def generation(self, duration: float, resolution: str) -> float:
        return (self.base + self.per_second * duration) * self.resolution_factor.get(
            resolution, 1.0
        )


@dataclass
class SimTask:
    id: str
    seq: int
    fields: dict[str, Any]  # resolved request fields (what the submit response echoes)
    credits: int
    created_at: float  # monotonic
    eligible_at: float  # may start processing from here
    generation: float
    fail_with: str | None = None
    video: Future[VideoFiles] | None = None
    video_ready_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    final: str | None = None
    err_code: str = ""
    queries: int = 0
    created_state_until: float = 0.0
    created_wall: float = 0.0  # epoch seconds (the task list's time window)
    forced: str | None = None  # a raw state reported until ``held_until`` (``force``)
    held_until: float = -math.inf

    @property
    def off_peak(self) -> bool:
        return bool(self.fields.get("off_peak"))

    @property
    def callback_url(self) -> str | None:
        return self.fields.get("callback_url") or None

    def end_time(self) -> float | None:
        """When processing ends, or None while the video is still being encoded."""
        assert self.started_at is not None
        end = max(self.started_at + self.generation, self.held_until)
        if self.fail_with is not None or self.video is None:
            return end
        if self.video_ready_at is None:
            return None
        return max(end, self.video_ready_at)


class CancelRefused(Exception):
    """The task cannot be cancelled; the message is the API's."""


class CreditShort(Exception):
    """The balance does not cover a task's cost; no task was created."""

    def __init__(self, cost: int, balance: int) -> None:
        super().__init__(f"the task costs {cost} credits; the balance is {balance}")
        self.cost = cost
        self.balance = balance


class Engine:
    """All tasks of one simulated organization. Thread-safe."""

    def __init__(
        self,
        *,
        videos: VideoMaker | None,
        speed: float = 1.0,
        concurrency: int = 5,
        rng: random.Random | None = None,
        timing: Timing | None = None,
        on_change: Callable[[SimTask, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        balance: int = UNLIMITED_CREDITS,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed={speed}: must be > 0")
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency}: must be >= 1")
        self.videos = videos
        self.speed = speed
        self.concurrency = concurrency
        self.timing = timing or Timing()
        self.on_change = on_change
        self.clock = clock
        self.balance = balance
        #: Clips of tasks submitted while this is true do not move (``Simulator(still=...)``).
        self.still = False
        self._wall_offset = time.time() - clock()
        self._rng = rng or random.Random()
        self._lock = threading.RLock()
        self._tasks: dict[str, SimTask] = {}
        self._queued: list[SimTask] = []
        self._running: list[SimTask] = []
        self._free_slots: list[float] = [-math.inf] * concurrency  # heap of slot-free times
        self._next_id = self._rng.randrange(800_000_000_000_000_000, 900_000_000_000_000_000)

    # -- time ----------------------------------------------------------------------------
    def wall(self, mono: float | None) -> float | None:
        """A monotonic instant as epoch seconds (what tests compare with ``time.time()``)."""
        return None if mono is None else mono + self._wall_offset

    def state_of(self, task: SimTask, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        if task.final:
            return task.final
        if task.forced is not None and now < task.held_until:
            return task.forced
        if task.started_at is not None:
            return "processing"
        return "created" if now < task.created_state_until else "queueing"

    # -- operations ----------------------------------------------------------------------
    def submit(
        self,
        fields: dict[str, Any],
        image: bytes | None,
        fail_with: str | None | Callable[[], str | None] = None,
    ) -> SimTask:
        """Create and charge a task (``CreditShort`` when the balance is below its cost).

        ``fail_with`` is the err_code it will fail with, or a function asked for it once the
        task is charged (so a refused submit does not use up a failure fault)."""
        t = self.timing
        with self._lock:
            now = self.clock()
            created_until = now + t.created / self.speed
            wait = t.queue_min + (t.off_peak_wait if fields.get("off_peak") else 0.0)
            cost = credits_for(
                fields["model"],
                fields["resolution"],
                fields["duration"],
                bool(fields.get("off_peak")),
                bool(fields.get("is_rec")),
            )
            if cost > self.balance:
                raise CreditShort(cost, self.balance)
            self.balance -= cost
            self._next_id += 1
            err = fail_with() if callable(fail_with) else fail_with
            task = SimTask(
                id=str(self._next_id),
                seq=self._next_id,
                fields=fields,
                credits=cost,
                created_at=now,
                eligible_at=created_until + wait / self.speed,
                generation=t.generation(fields["duration"], fields["resolution"]) / self.speed,
                fail_with=err,
                created_state_until=created_until,
                created_wall=time.time(),
            )
            self._tasks[task.id] = task
            self._queued.append(task)
        if err is None and self.videos is not None and image is not None:
            look = look_for(
                fields.get("prompt") or "",
                fields.get("seed"),
                show_seed=fields.get("seed_given", True),
                audio=bool(fields.get("audio")),
                amplitude=self._amplitude(fields),
            )  # the seed picks the motion, the amplitude how far, the caption names the prompt
            task.video = self.videos.request(
                image, fields["duration"], look, fields["resolution"]
            )  # the size follows the resolution, scaled down (``video.lines_for``)
            task.video.add_done_callback(lambda _f: self._video_done(task))
        return task

    def _amplitude(self, fields: dict[str, Any]) -> str:
        """How far the clip moves: not at all while ``still``; else the request's
        ``movement_amplitude`` on models where it has an effect, ``auto`` on q2 and q3 models
        (the img2video page: no effect there)."""
        if self.still:
            return "still"
        model = MODELS.get(fields["model"])
        if model is None or not model.amplitude:
            return "auto"
        return str(fields.get("movement_amplitude") or "auto")

    def _video_done(self, task: SimTask) -> None:
        with self._lock:
            task.video_ready_at = self.clock()

    def get(self, task_id: str, *, count_query: bool = False) -> SimTask:
        """The task, brought up to date; ``KeyError`` when unknown."""
        self.advance()
        with self._lock:
            task = self._tasks[task_id]
            if count_query:
                task.queries += 1
            return task

    def cancel(self, task_id: str) -> SimTask:
        """Cancel an unfinished off-peak task (it fails with ``UserCancelled``, refunded)."""
        self.advance()
        events: list[tuple[SimTask, str]] = []
        with self._lock:
            task = self._tasks[task_id]
            state = self.state_of(task)
            if task.final or not task.off_peak:
                shown = "scheduled" if state in ("created", "queueing") else state
                raise CancelRefused(f"task state is {shown}, can not cancel")
            self._withdraw(task)
            self._finish(task, self.clock(), "failed", "UserCancelled", events)
            self._emit(events)
        return task

    def force(self, task_id: str, state: str | None, seconds: float | None = None) -> SimTask:
        """Make the task report the raw ``state`` (for client tests); ``KeyError`` if unknown.

        A cancelled spelling (``canceled``) ends the task, refunded. Any other undocumented
        state holds the task where it is (not started, or not finished) for ``seconds`` real
        seconds, or until ``force(task_id, None)``; a callback reports it when it is set.
        """
        if state in STATES:
            raise ValueError(f"state {state!r} is documented; force only undocumented states")
        if state is not None and not state.strip():
            raise ValueError("state must be a non-empty text (None releases a held task)")
        self.advance()
        events: list[tuple[SimTask, str]] = []
        with self._lock:
            task = self._tasks[task_id]
            now = self.clock()
            if state is None:
                task.held_until = min(task.held_until, now)
            elif task.final:
                raise ValueError(f"task {task_id} already ended {task.final}")
            elif state.strip().lower() in CANCELLED_STATES:
                self._withdraw(task)
                self._finish(task, now, state, "", events)
            else:
                task.forced = state
                task.held_until = math.inf if seconds is None else now + seconds
                events.append((task, state))
            self._emit(events)
        self.advance()
        return task

    def set_balance(self, credits: int) -> None:
        with self._lock:  # not between a submit's check and its charge
            self.balance = credits

    def load(self) -> tuple[int, int]:
        """Tasks processing now, and tasks waiting for a slot (created or queueing)."""
        self.advance()
        with self._lock:
            return len(self._running), len(self._queued)

    def _withdraw(self, task: SimTask) -> None:
        """Take an unfinished task out of the queue or its slot (it is about to end)."""
        if task in self._queued:
            self._queued.remove(task)
        if task in self._running:
            self._running.remove(task)
            heapq.heappush(self._free_slots, self.clock())

    def tasks(self) -> list[SimTask]:
        with self._lock:
            return list(self._tasks.values())

    def tasks_by_id(self) -> dict[str, SimTask]:
        with self._lock:
            return dict(self._tasks)

    # -- the clock -----------------------------------------------------------------------
    def advance(self) -> None:
        """Apply every start and finish that happened up to now, one at a time in time order.

        Strict order matters: a task that starts in a past slot may also end before a later
        slot, and its freed slot must go to the next queued task only after that instant.
        """
        events: list[tuple[SimTask, str]] = []
        with self._lock:
            now = self.clock()
            while True:
                ends = [(e, t.seq, t) for t in self._running if (e := t.end_time()) is not None]
                end = min(ends, key=lambda x: (x[0], x[1]), default=None)
                start = self._next_start(now)
                if end is not None and end[0] <= now and (start is None or end[0] <= start[0]):
                    self._end(end[2], end[0], events)
                elif start is not None:
                    at, task = start
                    heapq.heappop(self._free_slots)
                    self._queued.remove(task)
                    task.started_at = at
                    self._running.append(task)
                    events.append((task, "processing"))
                else:
                    break
            self._emit(events)

    def _next_start(self, now: float) -> tuple[float, SimTask] | None:
        """The queued task that takes the earliest free slot, and when; None if none can yet."""
        if not self._free_slots:
            return None
        ready = [t for t in self._queued if max(t.eligible_at, t.held_until) <= now]
        if not ready:
            return None
        slot = self._free_slots[0]
        task = min(ready, key=lambda x: (max(x.eligible_at, x.held_until, slot), x.seq))
        return max(task.eligible_at, task.held_until, slot), task

    def _end(self, task: SimTask, at: float, events: list[Any]) -> None:
        self._running.remove(task)
        heapq.heappush(self._free_slots, at)
        if task.fail_with is not None:
            self._finish(task, at, "failed", task.fail_with, events)
        elif task.video is not None and task.video.exception() is not None:
            self._finish(task, at, "failed", "InternalServiceFailure", events)
        else:
            self._finish(task, at, "success", "", events)

    def _finish(
        self, task: SimTask, at: float, state: str, err_code: str, events: list[Any]
    ) -> None:
        task.final = state
        task.finished_at = at
        task.err_code = err_code
        if state != "success":  # failed or cancelled: refunded
            self.balance += task.credits
            task.credits = 0
        events.append((task, state))

    def _emit(self, events: list[tuple[SimTask, str]]) -> None:
        """Report changes in the order they happened; called with the lock held, so a thread
        that applied later changes (a task's ``success``) cannot report them before another
        thread has reported earlier ones (its ``processing``): callbacks arrive in order."""
        if self.on_change is None:
            return
        for task, state in events:
            self.on_change(task, state)
