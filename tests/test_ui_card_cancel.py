"""Task cards against the simulator: a Cancel click the service refuses."""

from __future__ import annotations

import pytest
from simhelpers import running_stack
from waiting import until

from vidu_nb.ui import form


@pytest.fixture
def live(tmp_path):
    # speed 20: an off-peak task waits ~3 s, time to click Cancel before it runs
    with running_stack(tmp_path, speed=20, video_height=96) as stack:
        yield stack


def test_a_failed_cancel_stays_on_the_card_until_the_task_ends(live, png_bytes):
    sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data = png_bytes
    f.state.model, f.state.duration, f.state.off_peak = "viduq2-turbo", 2, True
    card = f.submit()
    assert until(lambda: card.task_id and card._cancel.layout.display is None)
    sim.faults.add("server_error", count=10, method="POST", path="/cancel")
    card.cancel()
    assert "cancel:" in card._error.value and "InternalServiceFailure" in card._error.value
    assert not card._cancel.disabled  # it may be tried again
    card.update()  # the next poller event redraws the card: the reason is still there
    assert "cancel:" in card._error.value
    sim.faults.clear()
    assert until(lambda: card.view.done, 60)
    assert card.view.state == "success" and card._error.value == ""
