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


def test_a_sweeps_grid_follows_the_plans_order_not_the_alphabet(live, png_bytes):
    _sim, client, log, poller = live
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    prompts = ["zebra at dusk", "apple falls", "moon rises"]
    plan = sweep(base, prompts=prompts, seeds=[3, 1])
    run = run_sweep(plan, poller=poller, experiment="order", grid=False)
    run.wait(60)
    for grid in (run.compare(), compare(log.to_frame(experiment="order"), "prompt", "seed")):
        assert [t.strip("\u201c\u201d") for t in grid.row_titles] == prompts
        assert grid.col_titles == ["seed=3", "seed=1"]
    assert run.compare(order="sorted").col_titles == ["seed=1", "seed=3"]


ROWS = [
    {"task_id": f"t{i}", "state": "success", "prompt": p, "seed": s}
    for i, (p, s) in enumerate([("b", 3), ("b", 1), ("a", 3), ("c", 1), ("a", 1), ("c", 3)])
]


def test_grid_order_options():
    def titles(**kw):
        grid = compare(ROWS, rows="prompt", cols="seed", **kw)
        return "".join(t.strip("\u201c\u201d") for t in grid.row_titles), grid.col_titles

    assert titles() == ("bac", ["seed=3", "seed=1"])  # as the tasks come
    assert titles(order="sorted") == ("abc", ["seed=1", "seed=3"])
    # Listed values first, in that order; the others after; a value no task has is left out.
    assert titles(row_order=["c", "zzz"], col_order=[1]) == ("cba", ["seed=1", "seed=3"])
    assert titles(order="sorted", row_order=["c"])[0] == "cab"


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"order": "alphabetical"}, "order"),
        ({"row_order": "cab"}, "row_order"),
        ({"col_order": 3}, "col_order"),
        ({"rows": None, "row_order": ["a"]}, "row_order"),
    ],
)
def test_a_bad_order_is_an_error_naming_the_argument(kwargs, named):
    from vidu_nb.errors import ValidationError

    kw = {"rows": "prompt", "cols": "seed", **kwargs}
    with pytest.raises(ValidationError, match=rf"^{named}="):
        compare(ROWS, **kw)
