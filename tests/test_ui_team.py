"""Cards follow tasks another kernel's poller follows: this kernel's poller reads the other's
changes from the shared log and its event hub redraws the card, with no request to the
service from here. A real second process, a real simulator, both stores."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import make_image
from test_tasklog_leases import KERNEL
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.live import card_for
from vidu_nb.ui.session import Session

pytestmark = pytest.mark.stores


def test_a_card_here_follows_a_task_another_kernel_sent_and_follows(tmp_path, log_at):
    target = log_at("cards")
    TaskLog(target).close()
    image, stop = tmp_path / "start.png", tmp_path / "stop"
    image.write_bytes(make_image(96, 64))
    with Simulator(speed=20, concurrency=5, video_height=32, seed=6) as sim:
        with (
            TaskLog(target) as log,
            ViduClient.for_simulator(sim) as client,
            Poller(client, log, cache=False, measure=False, watch=0.1) as here,
        ):
            client._transport.session.headers["User-Agent"] = "here"
            session = Session(client, log, here)
            args = [target, sim.api_key, sim.base_url, image, stop]
            other = subprocess.Popen(
                [sys.executable, "-c", KERNEL, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert other.stdout is not None and other.stdout.readline().startswith("submitted")
                refs = list(log.to_frame(columns=["client_ref"])["client_ref"])
                cards = [card_for(ref, session) for ref in refs]  # queued or running there
                assert len(cards) == 3
                done = lambda: all("vidu-card-state-success" in c._dom_classes for c in cards)  # noqa: E731
                assert until(done, timeout=60)
                assert all(c.task_id for c in cards)
            finally:
                stop.touch()
                other.communicate(timeout=30)
        asked_here = [r.path for r in sim.requests if r.agent == "here"]
    assert not any(p.endswith("/creations") for p in asked_here)  # no task was checked here
