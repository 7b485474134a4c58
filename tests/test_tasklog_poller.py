"""The task log fed by the real poller and simulator over loopback HTTP: the API key never
reaches any file of the log, and the notebook can read ``log.df`` while the poller writes."""

from __future__ import annotations

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

pytestmark = pytest.mark.stores

KEY = "vk-SENTINEL-7f3a9c21e8d54b6f"
WRONG_KEY = "vk-MISTYPED-0b8e4d2a9c7f1e35"
IMAGE = make_image(160, 120)


def req(i: int) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def files_holding(folder, secret: str) -> list[str]:
    """Every file under ``folder`` (log, WAL, cache, thumbnails) whose bytes hold ``secret``."""
    needles = (secret.encode(), secret.encode("utf-16-le"))
    return [
        str(p)
        for p in folder.rglob("*")
        if p.is_file() and any(n in p.read_bytes() for n in needles)
    ]


@pytest.fixture
def sim():
    with Simulator(api_key=KEY, speed=100, video_height=64, seed=5) as s:
        yield s


def test_api_key_never_reaches_the_log_files(sim, tmp_path):
    folder = tmp_path / "work"
    sim.faults.add("server_error", count=2, method="GET")  # errors get recorded on the way
    with TaskLog(folder / "tasks.sqlite") as log:
        with ViduClient(KEY, sim.base_url) as client, Poller(client, log) as poller:
            for i in range(2):
                poller.submit(req(i), experiment="secret")
            assert poller.wait_all(60)
        with ViduClient(WRONG_KEY, sim.base_url) as client, Poller(client, log) as poller:
            poller.submit(req(9), experiment="refused")  # 401: recorded as refused
            assert poller.wait_all(60)
        df = log.df
        assert list(df["state"]) == ["success", "success", "failed"]
        assert df["video_path"].notna().sum() == 2  # the full cycle ran: videos are cached
        assert (folder / "tasks.sqlite-wal").exists()
        assert files_holding(folder, KEY) == [] and files_holding(folder, WRONG_KEY) == []
    assert files_holding(folder, KEY) == [] and files_holding(folder, WRONG_KEY) == []


def test_notebook_reads_while_the_poller_writes(sim, tmp_path):
    with (
        TaskLog(tmp_path / "tasks.sqlite") as log,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, policy="submit_all") as poller,
    ):
        for i in range(12):
            poller.submit(req(i), experiment="live")
        reads, states = 0, set()
        while poller.pending:
            df = log.to_frame(experiment="live")  # what a notebook cell does meanwhile
            assert df["task_id"].dropna().is_unique
            states |= set(df["state"])
            reads += 1
        assert poller.wait_all(60)
        df = log.to_frame(experiment="live")
    assert reads > 1 and len(states) > 1  # it read the log mid-flight, not only at the end
    assert len(df) == 12 and (df["state"] == "success").all()
