"""Judging from a grid and a card: a click or a key in the browser is a message to the kernel,
the grid writes it to the task log (kept on disk: a reopened log holds it) and the cell's
judgment changes in place; promoting a picked cell shows the estimate first, then submits with
its lineage; ``order="ranking"`` lays rows out by the duel rankings."""

from __future__ import annotations

import pytest
from waiting import until

from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.request.sweep import sweep
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import run_sweep
from vidu_nb.ui.card import TaskCard
from vidu_nb.ui.compare import compare

PROMPTS = ("a red fox runs", "a grey fox runs")


@pytest.fixture
def four(log, png_bytes):
    """Four succeeded tasks: two prompts x seeds 1, 2 (t0 t1 red, t2 t3 grey)."""
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    combos = [(p, s) for p in PROMPTS for s in (1, 2)]
    for i, (prompt, seed) in enumerate(combos):
        log.record_submission(request.replace(prompt=prompt, seed=seed), Task(id=f"t{i}"))
        log.update(Task(id=f"t{i}", state="success", seed=seed))
    return log


def key_of(grid, task_id: str) -> str:
    return next(i["key"] for i in grid.items if i["key"].endswith(f":{task_id}"))


def customs(grid, kind: str) -> list[dict]:
    return [content for content, _buffers in grid.comm.sent if content.get("type") == kind]


def test_a_click_in_the_browser_lands_in_the_log_and_the_cell_in_place(frontend, four):
    log = four
    grid = compare(log.df, rows="prompt", cols="seed", log=log)
    items = grid.items
    k0, k3 = key_of(grid, "t0"), key_of(grid, "t3")
    assert set(grid.judgments) == {i["key"] for i in items}  # every cell has a bar
    assert grid.judgments[k0] == {"stars": 0, "pick": None, "note": "", "text": ""}
    grid.comm.from_browser({"type": "judge", "key": k0, "stars": 4})  # a star clicked / "4"
    grid.comm.from_browser({"type": "judge", "key": k0, "pick": True})  # "p"
    grid.comm.from_browser({"type": "judge", "key": k0, "note": "  crisp motion "})
    grid.comm.from_browser({"type": "judge", "key": k3, "pick": False})  # "x"
    assert grid.judgments[k0] == {
        "stars": 4,
        "pick": True,
        "note": "crisp motion",
        "text": "4/5 picked",
    }
    assert grid.judgments[k3]["text"] == "rejected"
    assert grid.items is items  # the players were not rebuilt: no video reloads
    with TaskLog(log.path) as again:  # on disk, as another kernel sees it
        df = again.df.set_index("task_id")
        assert (df.loc["t0", "rating"], df.loc["t0", "pick"]) == (4, True)
        assert df.loc["t0", "note"] == "crisp motion" and df.loc["t3", "pick"] == False  # noqa: E712
    # Undo: "0" clears the stars, "p" again clears the pick, an emptied note box the note.
    for change in ({"stars": 0}, {"pick": None}, {"note": ""}):
        grid.comm.from_browser({"type": "judge", "key": k0, **change})
    assert grid.judgments[k0] == {"stars": 0, "pick": None, "note": "", "text": ""}
    with TaskLog(log.path) as again:
        assert again.judgment("t0")[2:] == (None, None, None)
    assert customs(grid, "judge_error") == []


@pytest.mark.parametrize(
    "message, why",
    [
        ({"stars": 9}, "1 to 5"),
        ({"stars": "4"}, "whole number"),
        ({"pick": "yes"}, "True (pick)"),
        ({"note": "x" * 501}, "at most 500"),
        ({}, "names none"),
    ],
)
def test_a_bad_message_changes_nothing_and_says_why(frontend, four, message, why):
    grid = compare(four.df, log=four)
    key = key_of(grid, "t1")
    before = four.df.copy()
    grid.comm.from_browser({"type": "judge", "key": key, **message})
    (refused,) = customs(grid, "judge_error")
    assert refused["key"] == key and why in refused["error"]
    assert four.df.equals(before)
    grid.comm.from_browser({"type": "judge", "key": "7:not-a-cell", "stars": 3})
    assert "cannot be judged" in customs(grid, "judge_error")[-1]["error"]


def test_without_a_log_there_is_no_bar(frontend, four):
    rows = [row for _i, row in four.df.iterrows()]
    grid = compare(rows)
    assert grid.judgments == {} and grid.choices == {}
    grid.comm.from_browser({"type": "judge", "key": grid.items[0]["key"], "stars": 3})
    assert four.judgment("t0").rating is None
    assert customs(grid, "judge_error")


def test_labels_follow_the_judgment(frontend, four):
    four.rate("t1", stars=5, pick=True)
    grid = compare(four.df, log=four)
    item = next(i for i in grid.items if i["key"].endswith(":t1"))
    assert item["label"].endswith("\u00b7 5/5 picked")
    assert item["label_base"] == item["label"].removesuffix(" \u00b7 5/5 picked")
    assert grid.judgments[item["key"]]["text"] == "5/5 picked"  # the browser joins the two


def test_prompt_titles_mark_the_words_that_differ(four):
    grid = compare(four.df, rows="prompt", cols="seed", log=four)
    assert grid.row_titles == [f"\u201c{p}\u201d" for p in PROMPTS]
    red, grey = grid.title_parts["rows"]
    assert red == [["\u201ca ", False], ["red ", True], ["fox runs\u201d", False]]
    assert "".join(t for t, _d in grey) == grid.row_titles[1]
    assert "cols" not in grid.title_parts  # seeds are not prompts
    html = grid.still_parts()[0]  # the saved still shows the same difference
    assert "<b class='vidu-diff'>red </b>" in html and "vidu-same" in html
    by_seed = compare(four.df, rows="seed", cols="prompt", log=four)
    assert [p[1] for p in by_seed.title_parts["cols"]] == [["red ", True], ["grey ", True]]


def test_order_ranking_puts_the_best_ranked_rows_first(four):
    log = four
    unvoted = compare(log.df, rows="prompt", log=log, order="ranking")  # no votes: the plan's
    assert [t for t in unvoted.row_titles if t] == [f"\u201c{p}\u201d" for p in PROMPTS]
    for _ in range(3):
        log.vote("t2", "t0", winner="t2")  # grey beats red
    log.vote("t3", "t1", winner="t3")
    plan = compare(log.df, rows="prompt", cols="seed", log=log)
    assert plan.row_titles[0] == "\u201ca red fox runs\u201d"  # the plan's order
    ranked = compare(log.df, rows="prompt", cols="seed", log=log, order="ranking")
    assert ranked.row_titles == ["\u201ca grey fox runs\u201d", "\u201ca red fox runs\u201d"]
    assert [i["key"].split(":")[1] for i in ranked.items] == ["t2", "t3", "t0", "t1"]
    by_seed = compare(log.df, rows="seed", log=log, order="ranking", row_order=[1])
    assert by_seed.row_titles[0] == "seed=1"  # an order given is kept
    for kwargs in ({"order": "ranking"}, {"order": "ranking", "rows": "prompt", "log": None}):
        with pytest.raises(ValidationError) as err:
            compare(log.df, **{"log": log, **kwargs})
        assert err.value.field == "order"
    with pytest.raises(ValidationError) as err:
        compare(log.df, rows="prompt", log=log, order="best")
    assert err.value.field == "order" and "'ranking'" in str(err.value)


@pytest.fixture
def draft(png_bytes):
    return Img2VideoRequest(
        image=png_bytes, model="viduq2-turbo", duration=2, resolution="540p", prompt="a cat"
    )


def test_promote_from_a_sweep_grid_estimates_then_submits(frontend, live, draft):
    sim, _client, log, poller = live
    run = run_sweep(sweep(draft, seeds=[1, 2]), poller=poller, grid=False)
    run.wait(30)
    grid = run.compare()
    best = run.task_ids[1]
    key = key_of(grid, best)
    assert grid.choices[key][0] == {"label": "720p", "change": {"resolution": "720p"}}
    assert {"label": "1080p", "change": {"resolution": "1080p"}} in grid.choices[key]
    grid.comm.from_browser({"type": "judge", "key": key, "pick": True})
    change = {"resolution": "1080p"}
    grid.comm.from_browser({"type": "promote", "key": key, "change": change})
    (offer,) = customs(grid, "promotion")
    assert not offer["submitted"] and offer["credits"] > 0 and len(log) == 2  # nothing sent
    assert f"{offer['credits']:,} credits" in offer["text"]
    grid.comm.from_browser({"type": "promote", "key": key, "change": change, "confirm": True})
    done = customs(grid, "promotion")[-1]
    assert done["submitted"] and done["credits"] == offer["credits"]
    (promotion,) = run.promotions  # the sweep shows it as a live card
    assert len(run.promoted_box.children) == 1
    assert poller.wait_all(30)
    child = log.get_by_ref(promotion.handle)
    assert child["parent_row_id"] == log.get(best)["row_id"] and child["resolution"] == "1080p"
    assert child["tags"] == ["promoted"] and child["experiment"] == run.experiment
    assert until(lambda: grid.promoted[key].endswith(": success"))
    # A change the grid does not offer, or a model cannot make, is refused before a request.
    for bad in ({"resolution": "4k"}, {"colour": "red"}, {"duration": 2.5}, {}):
        grid.comm.from_browser({"type": "promote", "key": key, "change": bad, "confirm": True})
        assert customs(grid, "judge_error")[-1]["key"] == key
    assert len(log) == 3
    # Any grid given the poller (its log judges) can promote; without it, it only judges.
    anywhere = compare(log.df, poller=poller)
    assert anywhere.choices[key_of(anywhere, best)] == grid.choices[key]
    assert compare(log.df, log=log).choices == {}


def test_a_confirmed_promotion_is_checked_against_the_balance(live, draft):
    sim, _client, log, poller = live
    run = run_sweep(sweep(draft, seeds=[1]), poller=poller, grid=False)
    run.wait(30)
    sim.set_balance(1)
    requests_before = len(log)
    with pytest.raises(ValidationError) as err:
        run.promote(run.task_ids[0], resolution="1080p", confirm=True)
    assert err.value.field == "confirm" and "balance of 1 credits" in str(err.value)
    assert len(log) == requests_before and run.promotions == []
    assert not run.promote(run.task_ids[0], resolution="1080p").submitted  # the estimate is


def test_the_card_judges_and_promotes(frontend, live, draft):
    _sim, client, log, poller = live
    handle = poller.submit(draft.replace(seed=3))
    assert poller.wait_all(30)
    waiting = TaskCard(log=log, client=client, handle=poller.submit(draft), poller=poller)
    assert not waiting._judge.built and waiting._judge.box.children == ()  # not done yet
    card = TaskCard(log=log, client=client, handle=handle, poller=poller)
    card.update()
    judge = card._judge
    assert judge.built and judge.promote_box.layout.display == "none"  # not picked
    judge.stars.value = 4
    judge.pick.value = "pick"
    judge.note.value = "keep"
    with TaskLog(log.path) as again:
        assert again.judgment(handle)[2:] == (4, True, "keep")
    assert "4/5 picked" in card._details.value
    assert judge.promote_box.layout.display is None  # picked: Promote is offered
    judge.change.value = next(
        i for i, c in enumerate(judge._choices) if c["change"] == {"resolution": "1080p"}
    )
    offer = judge.promote()
    assert offer is not None and not offer.submitted and len(log) == 2
    assert judge.promote_button.description == f"Submit ({offer.credits:,} credits)"
    done = judge.promote()
    assert done is not None and done.submitted and len(card._promoted_box.children) == 1
    assert poller.wait_all(30)
    assert log.get_by_ref(done.handle)["parent_row_id"] == log.get_by_ref(handle)["row_id"]
    judge.pick.value = ""  # unpicked: no Promote
    assert log.judgment(handle).pick is None and judge.promote_box.layout.display == "none"
    # Judged elsewhere in the kernel (a grid of the task, code): the card shows it at once.
    grid = compare([log.get_by_ref(handle)], log=log)
    grid.comm.from_browser({"type": "judge", "key": grid.items[0]["key"], "stars": 2})
    assert judge.stars.value == 2 and "2/5" in card._details.value
    log.rate(handle, pick=False)
    assert judge.pick.value == "reject" and log.judgment(handle)[2:] == (2, False, "keep")


def test_the_report_and_the_still_mark_the_differing_words_escaped(log, png_bytes, tmp_path):
    import vidu_nb

    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    for i, prompt in enumerate(["a <b>red</b> fox & cub", "a <i>grey</i> fox & cub"]):
        log.record_submission(request.replace(prompt=prompt, seed=1), Task(id=f"h{i}"))
        log.update(Task(id=f"h{i}", state="success", seed=1))
    with pytest.warns(UserWarning, match="no video for the report"):  # none downloaded
        out = vidu_nb.report(log.df, tmp_path / "r.html", log=log, rows="prompt")
    page = out.read_text(encoding="utf-8")
    assert '<span class="vr-diff">&lt;b&gt;red&lt;/b&gt; </span>' in page
    assert '<span class="vr-same">fox &amp; cub\u201d</span>' in page
    assert "<b>red</b>" not in page and "<i>grey</i>" not in page
    still = compare(log.df, rows="prompt", log=log).still_parts()[0]
    assert "<b class='vidu-diff'>&lt;i&gt;grey&lt;/i&gt; </b>" in still
    assert "<i>grey</i>" not in still


def test_a_grid_drawn_again_without_the_log_drops_its_bars(frontend, four):
    grid = compare(four.df, log=four)
    assert grid.judgments
    key = grid.items[0]["key"]
    compare(four.df, grid=grid)
    assert grid.judgments == {} and grid.judge.refs == {}
    grid.comm.from_browser({"type": "judge", "key": key, "stars": 2})
    assert four.judgment("t0").rating is None
    compare(four.df, grid=grid, log=four, where="rating > 4")  # nothing matches: no cells
    assert grid.items == [] and grid.judgments == {}


def test_grids_of_the_same_tasks_show_a_judgment_made_in_another_or_in_code(frontend, four):
    """The comparison notebook shows a sweep twice (as planned, then by ranking) and rates in
    code in between: a judgment set in one grid, or by ``log.rate``, shows in every grid of
    that task drawn from the same log, not only in grids drawn afterwards. A grid drawn again
    without the log follows it no more."""
    log = four
    first = compare(log.df, rows="prompt", cols="seed", log=log)
    other = compare(log.df, rows="seed", cols="prompt", log=log, order="sorted")
    first.comm.from_browser({"type": "judge", "key": key_of(first, "t0"), "stars": 4})
    assert other.judgments[key_of(other, "t0")]["stars"] == 4
    log.rate("t3", pick=False, note="blurred")  # code, as the notebook's example does
    for grid in (first, other):
        assert grid.judgments[key_of(grid, "t3")] == {
            "stars": 0, "pick": False, "note": "blurred", "text": "rejected",
        }  # fmt: skip
    # "p" in the other grid toggles from what it shows: picked, then unpicked, in both.
    other.comm.from_browser({"type": "judge", "key": key_of(other, "t3"), "pick": True})
    assert first.judgments[key_of(first, "t3")]["pick"] is True
    untouched = {k: v for k, v in first.judgments.items() if not k.endswith((":t0", ":t3"))}
    assert all(v["text"] == "" for v in untouched.values())
    compare(log.df, grid=first)  # drawn again without the log: no bars, nothing followed
    log.rate("t1", stars=2)
    assert first.judgments == {} and other.judgments[key_of(other, "t1")]["stars"] == 2
