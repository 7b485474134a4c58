"""The credits view against the simulator: logs where nothing was charged."""

from __future__ import annotations

import warnings

from simhelpers import running_stack

from vidu_nb import Img2VideoRequest
from vidu_nb.ui.credits import credits_table, credits_view


def test_a_log_of_failed_tasks_shows_its_credits_without_a_warning(tmp_path, png_bytes):
    with running_stack(tmp_path, speed=60, video_height=96) as (sim, _client, log, poller):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert "vidu-credits" in credits_view(log)._dom_classes  # an empty log
        sim.faults.add("task_failure", count=2, err_code="ImageCheckFaceFailed")
        base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
        poller.submit_many([base, base.replace(model="viduq2-pro")])
        assert poller.wait_all(30)
        assert set(log.to_frame()["state"]) == {"failed"}
        with warnings.catch_warnings():  # all refunded: every credit total is 0
            warnings.simplefilter("error")
            html = credits_table(log, ["model", "state"]).to_html()
            assert "vidu-credits" in credits_view(log)._dom_classes
        assert "viduq2-pro" in html and "viduq2-turbo" in html
