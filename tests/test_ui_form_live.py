"""The form against the simulator: what it shows without the user touching it."""

from __future__ import annotations

from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.ui import form


def test_the_estimate_learns_from_a_finished_task_without_an_edit(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    assert "unverified rate" in f.estimate_html.value  # a pre-2025-11 q2 figure, scaled
    card = f.submit()
    assert until(lambda: card.view.state == "success")
    # The next submit of the same settings is priced from what was charged, not the rate table.
    assert until(lambda: "learned from 1 task" in f.estimate_html.value, 10)


def test_a_task_finishing_keeps_the_older_task_the_user_picked_for_its_seed(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    poller.submit_many([base.replace(seed=11), base.replace(seed=22)])
    assert poller.wait_all(30)
    f.refresh_seed_choices()
    assert [seed for _label, seed in f.reuse.options] == [22, 11]  # newest first, selected
    assert f.reuse.value == 22
    f.reuse.index = 1  # the user picks the older task
    picked = f.reuse.label
    poller.submit(base.replace(seed=33))
    assert until(lambda: len(log.to_frame(state="success")) == 3)
    assert until(lambda: len(f.reuse.options) == 3 and f.reuse.label == picked, 10)
    assert f.reuse.value == 11  # the success refreshed the choices and kept the pick
    f.reuse_button.click()
    assert f.state.seed_mode == "fixed" and f.state.seed == 11
