"""Shared fixtures: real image files made with Pillow and a real task log (SQLite), each in the
test's temporary folder, and a recording stand-in for the browser side of widget comms."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import comm
import pytest
from PIL import Image
from recording_comm import RecordingComm

from vidu_nb.tracking.tasklog import TaskLog


def make_image(width: int = 320, height: int = 240, fmt: str = "PNG", color=(200, 80, 40)) -> bytes:
    im = Image.new("RGB", (width, height), color)
    # A gradient so encoders and pan/zoom have something to show.
    px = im.load()
    for x in range(0, width, max(1, width // 32)):
        for y in range(0, height, max(1, height // 32)):
            px[x, y] = (x * 255 // width, y * 255 // height, 128)
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def png_bytes() -> bytes:
    return make_image()


@pytest.fixture
def png_path(tmp_path: Path, png_bytes: bytes) -> Path:
    path = tmp_path / "frame.png"
    path.write_bytes(png_bytes)
    return path


@pytest.fixture
def log(tmp_path: Path) -> Iterator[TaskLog]:
    with TaskLog(tmp_path / "tasks.sqlite") as log:
        yield log


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple]:
    """A running stack for UI tests: simulator (x60, small videos), client, task log, poller."""
    from simhelpers import running_stack

    with running_stack(tmp_path, speed=60, video_height=96) as stack:
        yield stack


@pytest.fixture
def frontend(monkeypatch: pytest.MonkeyPatch) -> type[RecordingComm]:
    """Widgets created in the test talk to a ``RecordingComm`` (``widget.comm.sent``)."""
    monkeypatch.setattr(comm, "create_comm", lambda **kw: RecordingComm(**kw))
    return RecordingComm
