"""Judging in the task log: stars, pick/reject and a note per task (columns of ``log.df``, kept
across restarts and processes, seen by the cached frame), duel votes and their rankings."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import stores
from sql_trace import transactions

from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.rankings import fit
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.tracking.tasklog.judgments import NOTE_CHARS, Judgment

pytestmark = pytest.mark.stores


@pytest.fixture
def request_(png_bytes):
    return Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2, prompt="a cat")


def fill(log: TaskLog, request_: Img2VideoRequest, n: int = 4) -> None:
    for i in range(n):
        prompt = ("cat", "dog")[i % 2]
        log.record_submission(request_.replace(prompt=prompt, seed=i), Task(id=f"t{i}"))
        log.update(Task(id=f"t{i}", state="success", seed=i))


def test_rate_sets_only_what_is_given_and_clear_unsets(log, request_):
    fill(log, request_)
    assert log.rate("t0", stars=4) == Judgment(1, "t0", 4, None, None)
    assert log.rate("t0", pick=True, note="  sharp, good motion ") == Judgment(
        1, "t0", 4, True, "sharp, good motion"
    )
    assert log.rate("t0") == Judgment(1, "t0", 4, True, "sharp, good motion")  # no change
    assert log.rate("t0", pick=False).pick is False  # rejected
    assert log.rate("t0", clear="pick") == Judgment(1, "t0", 4, None, "sharp, good motion")
    assert log.rate("t0", stars=0, note="") == Judgment(1, "t0", None, None, None)
    log.rate(2, stars=5, pick=True, note="x")  # a row id, as log.df's index
    assert log.rate("t1", clear=True) == Judgment(2, "t1", None, None, None)
    log.rate("t2", stars=2, note="meh")
    with stores.statements(log) as seen:
        assert log.rate("t2", clear=["stars", "note"]) == Judgment(3, "t2", None, None, None)
        log.rate("t2")  # nothing to change: nothing written
    assert [len(t) for t in transactions(seen)] == [1]  # one UPDATE in one transaction


def test_ratings_are_typed_columns_of_the_frame_and_filter_it(log, request_):
    fill(log, request_)
    log.rate("t0", stars=5, pick=True)
    log.rate("t1", stars=3, pick=False, note="blurry")
    df = log.df
    assert str(df["rating"].dtype) == "Int64" and str(df["pick"].dtype) == "boolean"
    assert isinstance(df["note"].dtype, pd.StringDtype)
    assert df["rating"].tolist()[:2] == [5, 3] and df["rating"].isna().sum() == 2
    assert df["pick"].tolist()[:2] == [True, False] and df["note"].iloc[1] == "blurry"
    assert list(df.query("rating >= 4")["task_id"]) == ["t0"]
    assert list(df[df["pick"] == False]["task_id"]) == ["t1"]  # noqa: E712 (a boolean column)
    assert log.get("t0")["pick"] is True and log.get("t1")["rating"] == 3


def test_every_argument_is_checked_before_anything_is_written(log, request_):
    fill(log, request_, 1)
    bad = [
        (dict(stars=6), "stars"), (dict(stars=-1), "stars"), (dict(stars=3.5), "stars"),
        (dict(stars=True), "stars"), (dict(stars="4"), "stars"), (dict(pick=1), "pick"),
        (dict(pick="yes"), "pick"), (dict(note=5), "note"),
        (dict(note="x" * (NOTE_CHARS + 1)), "note"), (dict(clear="rating"), "clear"),
        (dict(clear=5), "clear"), (dict(stars=4, clear="stars"), "clear"),
    ]  # fmt: skip
    for kwargs, field in bad:
        with pytest.raises(ValidationError) as err:
            log.rate("t0", **kwargs)
        assert err.value.field == field, kwargs
    for task in ("nope", 99, None, True, 2.5, {"prompt": "x"}, ""):
        with pytest.raises(ValidationError) as err:
            log.rate(task, stars=3)
        assert err.value.field == "task"
    assert log.judgment("t0") == Judgment(1, "t0", None, None, None)
    assert log.rate("t0", stars=np.int64(2), pick=np.bool_(True)).rating == 2


def test_rate_takes_rows_tasks_and_submission_handles(log, request_):
    fill(log, request_, 2)
    df = log.df
    log.rate(df.loc[1], stars=1)  # a DataFrame row
    log.rate(log.get("t1"), stars=2)  # a log row
    log.rate(Task(id="t1"), pick=True)
    log.record_queued(request_, "vidu-nb:handle-1", owner="me")
    log.rate("vidu-nb:handle-1", stars=5)  # a queued request has no task id yet
    assert log.df["rating"].tolist() == [1, 2, 5]


def test_ratings_survive_a_restart_and_the_cached_frame_sees_them(log_at, request_):
    path = log_at("log.sqlite")
    with TaskLog(path) as log:
        fill(log, request_)
        first = log.df  # cached from here on
        assert first["rating"].isna().all()
        log.rate("t3", stars=4, pick=True, note="keeper")
        with stores.statements(log) as seen:
            again = log.df
        assert seen and "SELECT * FROM tasks ORDER BY row_id" not in seen  # patched, not re-read
        assert again.loc[4, ["rating", "pick", "note"]].tolist() == [4, True, "keeper"]
        pd.testing.assert_frame_equal(again, log.to_frame(state="success"))  # == fresh read
        assert pd.isna(first.loc[4, "rating"])  # a frame handed out earlier stays as it was
    with TaskLog(path) as reopened:
        assert reopened.judgment("t3") == Judgment(4, "t3", 4, True, "keeper")


RATER = textwrap.dedent(
    """
    import sys
    from vidu_nb.tracking.tasklog import TaskLog

    path, task, field, value = sys.argv[1:5]
    with TaskLog(path) as log:
        kwargs = {"stars": int(value)} if field == "stars" else {field: value}
        if field == "pick":
            kwargs = {"pick": value == "True"}
        for i in range(int(sys.argv[5])):
            log.rate(task, **kwargs)
    """
)


def rater(path, task, field, value, times=1):
    return subprocess.Popen(
        [sys.executable, "-c", RATER, str(path), task, field, str(value), str(times)],
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_rating_lose_nothing_and_the_cached_frame_sees_their_writes(log_at, request_):
    path = log_at("shared.sqlite")
    with TaskLog(path) as log:
        fill(log, request_)
        assert log.df["rating"].isna().all()  # this kernel's frame is cached now
        # Different tasks, and different fields of the same task, at the same time.
        procs = [
            rater(path, "t0", "stars", 5, 30),
            rater(path, "t1", "stars", 2, 30),
            rater(path, "t2", "stars", 3, 30),
            rater(path, "t2", "pick", False, 30),
            rater(path, "t2", "note", "from kernel B", 30),
        ]
        for p in procs:
            assert p.wait(60) == 0, p.stderr.read() if p.stderr else ""
        df = log.df
        assert df["rating"].tolist()[:3] == [5, 2, 3] and pd.isna(df.loc[4, "rating"])
        assert df.loc[3, ["rating", "pick", "note"]].tolist() == [3, False, "from kernel B"]
        # The same field of the same task: the last write wins.
        for value in (1, 4):
            assert rater(path, "t3", "stars", value).wait(60) == 0
        assert log.df.loc[4, "rating"] == 4 and log.judgment("t3").rating == 4
        pd.testing.assert_frame_equal(log.df, log.to_frame(state="success"))
        assert log.integrity_check() == "ok"


def test_votes_are_recorded_listed_and_withdrawn(log, request_):
    fill(log, request_)
    first = log.vote("t0", "t1", winner="t0", note="smoother")
    log.vote(log.get("t2"), 4, winner=None, voter="ana")  # a tie
    log.vote(3, "t0", winner=3)
    votes = log.votes()
    assert list(votes.index) == list(votes["vote_id"]) == [1, 2, 3] and first == 1
    assert votes["left_task_id"].tolist() == ["t0", "t2", "t2"]
    assert votes["right_task_id"].tolist() == ["t1", "t3", "t0"]
    assert votes["winner_task_id"].tolist()[0] == "t0" and pd.isna(votes["winner_task_id"][2])
    assert votes["tie"].tolist() == [False, True, False]
    assert votes.loc[2, "voter"] == "ana" and votes.loc[1, "note"] == "smoother"
    assert str(votes["at"].dtype) == "datetime64[ns, UTC]"
    assert log.unvote(2) and not log.unvote(2)
    assert log.votes()["vote_id"].tolist() == [1, 3]


def test_a_bad_vote_is_named_and_not_recorded(log, request_):
    fill(log, request_)
    for args, kwargs, field in [
        (("t0", "t0"), {"winner": None}, "b"),
        (("t0", "t1"), {"winner": "t2"}, "winner"),
        (("nope", "t1"), {}, "a"),
        (("t0", None), {}, "b"),
        (("t0", "t1"), {"note": "x" * (NOTE_CHARS + 1)}, "note"),
        (("t0", "t1"), {"voter": 5}, "voter"),
    ]:
        with pytest.raises(ValidationError) as err:
            log.vote(*args, **kwargs)
        assert err.value.field == field
    with pytest.raises(ValidationError) as err:
        log.unvote("1")
    assert err.value.field == "vote_id"
    assert len(log.votes()) == 0


def test_rankings_by_a_column_fit_the_votes_between_groups(log, request_):
    fill(log, request_)  # t0, t2: cat; t1, t3: dog
    for a, b, winner in [("t0", "t1", "t0"), ("t1", "t2", "t2"), ("t3", "t0", None),
                         ("t2", "t3", "t3"), ("t0", "t2", "t0"), ("t1", "t0", "t0")]:  # fmt: skip
        log.vote(a, b, winner=winner)
    by_prompt = log.rankings(by=["prompt"])
    assert by_prompt["prompt"].tolist() == ["cat", "dog"]
    assert by_prompt[["wins", "losses", "ties", "n"]].values.tolist() == [
        [3, 1, 1, 5],
        [1, 3, 1, 5],
    ]
    w = np.array([[0, 3.5], [1.5, 0]])  # cat beat dog 3 times + half a tie; dog 1 + half
    assert by_prompt["score"].tolist() == pytest.approx(fit(w, prior=1.0).scores.tolist())
    assert by_prompt.attrs["same_group"] == 1  # t0 vs t2: cat against cat
    per_task = log.rankings()
    assert per_task.columns[:2].tolist() == ["row_id", "task_id"] and per_task["n"].sum() == 12
    assert per_task["task_id"].iloc[0] == "t0"  # 3 wins and a tie
    assert log.rankings(by="state").empty  # every task succeeded: no duel between groups
    with pytest.raises(ValidationError) as err:
        log.rankings(by=["promt"])
    assert err.value.field == "by" and "promt" in str(err.value)
    with pytest.raises(ValidationError) as err:
        log.rankings(by="prompt", prior=-1)
    assert err.value.field == "prior"


def test_a_schema_3_log_gains_empty_judging_columns_and_the_votes_table(tmp_path):
    import sqlite3

    from vidu_nb.tracking.tasklog import read_export
    from vidu_nb.tracking.tasklog import schema as tasklog_schema

    path = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(path)
    for step in tasklog_schema.MIGRATIONS[:3]:
        step(conn)
    conn.execute("INSERT INTO tasks (task_id, state, tags) VALUES ('old', 'success', 'x')")
    conn.execute("INSERT INTO tasks (task_id, state) VALUES ('old2', 'success')")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    with TaskLog(path) as log:
        assert log.judgment("old") == Judgment(1, "old", None, None, None)
        assert log.get("old")["parent_row_id"] is None and len(log.votes()) == 0
        log.rate("old", stars=3, pick=False, note="kept")
        log.vote("old", "old2", winner="old2")
        df = log.df
        assert df.loc[1, ["rating", "pick", "note"]].tolist() == [3, False, "kept"]
        assert log.rankings()["task_id"].tolist() == ["old2", "old"]
        for name in ("x.csv", "x.parquet"):  # exports keep the kinds
            back = read_export(log.to_csv(tmp_path / name) if name.endswith("csv") else
                               log.to_parquet(tmp_path / name))  # fmt: skip
            pd.testing.assert_frame_equal(
                back[["rating", "pick", "note", "parent_row_id"]],
                df[["rating", "pick", "note", "parent_row_id"]],
            )


class Viewer:
    """A view of tasks that watches the log's ratings (as a grid does)."""

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[Judgment] = []
        self.fail = fail

    def rated(self, judged: Judgment) -> None:
        self.seen.append(judged)
        if self.fail:
            raise RuntimeError("this view is gone")


def test_watchers_hear_each_committed_rating_and_are_held_weakly(log, request_):
    fill(log, request_, n=2)
    viewer, broken = Viewer(), Viewer(fail=True)
    log.judgments.watch(broken.rated)  # first: its failure stops neither the write nor the others
    log.judgments.watch(viewer.rated)
    log.judgments.watch(viewer.rated)  # once is enough
    log.rate("t0", stars=4)
    log.rate("t0")  # nothing written: nothing announced
    with pytest.raises(ValidationError):
        log.rate("t1", stars=9)  # refused: nothing announced
    assert viewer.seen == [Judgment(1, "t0", 4, None, None)] and log.judgment("t0").rating == 4
    log.judgments.unwatch(viewer.rated)
    log.rate("t1", pick=True)
    assert len(viewer.seen) == 1 and len(broken.seen) == 2
    calls = broken.seen
    del broken  # gone: no longer called, no unwatch needed
    gc.collect()
    log.rate("t1", pick=False)
    assert len(calls) == 2
    with pytest.raises(ValidationError, match="bound method"):
        log.judgments.watch(lambda judged: None)
