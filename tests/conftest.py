"""Shared fixtures: real image files made with Pillow and a real task log, each in the test's
temporary folder, and a recording stand-in for the browser side of widget comms.

A test module marked ``pytestmark = pytest.mark.stores`` runs each test that uses the ``store``
fixture (``log``, ``log_at``) twice: on a SQLite file and on a fresh database of the session's
PostgreSQL server (``pgserver.py``). Elsewhere ``store`` is ``"sqlite"``."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import comm
import pytest
from pgserver import pg_server  # noqa: F401 - the session's PostgreSQL (a fixture)
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


STORES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("stores"):
        metafunc.parametrize("store", STORES, indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """Which store the test's logs use: ``"sqlite"``, or ``"postgresql"`` (marked modules)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def log_at(
    store: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., str | Path]:
    """``log_at(name)``: where the test's log ``name`` lives (the same place for the same name):
    a file in the temporary folder, or the URL of a database made for it."""
    if store == "sqlite":
        return lambda name="tasks.sqlite": tmp_path / name
    server = request.getfixturevalue("pg_server")
    monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path / "team"))  # kept files stay in the test's
    made: dict[str, str] = {}
    request.addfinalizer(lambda: server.drop(list(made.values())))

    def at(name: str = "tasks.sqlite") -> str:
        if name not in made:
            made[name] = server.database(request.node.name[:24])
        return made[name]

    return at


@pytest.fixture
def log(log_at: Callable[..., str | Path]) -> Iterator[TaskLog]:
    with TaskLog(log_at()) as log:
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests share one worker when the suite runs in parallel (``-n 2 --dist
    loadgroup``): one JupyterLab and one Chromium for all of them, while the other worker runs
    the rest, which mostly waits on loopback servers and subprocesses."""
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
