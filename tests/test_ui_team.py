"""Cards follow tasks another kernel's poller follows: this kernel's poller reads the other's
changes from the shared log and its event hub redraws the card, with no request to the
service from here; ratings another kernel writes reach this kernel's grids and cards from the
same change feed, one cell synced. A real second process, a real simulator, both stores."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import make_image
from test_tasklog_leases import KERNEL
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.card import card_for
from vidu_nb.ui.session import Session

pytestmark = pytest.mark.stores


def test_a_card_here_follows_a_task_another_kernel_sent_and_follows(tmp_path, log_at):
    target = log_at("cards")
    TaskLog(target).close()
    image, stop = tmp_path / "start.png", tmp_path / "stop"
    image.write_bytes(make_image(96, 64))
    with Simulator(speed=20, concurrency=5, video_height=32, seed=6) as sim:
        with (
            TaskLog(target) as log,
            ViduClient.for_simulator(sim) as client,
            Poller(client, log, cache=False, measure=False, watch=0.1) as here,
        ):
            client._transport.session.headers["User-Agent"] = "here"
            session = Session(client, log, here)
            args = [target, sim.api_key, sim.base_url, image, stop]
            other = subprocess.Popen(
                [sys.executable, "-c", KERNEL, *map(str, args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                assert other.stdout is not None and other.stdout.readline().startswith("submitted")
                refs = list(log.to_frame(columns=["client_ref"])["client_ref"])
                cards = [card_for(ref, session) for ref in refs]  # queued or running there
                assert len(cards) == 3
                done = lambda: all("vidu-card-state-success" in c._dom_classes for c in cards)  # noqa: E731
                assert until(done, timeout=60)
                assert all(c.task_id for c in cards)
            finally:
                stop.touch()
                other.communicate(timeout=30)
        asked_here = [r.path for r in sim.requests if r.agent == "here"]
    assert not any(p.endswith("/creations") for p in asked_here)  # no task was checked here


#: Another kernel judging on the shared log: rates, picks and notes task t1, then exits.
RATER = r"""
import sys
from vidu_nb.tracking.tasklog import TaskLog
with TaskLog(sys.argv[1]) as log:
    log.rate("t1", stars=5, pick=True, note="B: the <best> one")
print("rated", flush=True)
"""


def test_a_rating_made_in_another_kernel_reaches_this_kernels_grid_and_card_in_one_round(
    frontend, log, png_bytes, tmp_path
):
    from stores import target as target_of

    from vidu_nb.client.task import Task
    from vidu_nb.request.spec import Img2VideoRequest
    from vidu_nb.ui.compare import compare

    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    for i in range(3):
        log.record_submission(request.replace(prompt="a fox", seed=i), Task(id=f"t{i}"))
        log.update(Task(id=f"t{i}", state="success", seed=i))
    grid = compare(log.df, cols="seed", log=log)
    items, keys = grid.items, {i["key"].rsplit(":", 1)[1]: i["key"] for i in grid.items}
    synced: list[dict] = []
    grid.observe(lambda change: synced.append(change["new"]), "judgments")
    with Simulator(speed=20, seed=6) as sim, ViduClient.for_simulator(sim) as client:
        # The watcher's own thread looks once an hour: this test drives its rounds by hand.
        with Poller(client, log, cache=False, measure=False, watch=3600) as here:
            here.start()
            watcher = here.team.watcher
            assert watcher is not None
            watcher.start()
            card = card_for("t1", Session(client, log, here))
            assert card._judge.stars.value == 0
            other = subprocess.run(
                [sys.executable, "-c", RATER, str(target_of(log))],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert other.stdout.startswith("rated"), other.stderr
            assert grid.judgments[keys["t1"]]["stars"] == 0  # not yet read from the log
            watcher.poll()  # one round of the watcher
            assert grid.judgments[keys["t1"]] == {
                "stars": 5,
                "pick": True,
                "note": "B: the <best> one",
                "text": "5/5 picked",
            }
            assert len(synced) == 1  # one sync, of the rated cell only
            assert (card._judge.stars.value, card._judge.pick.value) == (5, "pick")  # the card
            assert "5/5 picked" in card._details.value
            assert grid.judgments[keys["t0"]]["stars"] == 0 == grid.judgments[keys["t2"]]["stars"]
            # Rated here: shown at once; the feed saying it again next round syncs nothing.
            log.rate("t2", stars=2)
            assert grid.judgments[keys["t2"]]["stars"] == 2 and len(synced) == 2
            watcher.poll()
            assert len(synced) == 2
        assert grid.items is items  # the players were not rebuilt: no video reloads
    asked = [r.path for r in sim.requests]
    assert not any("/creations" in p for p in asked)  # nothing asked about the tasks
