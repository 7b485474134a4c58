"""Comparison grids against the simulator: tasks the service never answered, missing
combinations, and row or column names no task has."""

from __future__ import annotations

import pytest

from vidu_nb import Img2VideoRequest
from vidu_nb.request.sweep import sweep
from vidu_nb.ui import compare, run_sweep


def test_an_unanswered_submission_sits_under_the_seed_it_asked_for(live, png_bytes):
    sim, client, log, poller = live
    sim.faults.add("server_error", count=1, method="POST")  # the first submit stays uncertain
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    run = run_sweep(sweep(base, seeds=[1, 2]), poller=poller, experiment="s", grid=False)
    run.wait(30)
    df = log.to_frame(experiment="s")
    assert sorted(df["state"]) == ["success", "uncertain"]
    grid = compare(df, cols="seed", log=log)
    assert grid.col_titles == ["seed=1", "seed=2"]  # not a third column "seed: default"
    assert sorted(item["state"] for item in grid.items) == ["success", "uncertain"]
    assert run.compare().row_titles == ["seed=1", "seed=2"]


def test_a_missing_combination_is_an_empty_cell_without_a_task_line(live, png_bytes):
    _sim, client, log, poller = live
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    poller.submit_many([base.replace(prompt="a", seed=1), base.replace(prompt="b", seed=2)])
    assert poller.wait_all(30)
    grid = compare(log.to_frame(), rows="prompt", cols="seed", log=log)
    assert [item["state"] for item in grid.items] == ["success", "empty", "empty", "success"]
    assert [bool(item["meta"]) for item in grid.items] == [True, False, False, True]


def test_a_misspelled_row_or_column_name_is_an_error_naming_the_argument(live, png_bytes):
    _sim, client, log, poller = live
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    run = run_sweep(sweep(base, seeds=[1, 2]), poller=poller, experiment="typo", grid=False)
    run.wait(30)
    df = log.to_frame(experiment="typo")
    from vidu_nb.errors import ValidationError

    with pytest.raises(ValidationError, match=r"cols='sed'.*not a field"):
        compare(df, cols="sed", log=log)
    with pytest.raises(ValidationError, match=r"rows='Seed'"):
        compare(df, rows="Seed", log=log)
    assert compare(df, rows="experiment", cols="seed", log=log).col_titles == ["seed=1", "seed=2"]
    tasks = [client.get(t) for t in df["task_id"]]  # service answers: any label field is known
    assert len(compare(tasks, rows="audio").items) == 2
