"""The live parts against the simulator: submit from the form, cards, sweeps, credits view."""

from __future__ import annotations

import time

import pytest
from waiting import until

from vidu_nb import ValidationError
from vidu_nb.request.sweep import sweep
from vidu_nb.ui import compare, form, run_sweep
from vidu_nb.ui.credits import credits_figure, credits_table, credits_view

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def test_submit_from_the_form_and_the_card_reaches_success(live, png_bytes):
    sim, client, log, poller = live
    slow = 1.5
    sim.faults.add("slow", count=1, method="POST", delay=slow)
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model = "viduq2-turbo"
    f.state.duration = 2
    f.controls["prompt"].value = HOSTILE
    started = time.monotonic()
    card = f.submit()
    assert time.monotonic() - started < slow  # the click never waits for the (slow) service
    assert f.card_box.children[0] is card and "submitted" in f.status.value
    assert until(lambda: "vidu-card-state-success" in card._dom_classes)
    assert until(lambda: card.view.get("video_path") is not None)
    row = log.get(card.task_id)
    assert row["prompt"] == HOSTILE and row["state"] == "success"
    assert "<script>" not in card._details.value
    card.update()
    (player,) = card._player_box.children
    assert player.items[0]["video_local"] and player.items[0]["meta"] == []  # the card says it
    assert player.read_source(player.items[0]["key"], "video")[4:8] == b"ftyp"
    f.refresh_seed_choices()
    assert f.reuse.options[0][1] == row["seed"]
    assert poller.wait_all(30)
    f.state.prompt = "same settings, new prompt"  # any change redraws the estimate
    assert "learned from 1 task" in f.estimate_html.value


def test_sweep_of_three_prompts_by_two_seeds(live, png_bytes):
    _sim, client, log, poller = live
    from vidu_nb import Img2VideoRequest

    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    plan = sweep(base, prompts=["a fox", "a cat", HOSTILE], seeds=[1, 2])
    run = run_sweep(plan, client=client, log=log, poller=poller, experiment="exp-1", grid=False)
    run.wait(60)
    assert run.grid_box.children == ()  # grid=False: the videos are shown once, by compare()
    assert len(run.task_ids) == 6 and run.counts() == {"success": 6}
    assert run.bar.value == 6 and "vidu-sweep-progress" in run.bar._dom_classes
    df = log.to_frame(experiment="exp-1")
    assert len(df) == 6 and set(df["seed"]) == {1, 2}
    grid = run.compare()
    assert grid.cols == 2 and len(grid.items) == 6
    assert grid.col_titles == ["seed=1", "seed=2"] and len(grid.row_titles) == 3
    grid_from_df = compare(df, rows="prompt", cols="seed", log=log)
    assert len(grid_from_df.items) == 6
    assert until(lambda: poller.wait_all(1))
    grid_from_df = compare(log.to_frame(experiment="exp-1"), rows="prompt", cols="seed", log=log)
    assert all(item["video_local"] for item in grid_from_df.items)
    table = credits_table(log, "model").to_html()
    assert "viduq2-turbo" in table
    assert "vidu-credits" in credits_view(log)._dom_classes
    fig = credits_figure(log)
    for ax in fig.axes:  # all on one day: that panel is one bar too, not a lone point
        assert ax.get_ylabel() == "credits" and len(ax.patches) == 1 and not ax.lines
    assert fig.axes[3].containers[0].datavalues[0] == df["credits"].sum()


def test_expensive_sweep_needs_confirmation(live, png_bytes):
    _sim, client, log, poller = live
    from vidu_nb import Img2VideoRequest

    base = Img2VideoRequest(image=png_bytes, model="viduq3-pro", duration=16)
    plan = sweep(base, seeds=[1, 2, 3])
    with pytest.raises(ValidationError, match="confirm=True"):
        run_sweep(plan, client=client, log=log, poller=poller)
    assert poller.queued == 0 and len(log) == 0


def test_form_sweep_panel_asks_for_confirmation_above_threshold(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    panel = f.sweep_panel
    panel.seeds.value = "1, 2, 3"
    assert panel.make_plan() is not None
    assert "vidu-sweep-confirm" in panel.submit_button._dom_classes
    assert "Confirm" in panel.submit_button.description
    f.state.model = "viduq2-turbo"
    f.state.duration = 2
    panel.prompts.value = "one\ntwo"
    panel.make_plan()
    assert "vidu-sweep-confirm" not in panel.submit_button._dom_classes
    assert "6 requests" in panel.summary.value
    panel.submit_button.click()
    (run,) = panel.runs.children
    run.wait(60)
    assert until(lambda: len(run.grid_box.children) == 1)
    assert len(run.grid_box.children[0].items) == 6


def test_two_rapid_clicks_on_submit_send_one_task(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    f.click_cooldown = 0.3
    seen = []
    f.submit_button.observe(lambda c: seen.append(c.new), "disabled")
    f.submit_button.click()
    f.submit_button.click()  # queued behind the first: a double click
    assert len(log) == 1 and len(f.cards) == 1
    assert True in seen  # disabled while the submit ran
    assert until(lambda: not f.submit_button.disabled, 5)  # enabled again: the form is valid
    f.submit_button.click()
    assert len(log) == 2 and len(f.cards) == 2
    f.state.prompt = "x" * 5001
    assert until(lambda: f.submit_button.disabled and not f._busy, 5)
    f.state.prompt = "ok"
    assert until(lambda: not f.submit_button.disabled, 5)


def test_seed_choices_at_construction_and_when_a_task_succeeds(live, png_bytes):
    _sim, client, log, poller = live
    from vidu_nb import Img2VideoRequest

    f = form(client, log, poller)
    assert f.reuse.options == () and f.reuse_button.disabled
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2, seed=31)
    poller.submit(request)  # not through this form: it hears of the success from the poller
    assert until(lambda: len(f.reuse.options) == 1)
    assert f.reuse.options[0][1] == 31 and not f.reuse_button.disabled
    assert f.reuse.options[0][0].startswith("seed 31 \u00b7 ")  # the seed first: it fits
    f.reuse_button.click()
    assert f.state.seed_mode == "fixed" and f.state.seed == 31
    later = form(client, log, poller)  # a new form: filled from the log at once
    assert [v for _l, v in later.reuse.options] == [31] and not later.reuse_button.disabled
    poller.submit(request.replace(seed=32))
    assert until(lambda: len(later.reuse.options) == 2)
    assert later.reuse.value == 32  # the newest finished task is the one selected
