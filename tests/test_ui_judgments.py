"""Judgments in the views: ``compare(..., where=...)`` filters the tasks before the layout, and
labels and cards show the stars and the pick."""

from __future__ import annotations

import pytest

from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.ui.card import card_html
from vidu_nb.ui.compare import compare
from vidu_nb.ui.rows import TaskView, judgment_text, labels


@pytest.fixture
def judged(log, png_bytes):
    """Four succeeded tasks, prompts cat/dog x seeds 1/2, rated 5 pick, 4, 2 reject, none."""
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    for i, (prompt, seed) in enumerate([("cat", 1), ("cat", 2), ("dog", 1), ("dog", 2)]):
        log.record_submission(request.replace(prompt=prompt, seed=seed), Task(id=f"t{i}"))
        log.update(Task(id=f"t{i}", state="success", seed=seed))
    log.rate("t0", stars=5, pick=True)
    log.rate("t1", stars=4)
    log.rate("t2", stars=2, pick=False)
    return log


def ids(grid) -> list[str]:
    return [item["key"].split(":", 1)[1] for item in grid.items if item["state"] != "empty"]


def test_where_keeps_the_matching_tasks_before_the_layout(judged):
    log = judged
    df = log.df
    assert ids(compare(df, where="rating >= 4", log=log)) == ["t0", "t1"]
    grid = compare(df, rows="prompt", cols="seed", where="rating >= 4", log=log)
    assert grid.row_titles == ["\u201ccat\u201d"] and grid.col_titles == ["seed=1", "seed=2"]
    assert ids(compare(df, where="pick == False", log=log)) == ["t2"]
    # Not a DataFrame: task ids looked up in the log, filtered on their rows.
    assert ids(compare(["t3", "t2", "t1"], where="rating < 4 or rating != rating", log=log)) == [
        "t3",
        "t2",
    ]
    empty = compare(df, where="rating > 5", log=log)
    assert empty.items == [] and "where= rating > 5" in empty.note


@pytest.mark.parametrize("where", ["rating >>= 4", "ratng >= 4", "", 4, "rating"])
def test_a_bad_where_is_named(judged, where):
    with pytest.raises(ValidationError) as err:
        compare(judged.df, where=where, log=judged)
    assert err.value.field == "where"
    with pytest.raises(ValidationError) as err:
        compare(["t0", "t1"], where=where, log=judged)
    assert err.value.field == "where"


def test_labels_and_cards_show_stars_and_pick(judged):
    views = [TaskView.of(row) for _i, row in judged.df.iterrows()]
    assert [judgment_text(v) for v in views] == ["5/5 picked", "4/5", "2/5 rejected", ""]
    _keys, text = labels(views)
    assert text[0].endswith("\u00b7 5/5 picked") and text[3] == "\u201cdog\u201d \u00b7 seed=2"
    grid = compare(judged.df, rows="prompt", cols="seed", log=judged)
    assert [item["label"] for item in grid.items] == [
        "5/5 picked",
        "4/5",
        "2/5 rejected",
        "",
    ]
    details = card_html(views[0], now=0)["details"]
    assert "5/5 picked" in details
    assert judgment_text(TaskView({"rating": None, "pick": None})) == ""
