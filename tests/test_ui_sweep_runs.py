"""The sweep UI against the simulator: runs that end with an uncertain submission,
and the form's sweep panel after its inputs change."""

from __future__ import annotations

from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.request.sweep import sweep
from vidu_nb.ui import form, run_sweep


def test_a_sweep_with_an_uncertain_submission_still_finishes(live, png_bytes):
    sim, client, log, poller = live
    sim.faults.add("server_error", count=1, method="POST")  # one submit may or may not exist
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    run = run_sweep(sweep(base, seeds=[1, 2]), poller=poller, experiment="uncertain")
    run.wait(30)
    assert run.counts() == {"success": 1, "uncertain": 1}
    assert until(lambda: run.bar.value == 2)  # every task reached a final state
    assert run.text.value.startswith("2/2 finished")
    assert until(lambda: len(run.grid_box.children) == 1)  # and the grid is shown


def test_the_sweep_panel_never_submits_a_plan_made_before_an_edit(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    panel = f.sweep_panel
    panel.seeds.value = "1, 2"
    assert panel.make_plan() is not None and not panel.submit_button.disabled
    panel.seeds.value = "1, 2, 3"  # the lists changed after planning
    assert panel.submit_button.disabled and "plan the sweep again" in panel.summary.value
    assert panel.submit() is None and poller.queued == 0 and len(log) == 0
    assert len(panel.make_plan()) == 3
    f.controls["duration"].value = 4  # the form changed after planning
    assert panel.submit_button.disabled and panel.submit() is None and len(log) == 0
    panel.make_plan()
    run = panel.submit()
    assert run is not None and [r.duration for r in run.plan] == [4, 4, 4]
    run.wait(30)


def test_a_finished_sweep_stops_listening_to_the_poller(live, png_bytes):
    """Past sweeps must not re-read their tasks on every later event of the poller."""
    _sim, client, log, poller = live
    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    runs = [run_sweep(sweep(base, seeds=[i, i + 10]), poller=poller, grid=False) for i in (1, 2)]
    for run in runs:
        run.wait(30)
    assert until(lambda: not any(run.session.hub.subscribed for run in runs))
    assert poller.submit(base) and poller.wait_all(30)
    assert [run.counts() for run in runs] == [{"success": 2}, {"success": 2}]
