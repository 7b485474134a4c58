"""The ledger's figures against values computed by hand, with
failed, cancelled, unfinished, uncertain and never-sent tasks, off-peak and recommended prompts.
A real task log (SQLite); the tasks are what a service would report."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import make_image

from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.ledger import Ledger

pytestmark = pytest.mark.stores

IMAGE = make_image(160, 120)


def req(**kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=None if kw.get("is_rec") else "p", **kw)


def test_totals_match_hand_computed_values(log):
    rows = [  # (task id, request, final state, credits reported, experiment)
        ("a", req(duration=4, resolution="1080p"), "success", 128, "x"),
        ("b", req(duration=4, resolution="1080p", off_peak=True), "success", 64, "x"),
        ("c", req(duration=2, resolution="720p", is_rec=True), "success", 70, "y"),
        ("d", req(duration=5), "failed", 150, "y"),  # refunded although reported
        ("e", req(duration=5, off_peak=True), "cancelled", 75, "x"),  # refunded
        ("f", req(duration=3), "processing", 90, "x"),  # quoted, not final
    ]
    for tid, request, state, credits, experiment in rows:
        log.record_submission(request, Task(id=tid, credits=credits), experiment=experiment)
        if state == "cancelled":
            log.set_state(tid, "cancelled")
        else:
            log.update(Task(id=tid, state=state, credits=credits))
    log.record_uncertain(req(duration=1), "lost", "dropped", experiment="x")
    log.record_queued(req(duration=1), "later", owner="nobody", experiment="y")

    ledger = Ledger(log)
    assert ledger.total() == 128 + 64 + 70
    assert math.isclose(ledger.credits_per_second(), (128 + 64 + 70) / (4 + 4 + 2))
    by_exp = ledger.totals("experiment")
    assert by_exp.loc["x", "credits"] == 128 + 64 and by_exp.loc["y", "credits"] == 70
    assert by_exp.loc["x", "tasks"] == 5 and by_exp.loc["y", "tasks"] == 3
    assert by_exp.loc["x", "pending_credits"] == 90 and by_exp.loc["y", "pending_credits"] == 0
    assert by_exp.loc["x", "succeeded"] == 2 and by_exp.loc["y", "failed"] == 1
    assert by_exp.loc["x", "video_s"] == 8 and by_exp.loc["y", "video_s"] == 2
    assert math.isclose(by_exp.loc["x", "credits_per_s"], 192 / 8)
    off = ledger.totals("off_peak")
    assert off.loc[True, "credits"] == 64 and off.loc[False, "credits"] == 128 + 70
    per = ledger.per_task().set_index("task_id")
    assert per.loc["d", "credits"] == 0 and per.loc["e", "credits"] == 0
    assert per.loc["f", "pending_credits"] == 90 and per.loc["a", "credits_per_s"] == 32
    # estimates learn only from what was charged, per settings (off-peak apart)
    assert ledger.estimate(req(duration=4, resolution="1080p")).credits == 128
    assert ledger.estimate(req(duration=4, resolution="1080p", off_peak=True)).credits == 64
    assert not ledger.estimate(req(duration=5)).learned  # the failed one taught nothing


def test_service_spellings_of_final_states_are_counted_as_such(log):
    """The service's own spellings ("canceled", "Success") are final: a canceled task is
    refunded like a cancelled one, and an unknown state ("scheduled") is still pending."""
    rows = [
        ("a", req(duration=4, resolution="1080p"), "Success", 128),
        ("b", req(duration=5, off_peak=True), "canceled", 75),
        ("c", req(duration=3), "scheduled", 90),
    ]
    for tid, request, state, credits in rows:
        log.record_submission(request, Task(id=tid, credits=credits), experiment="x")
        log.update(Task(id=tid, state=state, credits=credits))
    ledger = Ledger(log)
    per = ledger.per_task().set_index("task_id")
    assert per.loc["b", "credits"] == 0 and per.loc["a", "credits"] == 128
    assert per.loc["c", "pending_credits"] == 90 and per.loc["b", "pending_credits"] is pd.NA
    totals = ledger.totals("experiment")
    assert totals.loc["x", "succeeded"] == 1 and totals.loc["x", "credits"] == 128
    assert ledger.credits_per_second() == 32
