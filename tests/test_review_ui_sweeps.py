"""Review of the sweep UI against the simulator: runs that end with an uncertain submission,
and the form's sweep panel after its inputs change."""

from __future__ import annotations

import pytest
from simhelpers import running_stack
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.sweep import sweep
from vidu_nb.ui import run_sweep


@pytest.fixture
def live(tmp_path):
    with running_stack(tmp_path, speed=60, video_height=96) as stack:
        yield stack


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
