"""Measures of each cached video, kept in the task log next to the task that made it.

``measure`` is the code path behind the poller's background measuring: it reads the cached
video and the kept start image, computes ``measures.Measures`` and stores them in one
transaction, so a sweep's DataFrame can be sorted by motion or flicker without decoding a
video again. Measuring takes a fraction of a second of CPU: the poller does it on its download
pool, never on the kernel's thread.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from ...client.task import Task
from ...errors import ValidationError, ViduError
from ..measures import Measures, measure_video
from .writes import existing, set_row

if TYPE_CHECKING:
    from .reads import Reads
    from .store import Store

#: ``Measures`` field -> task log column.
COLUMNS = {
    "motion": "motion",
    "flicker": "flicker",
    "first_frame_ssim": "first_frame_ssim",
    "duration_s": "video_duration_s",
    "fps": "video_fps",
    "width": "video_width",
    "height": "video_height",
    "has_audio": "video_has_audio",
}


class Measured:
    """Measuring cached videos and storing the result (``TaskLog`` delegates to it); needs
    the store's transactions and the log's lookups."""

    def __init__(self, store: Store, reads: Reads) -> None:
        self._store = store
        self._reads = reads

    def measure(self, task: Task | str, *, again: bool = False) -> Measures:
        """The measures of a task's cached video: computed and stored the first time (or with
        ``again=True``), read from the log afterwards.

        The start image kept with the request (or its thumbnail) gives ``first_frame_ssim``;
        a task without one (imported, or sent by URL) has ``None`` there. Raises ``ViduError``
        when the task is not in the log or its video is not cached yet, ``MeasureError`` when
        the file is not a readable video.
        """
        task_id = _task_id(task)
        row = self._reads.get(task_id)
        if row is None:
            raise ViduError(f"task {task_id} is not in {self._store.path}")
        if not again and (stored := measures_of(row)) is not None:
            return stored
        video = row.get("video_path")
        if not video or not os.path.isfile(video):
            raise ViduError(
                f"task {task_id} has no cached video to measure (state {row.get('state')}); "
                "a poller fetches it after success: poller.download(task_id) or "
                "Poller.resume(client, log)"
            )
        start = next(
            (
                p
                for p in (row.get("image_path"), row.get("thumbnail_path"))
                if p and os.path.isfile(p)
            ),
            None,
        )
        found = measure_video(video, start)
        self.set_measures(task_id, found)
        return found

    def measures(self, task: Task | str) -> Measures | None:
        """The stored measures of a task, or ``None`` when it was not measured yet."""
        task_id = _task_id(task)
        row = self._reads.get(task_id)
        if row is None:
            raise ViduError(f"task {task_id} is not in {self._store.path}")
        return measures_of(row)

    def set_measures(self, task_id: str, measures: Measures) -> None:
        """Store measures of a task's video (one transaction)."""
        if not isinstance(measures, Measures):
            raise ValidationError("measures", measures, "must be a Measures")
        values: dict[str, Any] = {col: getattr(measures, f) for f, col in COLUMNS.items()}
        values["measured_at"] = time.time()
        with self._store.write() as conn:
            row_id = existing(conn, _task_id(task_id), self._store.path)
            set_row(conn, row_id, values)

    def unmeasured(self) -> list[str]:
        """Ids of tasks with a cached video that was not measured yet, oldest first (logs
        from before measures existed; ``log.measure`` each one when wanted)."""
        with self._store.read() as conn:
            rows = conn.rows(
                "SELECT task_id FROM tasks WHERE video_path IS NOT NULL AND measured_at IS NULL"
                " AND task_id IS NOT NULL ORDER BY row_id"
            )
        return [r[0] for r in rows]


def measures_of(row: dict[str, Any]) -> Measures | None:
    """The ``Measures`` stored in a task log row (``None`` when it was not measured)."""
    if row.get("measured_at") is None:
        return None
    values: dict[str, Any] = {f: row.get(col) for f, col in COLUMNS.items()}
    values["has_audio"] = bool(values["has_audio"])
    return Measures(**values)


def _task_id(task: Any) -> str:
    if isinstance(task, Task):
        task = task.id
    if not isinstance(task, str) or not task.strip():
        raise ValidationError("task", task, "must be a Task or a task id (a non-empty string)")
    return task.strip()
