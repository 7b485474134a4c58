"""Credit tables and charts grouped by columns some tasks lack: tasks recorded without an
experiment, tasks tracked by id only (no model, resolution or duration). They form one group
labelled ``(none)``; nothing crashes, whichever grouping is asked for."""

from __future__ import annotations

import warnings

import pytest

from vidu_nb import Img2VideoRequest
from vidu_nb.client.task import Task
from vidu_nb.tracking.ledger import GROUPS
from vidu_nb.ui import credits_figure, credits_table, credits_view

GROUPINGS = [*GROUPS, ["experiment", "model"], ["model", "resolution", "duration"]]
GROUPINGS += [["day", "experiment"], ["experiment", "state", "off_peak"]]


def credits_of(log, **where) -> int:
    df = log.to_frame()
    for key, value in where.items():
        df = df[df[key].isna()] if value is None else df[df[key] == value]
    return int(df["credits"].sum())


@pytest.fixture
def mixed(live, png_bytes):
    """Two tasks without an experiment, one in "e1", one tracked by id only."""
    sim, client, log, poller = live
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    poller.submit_many([request, request.replace(duration=1)])
    poller.submit(request, experiment="e1")
    assert poller.wait_all(30)
    log.update(Task(id="tracked-1", state="success", credits=7))  # no settings known
    return log


def test_tables_and_charts_take_tasks_without_an_experiment(mixed):
    log = mixed
    assert log.to_frame()["experiment"].isna().sum() == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for by in GROUPINGS:
            html = credits_table(log, by).to_html()
            keys = [by] if isinstance(by, str) else by
            lacking = {"experiment", "model", "resolution", "duration", "off_peak", "user"} & set(
                keys
            )
            assert ("(none)" in html) == bool(lacking), by
            assert "vidu-credits" in credits_view(log, by=by)._dom_classes
    data = credits_table(log, "experiment").data
    assert list(data.index) == ["e1", "(none)"]
    assert data.loc["(none)", "credits"] == credits_of(log, experiment=None)
    assert data.loc["(none)", "tasks"] == 3
    both = credits_table(log, ["experiment", "model"]).data
    assert both.loc[("(none)", "viduq2-turbo"), "tasks"] == 2
    assert both.loc[("(none)", "(none)"), "credits"] == 7  # the task tracked by id
    fig = credits_figure(log)
    by_model = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert by_model == ["viduq2-turbo", "(none)"]


def test_a_log_where_no_task_has_an_experiment(live, png_bytes):
    _sim, _client, log, poller = live
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    poller.submit_many([request, request.replace(model="viduq2-pro")])
    assert poller.wait_all(30)
    assert log.to_frame()["experiment"].isna().all()
    for by in ("experiment", ["experiment", "model"], ["day", "experiment"]):
        assert "vidu-credits" in credits_view(log, by=by)._dom_classes
    data = credits_table(log, ["experiment", "model"]).data
    assert list(data.index) == [("(none)", "viduq2-pro"), ("(none)", "viduq2-turbo")]
    assert int(data["credits"].sum()) == credits_of(log)


def test_an_experiment_named_none_stays_its_own_group(live, png_bytes):
    _sim, _client, log, poller = live
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    poller.submit(request, experiment="(none)")
    poller.submit(request)
    assert poller.wait_all(30)
    data = credits_table(log, ["experiment", "model"]).data
    assert list(data.index.get_level_values(0)) == ["(none)", "(none)*"]
    assert list(data["tasks"]) == [1, 1]
