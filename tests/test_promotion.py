"""Promoting a winner: the same start image and the seed the service used, at another
resolution or length; the re-run records the task it came from (``parent_row_id``)."""

from __future__ import annotations

import os

import pytest
from waiting import until

from vidu_nb import Img2VideoRequest, promote
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.sweep import sweep
from vidu_nb.ui import run_sweep


@pytest.fixture
def draft(png_bytes):
    return Img2VideoRequest(
        image=png_bytes, model="viduq2-turbo", duration=2, resolution="540p", prompt="a cat"
    )


def finished(poller, log, handle: str) -> dict:
    assert poller.wait_all(30)
    row = log.get_by_ref(handle)
    assert row is not None and row["state"] == "success", row
    return row


def test_the_promoted_request_keeps_the_image_and_the_seed_the_service_chose(live, draft):
    _sim, _client, log, poller = live
    row = finished(poller, log, poller.submit(draft))  # no seed asked: the service picks one
    assert row["seed_requested"] is None and row["seed"] is not None
    request = promote(row["task_id"], log, resolution="1080p", duration=4)
    assert request.seed == row["seed"] and request.prompt == "a cat"
    assert request.start_image.sha256 == draft.start_image.sha256
    assert (request.model, request.resolution, request.duration) == ("viduq2-turbo", "1080p", 4)
    assert request.callback_url is None
    again = promote(row["row_id"], log, prompt="a cat, slow motion")  # any field, by row id
    assert again.prompt == "a cat, slow motion" and again.resolution == "540p"


def test_submitting_it_records_the_lineage(live, draft):
    _sim, _client, log, poller = live
    parent = finished(poller, log, poller.submit(draft.replace(seed=7)))
    request = promote(parent["task_id"], log, resolution="720p")
    child = finished(poller, log, poller.submit(request, parent=parent["task_id"]))
    assert child["parent_row_id"] == parent["row_id"] and child["seed"] == 7
    df = log.df
    assert str(df["parent_row_id"].dtype) == "Int64"
    assert df.loc[child["row_id"], "parent_row_id"] == parent["row_id"]
    assert df["parent_row_id"].isna().sum() == 1
    queued = len(log)
    with pytest.raises(ValidationError) as err:
        poller.submit(request, parent="no-such-task")
    assert err.value.field == "parent" and len(log) == queued and poller.queued == 0


def test_record_submission_takes_the_parent_too(log, draft):
    log.record_submission(draft, Task(id="p", state="success", seed=3))
    row_id = log.record_submission(promote("p", log, resolution="720p"), Task(id="c"), parent="p")
    assert log.get("c")["parent_row_id"] == 1 and row_id == 2
    with pytest.raises(ValidationError) as err:
        log.record_submission(draft, Task(id="d"), parent=99)
    assert err.value.field == "parent" and log.get("d") is None


def test_without_a_kept_image_the_image_must_be_given(log, draft, png_bytes):
    log.update(Task(id="tracked", state="success", seed=5))  # known by id only
    with pytest.raises(ValidationError) as err:
        promote("tracked", log)
    assert err.value.field == "image" and "only its fingerprint" in str(err.value)
    assert promote("tracked", log, image=png_bytes).seed == 5
    log.record_submission(draft, Task(id="kept", state="success", seed=1))
    os.remove(log.get("kept")["image_path"])
    with pytest.raises(ValidationError) as err:
        promote("kept", log)
    assert err.value.field == "image" and "is gone" in str(err.value)


def test_bad_changes_are_named(log, draft):
    log.record_submission(draft, Task(id="t", state="success", seed=1))
    for kwargs, field in [
        ({"colour": "red"}, "colour"),
        ({"resolution": "4k"}, "resolution"),
        ({"model": "viduq2-pro-fast"}, "resolution"),  # 540p carried over: not on that model
        ({"duration": 99}, "duration"),
    ]:
        with pytest.raises(ValidationError) as err:
            promote("t", log, **kwargs)
        assert err.value.field == field, kwargs
    with pytest.raises(ValidationError) as err:
        promote("missing", log)
    assert err.value.field == "task"
    with pytest.raises(ValidationError) as err:
        promote("t", "vidu_tasks.sqlite")
    assert err.value.field == "log"
    assert promote("t", log, model="viduq2-pro-fast", resolution="720p").seed == 1


def test_a_sweep_run_shows_the_estimate_first_and_submits_on_confirm(live, draft):
    _sim, _client, log, poller = live
    run = run_sweep(sweep(draft, seeds=[1, 2]), poller=poller, grid=False)
    run.wait(30)
    best = run.task_ids[1]
    offer = run.promote(best, resolution="1080p")
    assert not offer.submitted and offer.handle is None and len(log) == 2  # nothing sent
    assert offer.credits > 0 and offer.parent_row_id == log.get(best)["row_id"]
    assert "confirm=True" in str(offer) and f"{offer.credits:,} credits" in str(offer)
    assert offer.request.resolution == "1080p" and offer.request.seed == 2
    done = run.promote(best, resolution="1080p", confirm=True)
    assert done.submitted and "submitted" in str(done)
    child = finished(poller, log, done.handle)
    assert child["parent_row_id"] == offer.parent_row_id and child["resolution"] == "1080p"
    assert child["experiment"] == run.experiment and child["tags"] == ["promoted"]
    assert until(lambda: run.done)  # the sweep's own tasks are unchanged
    with pytest.raises(ValidationError) as err:
        run.promote(best, confirm="yes")
    assert err.value.field == "confirm"
