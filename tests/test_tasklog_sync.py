"""``log.sync(client)`` brings the log in line with the service's task list: tasks created
elsewhere are imported (``source='imported'``) once, known ones updated with fresh URLs, an
uncertain submission found there reconciled; a query per listed task, nothing duplicated."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
from conftest import make_image
from waiting import until

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Creation, Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.cache import DownloadError, VideoCache
from vidu_nb.tracking.poller import Poller

pytestmark = pytest.mark.stores

IMAGE = make_image(160, 120)


def req(i: int = 0, **kw) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1, **kw)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=31, url_ttl=2.0, list_states=True) as s:
        yield s


@pytest.fixture
def client(sim):
    with ViduClient.for_simulator(sim) as c:
        yield c


def finished(sim, client, tasks) -> None:
    assert until(lambda: all(client.get(t).state == "success" for t in tasks))


def test_tasks_created_elsewhere_are_imported_once(sim, client, log):
    elsewhere = [client.submit(req(i, payload=f"console-{i}")) for i in range(3)]
    finished(sim, client, elsewhere)
    gets = sim.count("GET", "/creations")
    summary = log.sync(client)
    assert (summary.added, summary.updated, summary.reconciled, summary.listed) == (3, 0, 0, 3)
    assert sim.count("GET", "/creations") == gets + 3  # one query per listed task
    df = log.df
    assert sorted(df["task_id"]) == sorted(t.id for t in elsewhere)
    assert (df["source"] == "imported").all() and isinstance(
        df["source"].dtype, pd.CategoricalDtype
    )
    row = log.get(elsewhere[1].id)
    view = sim.task_state(elsewhere[1].id)
    assert (row["state"], row["credits"], row["payload"]) == ("success", view.credits, "console-1")
    assert (row["prompt"], row["duration"], row["model"]) == ("shot 1", 1, view.model)
    assert row["video_url"] and row["submitted_at"] is not None  # the list's created_at
    assert row["finished_at"] is None  # not watched here: no made-up timings
    assert list(log.events(elsewhere[1].id)["state"]) == ["success"]
    again = log.sync(client)
    assert (again.added, again.updated, again.reconciled) == (0, 3, 0)
    assert len(log) == 3
    assert str(again).startswith("3 tasks on the service: 0 added, 3 updated")


def test_tasks_in_the_log_are_updated_not_duplicated(sim, client, log):
    with Poller(client, log, cache=False) as poller:
        mine = poller.submit(req(1))
        assert poller.wait_all(30)
    other = client.submit(req(2))
    summary = log.sync(client)
    assert (summary.added, summary.updated) == (1, 1)
    assert len(log) == 2 and log.get_by_ref(mine)["source"] is None
    assert log.get(other.id)["source"] == "imported"


def test_an_uncertain_submission_found_in_the_list_is_reconciled(sim, client, log):
    sim.faults.add("drop_after", count=1, method="POST")
    with Poller(client, log, cache=False, find_uncertain=False) as poller:
        lost = poller.submit(req(1))
        assert poller.wait_all(30)
    assert log.get_by_ref(lost)["state"] == "uncertain"
    summary = log.sync(client)
    assert (summary.added, summary.updated, summary.reconciled) == (0, 0, 1)
    (task,) = sim.engine.tasks()
    row = log.get_by_ref(lost)
    assert row["task_id"] == task.id and row["source"] is None and len(log) == 1
    assert log.sync(client).reconciled == 0 and len(log) == 1


def test_expired_video_urls_are_refreshed(sim, client, log, tmp_path):
    with Poller(client, log, cache=False) as poller:
        handle = poller.submit(req(1))
        assert poller.wait_all(30)
    row = log.get_by_ref(handle)
    stale = row["video_url"]
    expires = int(parse_qs(urlsplit(stale).query)["exp"][0])
    time.sleep(max(0.0, expires - time.time()) + 0.2)  # until the stored URL has expired
    log.sync(client)
    fresh = log.get(row["task_id"])
    assert fresh["video_url"] != stale and fresh["urls_fetched_at"] > row["urls_fetched_at"]
    cache = VideoCache(tmp_path / "videos", retries=0)

    def stored(url: str) -> Task:
        return Task(id=row["task_id"], state="success", creations=(Creation("", url),))

    with pytest.raises(DownloadError, match="expired"):
        cache.fetch(stored(stale))  # the old URL is refused...
    video, _ = cache.fetch(stored(fresh["video_url"]))  # ...the synced one works, no client
    assert video.stat().st_size > 0
    cache.close()


def test_the_window_bounds_what_is_listed(sim, client, log):
    old, recent = client.submit(req(1)), client.submit(req(2))
    sim.set_created_at(old.id, datetime.now(timezone.utc) - timedelta(days=10))
    assert log.sync(client).added == 1  # the default window: the last 7 days
    assert log.get(old.id) is None
    assert log.sync(client, since=datetime.now(timezone.utc) - timedelta(days=11)).added == 1
    assert log.get(old.id)["source"] == "imported"
    assert log.sync(client, since="2000-01-01", until="2000-01-02").listed == 0
    assert recent.id in set(log.df["task_id"])


def test_bad_arguments_are_named_before_any_request(sim, client, log):
    before = sim.count()
    with pytest.raises(ValidationError, match="client="):
        log.sync(object())
    with pytest.raises(ValidationError, match="since="):
        log.sync(client, since="last week")
    with pytest.raises(ValidationError, match="until="):
        log.sync(client, since="2025-02-01", until="2025-01-01")
    assert sim.count() == before
