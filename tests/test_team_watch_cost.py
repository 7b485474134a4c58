"""One person, one machine, no team settings: the default SQLite log's poller still watches the
log for other kernels' changes (a second notebook on the same file is a team too), so what a
look costs while nothing changes is bounded here: one ``PRAGMA data_version`` a round, every
half second, and no write until the first lease renewal (a third of a minute). Counted from
SQLite's own statement trace while the real watcher thread runs."""

from __future__ import annotations

import pytest
from conftest import make_image
from stores import statements
from waiting import until

from vidu_nb import Workspace
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller.core import WATCH_SECONDS
from vidu_nb.tracking.tasklog.leases import LEASE_SECONDS

TEAM = ("VIDU_LOG_URL", "VIDU_VIDEO_STORE", "VIDU_VIDEO_STORE_OPTIONS", "JUPYTERHUB_USER")


@pytest.fixture
def quickstart(tmp_path, monkeypatch):
    """The README's quickstart environment: a key and an address, nothing for teams."""
    for name in (*TEAM, "VIDU_API_KEY", "VIDU_BASE_URL", "VIDU_AUTH_SCHEME", "VIDU_SIM_SPEED"):
        monkeypatch.delenv(name, raising=False)
    with Simulator(speed=100, video_height=32, seed=5) as sim:
        monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
        monkeypatch.setenv("VIDU_API_KEY", sim.api_key)
        monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "tasks.sqlite"))
        monkeypatch.setenv("VIDU_CACHE_DIR", str(tmp_path / "cache"))
        yield sim


def quiet(log, watcher) -> bool:
    """Whether the log did not change for three of the watcher's rounds."""
    version, rounds = log.version, watcher.rounds
    assert until(lambda: watcher.rounds >= rounds + 3, timeout=30)
    return log.version == version


def test_the_watcher_costs_one_statement_a_round_on_a_quiet_sqlite_log(quickstart):
    with Workspace.from_env() as ws:
        request = Img2VideoRequest(image=make_image(96, 64), prompt="a fox", duration=1)
        ws.submit(request)
        assert ws.poller.wait_all(30)
        team = ws.poller.team
        assert (team.watch, team.lease) == (WATCH_SECONDS, LEASE_SECONDS) == (0.5, 60.0)
        watcher = team.watcher
        assert watcher is not None
        assert until(lambda: quiet(ws.log, watcher), timeout=60)  # downloaded and measured
        renewals = team.renewals
        with statements(ws.log) as seen:
            first = watcher.rounds
            assert until(lambda: watcher.rounds >= first + 4, timeout=30)
            rounds = watcher.rounds - first
        assert team.renewals == renewals  # no lease renewal in these two seconds
    assert seen and set(seen) == {"PRAGMA data_version"}, seen  # nothing read, nothing written
    assert len(seen) <= rounds + 1  # one a round (the one under way when the count began)
