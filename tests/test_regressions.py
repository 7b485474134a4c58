"""Regression tests, one per bug fixed (each against the loopback simulator)."""

from __future__ import annotations

import pandas as pd
import pytest

from vidu_nb.client import ViduClient
from vidu_nb.errors import NotFound
from vidu_nb.simulator import Simulator


def test_wait_by_id_quotes_an_odd_task_id_once() -> None:
    with Simulator(speed=50) as sim, ViduClient.for_simulator(sim) as client:
        with pytest.raises(NotFound) as info:
            client.wait("a b/c", timeout=5)
        assert [r.path for r in sim.requests] == ["/ent/v2/tasks/a%20b%2Fc/creations"]
        assert "a%25" not in str(info.value)


def test_a_decompression_bomb_is_an_image_error() -> None:
    import io

    from PIL import Image

    from vidu_nb.errors import ImageError
    from vidu_nb.request.spec import Img2VideoRequest

    buf = io.BytesIO()
    Image.new("1", (15000, 12000)).save(buf, "PNG")  # 180 M pixels in about 22 KB
    with pytest.raises(ImageError, match="pixels"):
        Img2VideoRequest(image=buf.getvalue())


def test_a_poller_started_again_after_stop_still_works(tmp_path) -> None:
    from conftest import make_image

    from vidu_nb.request.spec import Img2VideoRequest
    from vidu_nb.tracking.poller import Poller
    from vidu_nb.tracking.tasklog import TaskLog

    with (
        Simulator(speed=50) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "log.sqlite") as log,
    ):
        poller = Poller(client, log)
        poller.start()
        poller.stop()
        poller.start()
        try:
            handle = poller.submit(Img2VideoRequest(image=make_image(), prompt="again"))
            assert poller.wait_all(timeout=30)
            row = log.get(poller.task_id(handle) or "")
            assert row is not None and row["state"] == "success" and row["video_path"]
        finally:
            poller.stop()


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_poller_track_refuses_an_empty_task_id(tmp_path, bad) -> None:
    from vidu_nb.errors import ValidationError
    from vidu_nb.tracking.poller import Poller
    from vidu_nb.tracking.tasklog import TaskLog

    with (
        Simulator(speed=50) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "log.sqlite") as log,
    ):
        poller = Poller(client, log, cache=False)
        with pytest.raises(ValidationError, match="task_id"):
            poller.track(bad)
        assert poller.pending == 0


def test_cancelled_tasks_are_refunded_in_the_ledger(tmp_path) -> None:
    from conftest import make_image

    from vidu_nb import Img2VideoRequest
    from vidu_nb.client.task import Task
    from vidu_nb.tracking.ledger import Ledger
    from vidu_nb.tracking.tasklog import TaskLog

    req = Img2VideoRequest(image=make_image(64, 48), duration=5, off_peak=True)
    with TaskLog(tmp_path / "l.sqlite") as log:
        log.record_submission(req, Task.from_response({"task_id": "c1", "credits": 75}))
        log.set_state("c1", "cancelled")
        row = Ledger(log).per_task().iloc[0]
    assert row["credits"] == 0 and row["pending_credits"] is pd.NA


def test_timings_are_learned_whatever_the_case_of_the_host(tmp_path) -> None:
    from conftest import make_image

    from vidu_nb import Img2VideoRequest
    from vidu_nb.client.task import Task
    from vidu_nb.tracking.poller import Poller
    from vidu_nb.tracking.tasklog import TaskLog

    req = Img2VideoRequest(image=make_image(64, 48), duration=4, resolution="1080p")
    with TaskLog(tmp_path / "t.sqlite") as log:
        echo = {"task_id": "1", "model": "viduq3-pro", "resolution": "1080p", "duration": 4}
        task = Task.from_response(echo)
        log.record_submission(req, task, base_url="https://API.Vidu.com")
        for state in ("queueing", "processing", "success"):
            log.update(Task.from_response({"id": "1", "state": state}, previous=task))
        client = ViduClient("k", "https://API.Vidu.com")  # no request is sent: nothing pending
        poller = Poller(client, log, cache=False).start()
        try:
            assert len(poller.timing) == 1
        finally:
            poller.stop()
