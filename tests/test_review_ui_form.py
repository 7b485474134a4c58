"""Review of the form against the simulator: what it shows without the user touching it."""

from __future__ import annotations

import pytest
from simhelpers import running_stack
from waiting import until

from vidu_nb.ui import form


@pytest.fixture
def live(tmp_path):
    with running_stack(tmp_path, speed=60, video_height=96) as stack:
        yield stack


def test_the_estimate_learns_from_a_finished_task_without_an_edit(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration = "viduq2-turbo", 2
    assert "published rate" in f.estimate_html.value
    card = f.submit()
    assert until(lambda: card.view.state == "success")
    # The next submit of the same settings is priced from what was charged, not the rate table.
    assert until(lambda: "learned from 1 task" in f.estimate_html.value, 10)
