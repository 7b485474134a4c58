"""Other pollers' news, from the log: their row changes as this poller's events.

A team shares one log and each task is followed by one poller (``team``), but a card or grid
in any kernel must move when its task does. So each poller watches the log: when
``TaskLog.version`` moves (one cheap statement; SQLite's ``data_version``), it reads the rows
changed since (``TaskLog.changed_since``: the change feed the cached frame follows) and, for
rows this poller does not hold, emits what its own checks would have: a ``"state"`` event for
a new state, ``"files"`` when the video arrived, ``"measures"`` when it was measured. No
request goes to the service; the views redraw from the log as for any event. The processing
times of the tasks others saw succeed are learned too (``learn``: the poller's ``Timing``), so
ten pollers each following a tenth of the tasks forecast as well as one following them all.

Ratings, picks and notes live on the same rows, so the same feed carries them: a judgment
that changed (whoever holds the task: a teammate rates tasks this poller follows) is announced
to the log's ``judgments`` watchers (``Judgments.heard``), the ones grids and cards of this
kernel already watch for ratings made here; each redraws the cells of that task only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ... import states
from ..tasklog.judgments import Judgment
from .events import PollerEvent, Subscribers

if TYPE_CHECKING:
    from ..tasklog import TaskLog

#: What of a row is news for the views: its state, its video, its measures.
Seen = tuple[Any, Any, Any]
#: A row's judgment as last seen: rating, pick, note.
Judged = tuple[Any, Any, Any]


class LogWatcher:
    """Turns rows changed by others into ``PollerEvent``\\ s (``poll``, from one thread)."""

    def __init__(
        self,
        tasklog: TaskLog,
        subscribers: Subscribers,
        owner: Callable[[], str],
        learn: Callable[[list[tuple[Any, ...]]], object] | None = None,
        base_url: str | None = None,
    ) -> None:
        self.log = tasklog
        self.subscribers = subscribers
        self._owner = owner
        self._learn = learn
        self._base_url = base_url  # learn only from tasks of this service (as stored)
        self._lock = threading.Lock()
        self._version: object = None
        self._mark: tuple[bool, float] | None = None
        self._seen: dict[int, Seen] = {}
        self._judged: dict[int, Judged] = {}
        #: Events emitted and looks at the log (for a look at the watcher's work; tests count
        #: them: a look while nothing changed costs one statement).
        self.emitted = 0
        self.rounds = 0

    def start(self) -> None:
        """Watch from now on: what changed before is not news."""
        with self._lock:
            if self._mark is None:
                self._version = self.log.version
                self._mark = self.log.changed_since(None)[0]

    def poll(self) -> int:
        """Emit the events of rows others changed since the last poll; returns how many."""
        with self._lock:
            self.rounds += 1
            version = self.log.version
            if self._mark is not None and version == self._version:
                return 0
            self._mark, rows = self.log.changed_since(self._mark)
            self._version = version
            mine = self._owner()
            events = []
            times = []
            judged = []
            for row in rows:
                judgment = _judgment(row)
                if self._judged.get(row["row_id"]) != judgment[2:]:
                    self._judged[row["row_id"]] = judgment[2:]
                    judged.append(judgment)
                seen = (row.get("state"), row.get("video_path"), row.get("measured_at"))
                before = self._seen.get(row["row_id"])
                self._seen[row["row_id"]] = seen
                if row.get("owner") == mine or before == seen:
                    continue
                events.extend(_events(row, before, seen))
                if seen[0] != (before or (None,))[0] and states.is_success(seen[0]):
                    times.extend(self._times(row))
            self.emitted += len(events)
        if times and self._learn is not None:
            self._learn(times)
        heard = getattr(getattr(self.log, "judgments", None), "heard", None)
        if heard is not None:
            for judgment in judged:
                heard(judgment)
        for event in events:
            self.subscribers.emit(event)
        return len(events)

    def _times(self, row: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The row as ``TaskLog.timing_history`` gives it, when it says how long it took."""
        began, ended = row.get("processing_at"), row.get("finished_at")
        if began is None or ended is None:
            return []
        if self._base_url is not None and row.get("base_url") != self._base_url:
            return []
        seconds = ended.timestamp() - began.timestamp()
        return [(row["model"], row["resolution"], row["duration"], row["off_peak"], seconds)]


def _judgment(row: dict[str, Any]) -> Judgment:
    pick = row.get("pick")
    return Judgment(
        row["row_id"], row.get("task_id"), row.get("rating"),
        None if pick is None else bool(pick), row.get("note"),
    )  # fmt: skip


def _events(row: dict[str, Any], before: Seen | None, seen: Seen) -> list[PollerEvent]:
    handle = row.get("client_ref") or row.get("task_id") or ""
    task_id = row.get("task_id")
    old_state, old_video, old_measured = before or (None, None, None)
    state, video, measured = seen
    events = []
    if state != old_state:
        events.append(PollerEvent(handle, task_id, old_state, str(state)))
    if video and video != old_video:
        cover = row.get("cover_path")
        events.append(
            PollerEvent(
                handle, task_id, str(state), str(state), kind="files", video_path=str(video),
                cover_path=str(cover) if cover else None,
            )
        )  # fmt: skip
    if measured is not None and measured != old_measured:
        events.append(PollerEvent(handle, task_id, str(state), str(state), kind="measures"))
    return events
