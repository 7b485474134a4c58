"""The watermark and metadata fields of a request are kept in their own columns (what the
service will use), typed in ``log.df``, exported, and sent again as asked after a restart."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog, read_export

pytestmark = pytest.mark.stores

IMAGE = make_image(160, 120)


def req(**kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt="p", duration=1, **kw)


def test_columns_hold_what_the_service_will_use(log, tmp_path):
    log.record_submission(req(watermark=True, meta_data={"label": "ai"}), Task(id="a"))
    log.record_submission(
        req(watermark=True, wm_position=1, wm_url="https://example.com/w.png"), Task(id="b")
    )
    log.record_submission(req(), Task(id="c"))
    a, b, c = (log.get(t) for t in "abc")
    assert (a["watermark"], a["wm_position"], a["wm_url"]) == (True, 3, None)  # default corner
    assert json.loads(a["meta_data"]) == {"label": "ai"}
    assert (b["wm_position"], b["wm_url"]) == (1, "https://example.com/w.png")
    assert (c["watermark"], c["wm_position"], c["meta_data"]) == (False, None, None)
    df = log.df
    assert str(df["watermark"].dtype) == "boolean" and str(df["wm_position"].dtype) == "Int64"
    assert isinstance(df["wm_url"].dtype, pd.StringDtype)
    assert isinstance(df["meta_data"].dtype, pd.StringDtype)
    assert list(df["wm_position"]) == [3, 1, pd.NA]
    back = read_export(log.to_csv(tmp_path / "x.csv"))
    assert list(back["watermark"]) == [True, True, False]
    assert back.loc[1, "meta_data"] == a["meta_data"]


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=3) as s:
        yield s


def test_a_queued_watermarked_request_is_sent_as_asked_after_a_restart(sim, tmp_path):
    path = tmp_path / "log.sqlite"
    asked = req(watermark=True, wm_position=2, meta_data='{"k": [1, 2]}')
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        poller = Poller(client, log, cache=False)  # never started: the request stays queued
        handle = poller.submit(asked)
        poller.stop()
    with ViduClient.for_simulator(sim) as client, TaskLog(path) as log:
        poller = Poller.resume(client, log, cache=False)
        try:
            assert poller.wait_all(30)
        finally:
            poller.stop()
        row = log.get_by_ref(handle)
    (task,) = sim.engine.tasks()
    sent = task.fields
    assert (sent["watermark"], sent["wm_position"], sent["meta_data"]) == (True, 2, '{"k": [1, 2]}')
    assert row["state"] == "success" and (row["watermark"], row["wm_position"]) == (True, 2)
