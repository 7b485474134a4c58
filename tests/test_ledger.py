"""Ledger figures against hand-computed values, on a real log file."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import stores

from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.ledger import Ledger, estimate, ledger_for, rate_estimate, settings_key
from vidu_nb.tracking.tasklog import TaskLog

pytestmark = pytest.mark.stores


def add(log, image, tid, state, credits, *, experiment="e", **fields):
    req = Img2VideoRequest(image=image, **fields)
    log.record_submission(req, Task(id=tid, credits=credits), experiment=experiment)
    if state != "created":
        log.update(Task(id=tid, state=state, credits=0 if state == "failed" else credits))


def test_published_unverified_and_placeholder_rates(png_bytes):
    # viduq3-pro 720p: 30/s published -> 5 s = 150; off-peak halves it; is_rec adds 10.
    e = estimate(Img2VideoRequest(image=png_bytes, duration=5))
    assert (e.credits, e.source) == (150, "published rate")
    e = estimate({"model": "viduq3-pro", "duration": 4, "resolution": "1080p", "off_peak": True})
    assert e.credits == 4 * 16
    # q2/q1 figures were published before credits were re-denominated x10: scaled, unverified.
    e = estimate({"model": "viduq2-pro", "duration": 3, "is_rec": True})
    assert (e.credits, e.source) == (3 * 2 * 10 + 10, "unverified rate")
    assert estimate({"model": "viduq1"}).credits == 80  # 5 s at 1080p: 8 old credits, x10
    e = estimate({"model": "viduq3-turbo", "duration": 2, "resolution": "540p"})
    assert (e.credits, e.source) == (14, "placeholder rate") and "guess" in e.detail
    assert str(e) == "~14 credits (placeholder rate)"


def test_settings_key_fills_model_defaults(png_bytes):
    assert settings_key({"model": "vidu2.0"}) == ("vidu2.0", "360p", 4, False, False)
    assert settings_key(Img2VideoRequest(image=png_bytes, model="vidu2.0", duration=8)) == (
        "vidu2.0",
        "720p",
        8,
        False,
        False,
    )
    with pytest.raises(ValidationError, match="request"):
        settings_key(42)


def test_estimate_learns_from_charged_tasks(log, png_bytes):
    settings = {"model": "viduq2-pro", "duration": 5, "resolution": "720p"}
    assert estimate(settings, log).source == "unverified rate"
    add(log, png_bytes, "a", "success", 11, model="viduq2-pro", duration=5, resolution="720p")
    add(log, png_bytes, "b", "success", 13, model="viduq2-pro", duration=5, resolution="720p")
    add(log, png_bytes, "c", "success", 12, model="viduq2-pro", duration=5, resolution="720p")
    # Failed, unfinished and other-settings tasks teach nothing.
    add(log, png_bytes, "d", "failed", 99, model="viduq2-pro", duration=5, resolution="720p")
    add(log, png_bytes, "e", "created", 99, model="viduq2-pro", duration=5, resolution="720p")
    add(log, png_bytes, "f", "success", 99, model="viduq2-pro", duration=5, off_peak=True)
    e = estimate(settings, log)
    assert (e.credits, e.source) == (12, "learned from 3 tasks") and e.learned
    assert "unverified rate gives 100" in e.detail  # learned (12) wins over the table
    # The cached table follows new charges (and writes from another connection).
    with TaskLog(stores.target(log)) as other:
        req = Img2VideoRequest(image=png_bytes, model="viduq2-pro", duration=5)
        other.record_submission(req, Task(id="g", credits=14))
        other.update(Task(id="g", state="success", credits=14))
    e = estimate(settings, log)
    assert (e.credits, e.source) == (13, "learned from 4 tasks")  # median 12.5, rounded up
    assert ledger_for(log) is ledger_for(log)


def test_per_task_totals_and_per_second(log, png_bytes):
    add(log, png_bytes, "a", "success", 150, experiment="x", duration=5)  # q3-pro 720p
    add(log, png_bytes, "b", "success", 64, experiment="x", duration=4, resolution="1080p",
        off_peak=True)  # fmt: skip
    add(log, png_bytes, "c", "failed", 60, experiment="y", duration=2)
    add(log, png_bytes, "d", "processing", 20, experiment="y", model="viduq2-pro", duration=10)
    led = Ledger(log)
    per = led.per_task().set_index("task_id")
    assert per.loc["a", "credits"] == 150 and per.loc["a", "credits_per_s"] == 30
    assert per.loc["c", "credits"] == 0  # refunded
    assert per.loc["d", "pending_credits"] == 20 and pd.isna(per.loc["d", "credits"])
    assert led.total() == 150 + 64
    assert led.credits_per_second() == pytest.approx((150 + 64) / 9)
    by_exp = led.totals("experiment")
    assert by_exp.loc["x", "credits"] == 214 and by_exp.loc["x", "video_s"] == 9
    assert by_exp.loc["y", "credits"] == 0 and by_exp.loc["y", "pending_credits"] == 20
    assert (by_exp.loc["y", "failed"], by_exp.loc["y", "tasks"]) == (1, 2)
    by_model = led.totals("model")
    assert list(by_model.index) == ["viduq2-pro", "viduq3-pro"]
    assert by_model.loc["viduq3-pro", "credits_per_s"] == pytest.approx(214 / 9)
    two = led.totals(["resolution", "off_peak"])
    assert two.loc[("1080p", True), "credits"] == 64
    day = led.totals("day")
    assert len(day) == 1 and int(day["credits"].iloc[0]) == 214
    assert int(led.totals("duration").loc[5, "credits"]) == 150
    assert led.total(experiment="y") == 0
    with pytest.raises(ValidationError, match="by"):
        led.totals("colour")


def test_empty_log(log):
    led = Ledger(log)
    assert led.total() == 0 and math.isnan(led.credits_per_second())
    assert led.totals("model").empty


def test_rate_estimate_matches_published_table():
    assert rate_estimate(("viduq3-pro", "540p", 16, False, False)).credits == 14 * 16
    assert rate_estimate(("viduq2-turbo", "1080p", 10, False, False)).credits == 200
