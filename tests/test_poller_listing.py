"""Batched status reads (``poller.listing``): processing tasks due together are read by ONE
task-list request, and only those it lists as ended get a GET. Everything is counted by the
real loopback simulator's own request records (never timed): the listings, each task's GETs,
and when they came against the server's own end of each task."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.simulator.rejects import Reject
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.poller.listing import MAX_FAILURES
from vidu_nb.tracking.tasklog import TaskLog

IMAGE = make_image(160, 120)
N = 20
LIST = "/ent/v2/tasks"


def requests(n: int = N, *, mixed: bool = False) -> list[Img2VideoRequest]:
    """``n`` tasks of one setting (the simulator gives them all the same generation time), or
    of eight (``mixed``: durations 1-8 s, 11-32 s of generation)."""
    return [
        Img2VideoRequest(image=IMAGE, duration=1 + i % 8 if mixed else 4, resolution="720p", seed=i)
        for i in range(n)
    ]


def simulator(cls: type[Simulator] = Simulator) -> Simulator:
    return cls(speed=20, concurrency=N, video_height=48, fps=4, seed=7)


def follow(
    sim: Simulator, client: Any, folder: Any, *, mixed: bool = False
) -> tuple[Poller, list[dict]]:
    """Submit the tasks with one poller, follow them to the end; the poller and the rows."""
    with TaskLog(folder / "log.sqlite") as log:
        poller = Poller(client, log, policy="submit_all")
        with poller:
            handles = poller.submit_many(requests(mixed=mixed))
            assert poller.wait_all(120)
        return poller, [log.get_by_ref(h) for h in handles]


def gets_of(sim: Simulator, task_id: str) -> list[float]:
    """When the server answered each GET of this task (its own records)."""
    path = f"{sim.prefix}{LIST}/{task_id}/creations"
    return [r.time for r in list(sim.requests) if r.method == "GET" and r.path == path]


def listings_at(sim: Simulator) -> list[float]:
    path = sim.prefix + LIST
    return [r.time for r in list(sim.requests) if r.path == path and r.status == 200]


def assert_all_done(sim: Simulator, rows: list[dict]) -> None:
    """Every task ended with its credits and files in the log, and was read by exactly one
    GET after the server ended it (the confirming read)."""
    for row in rows:
        truth = sim.task_state(row["task_id"])
        assert row["state"] == "success" == truth.state
        assert row["credits"] == truth.credits > 0
        assert row["video_path"] and row["cover_path"]
        after = [t for t in gets_of(sim, row["task_id"]) if t >= truth.finished_at]
        assert len(after) == 1, row["task_id"]


class NoListClient(ViduClient):
    """A client of a service without the task list: it cannot list."""

    list_tasks = None  # type: ignore[assignment]


class NoListing(Simulator):
    """A service that answers the task list with ``status`` (a reseller without it)."""

    status = 404

    def list_tasks(self, query: str) -> dict[str, Any]:
        raise Reject(self.status, "NotFound" if self.status == 404 else "BadRequest", "no list")


def test_one_listing_reads_the_processing_tasks_and_one_get_confirms_each_end(tmp_path):
    with simulator() as sim, ViduClient.for_simulator(sim) as client:
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        listings = listings_at(sim)
        gets = sim.count("GET", "/creations")
        assert poller.stats.listings == len(listings) >= 1
        assert poller.stats.polls == gets
        # Ends seen by a listing first: its confirming GET came after a listing that came
        # after the end (tasks of one setting end together: one listing sees many ends).
        seen_by_listing = 0
        for row in rows:
            end = sim.task_state(row["task_id"]).finished_at
            (confirm,) = [t for t in gets_of(sim, row["task_id"]) if t >= end]
            seen_by_listing += any(end <= t <= confirm for t in listings)
        assert seen_by_listing >= N // 2
        # The first GET finds each processing (it says when it started), the listings read
        # the rest, and the end costs one GET; a task due alone is read by a GET too.
        assert 2 * N <= gets <= 3 * N
        # Each listing read several tasks: the same checks, a GET each, would have cost
        # a third more requests at least (with 200 tasks, four times more: see the README).
        listed = poller.stats.listed
        assert listed >= 2 * len(listings)
        assert gets + len(listings) <= 0.75 * (gets + listed)


def test_eight_settings_read_by_listings_end_with_one_get_each(tmp_path):
    """Tasks of eight settings (ends spread over 11-32 s): listings read many checks each."""
    with simulator() as sim, ViduClient.for_simulator(sim) as client:
        poller, rows = follow(sim, client, tmp_path, mixed=True)
        assert_all_done(sim, rows)
        gets, listings = sim.count("GET", "/creations"), len(listings_at(sim))
        assert gets == poller.stats.polls and listings == poller.stats.listings >= 1
        assert gets + listings <= 0.75 * (gets + poller.stats.listed)


def test_a_client_that_cannot_list_checks_by_get(tmp_path):
    with simulator() as sim, NoListClient.for_simulator(sim) as client:
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        assert sim.count(path=LIST, exact=True) == 0
        assert poller.stats.listings == poller.stats.listed == 0
        assert not poller._checks.listing.enabled
        assert poller.stats.polls == sim.count("GET", "/creations")


@pytest.mark.parametrize("status", [404, 400])
def test_a_service_refusing_the_listing_is_polled_by_get(tmp_path, status):
    class Refusing(NoListing):
        pass

    Refusing.status = status
    with simulator(Refusing) as sim, ViduClient.for_simulator(sim) as client:
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        # asked once (a 4xx is not retried; other workers may have sent theirs before the
        # answer came), then never again: GETs only
        asked = sim.count("GET", LIST, exact=True)
        assert 1 <= asked == poller.stats.listings <= poller.http_workers
        assert not poller._checks.listing.enabled
        assert str(status) in (poller._checks.listing.off or "")


def test_listing_faults_are_survived(tmp_path):
    """Faults on the task list alone: a 429 burst, a 500 burst and dropped connections, five
    of each (the client's own tries). Every task still ends, its end confirmed by one GET."""
    with simulator() as sim, ViduClient.for_simulator(sim) as client:
        path = sim.prefix + LIST
        rules = [
            sim.faults.add("rate_limit", count=5, path=path, exact=True, retry_after=0.05),
            sim.faults.add("server_error", count=5, path=path, exact=True),
            sim.faults.add("drop", count=5, path=path, exact=True),
        ]
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        assert [r.fired for r in rules] == [5, 5, 5]
        assert poller._checks.listing.enabled  # faults are not a refusal
        assert len(listings_at(sim)) >= 1  # and it listed again after them


def test_listing_faults_reaching_the_poller_pause_or_reschedule_the_batch(tmp_path):
    """A client that does not retry: each fault reaches the poller. A 429 pauses every
    request, a 500 and a dropped connection put the batch back on its schedule; the next
    listing works and batching goes on."""
    with simulator() as sim, ViduClient.for_simulator(sim, max_retries=0) as client:
        path = sim.prefix + LIST
        for kind in ("rate_limit", "server_error", "drop"):
            sim.faults.add(kind, count=1, path=path, exact=True, retry_after=0.05)
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        assert [r.fired for r in sim.faults.rules] == [1, 1, 1]
        assert poller.stats.errors == 3 and poller._checks.listing.enabled
        assert len(listings_at(sim)) == poller.stats.listings - 3 >= 1


def test_listings_failing_again_and_again_give_way_to_gets(tmp_path):
    """A task list that keeps failing (here 500 on every try) must not leave tasks unread:
    after a few failed listings in a row every check is a GET again."""
    with simulator() as sim, ViduClient.for_simulator(sim, max_retries=0) as client:
        sim.faults.add("server_error", path=sim.prefix + LIST, exact=True)
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        assert not poller._checks.listing.enabled
        asked = sim.count("GET", LIST, exact=True)  # and those in flight at the last failure
        assert MAX_FAILURES <= asked == poller.stats.listings < MAX_FAILURES + poller.http_workers


def test_failed_and_cancelled_tasks_are_seen_ending(tmp_path):
    """Endings other than success: tasks that fail (listed by ``states=failed``), off-peak
    tasks cancelled while processing (the service ends them ``failed``, ``UserCancelled``:
    listed too), and one ending in the undocumented ``canceled`` spelling, which the list
    filter cannot name: its every-``CONFIRM_EVERY`` GET sees it."""
    normal = [
        Img2VideoRequest(image=IMAGE, duration=8, resolution="1080p", seed=i) for i in range(8)
    ]
    off_peak = [
        Img2VideoRequest(image=IMAGE, duration=8, resolution="1080p", seed=i, off_peak=True)
        for i in range(2)
    ]
    with (
        simulator() as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "log.sqlite") as log,
    ):
        sim.faults.add("task_failure", count=2, err_code="AuditSubmitIllegal")
        poller = Poller(client, log, policy="submit_all", cache=False)
        processing: dict[str, str] = {}

        def on_event(event: Any) -> None:
            if event.kind == "state" and event.new_state == "processing" and event.task_id:
                processing.setdefault(event.handle, event.task_id)

        poller.subscribe(on_event)
        with poller:
            failing = poller.submit_many(normal[:2])  # the next two tasks fail
            handles = poller.submit_many(normal[2:])
            cancelled = poller.submit_many(off_peak)
            odd = handles[0]
            ended: set[str] = set()
            while len(ended) < 3:  # end each when the poller has seen it processing
                for handle in [*cancelled, odd]:
                    task_id = processing.get(handle)
                    if task_id and handle not in ended:
                        ended.add(handle)
                        if handle == odd:
                            sim.force_state(task_id, "canceled")
                        else:
                            client.cancel(task_id)
                assert poller.wait_all(0.05) is False or len(ended) == 3
            assert poller.wait_all(120)
        rows = {h: log.get_by_ref(h) for h in [*failing, *handles, *cancelled]}
        assert {rows[h]["state"] for h in failing} == {"failed"}
        assert {rows[h]["err_code"] for h in failing} == {"AuditSubmitIllegal"}
        assert {rows[h]["err_code"] for h in cancelled} == {"UserCancelled"}
        assert {rows[h]["state"] for h in cancelled} == {"failed"}
        assert rows[odd]["state"] == "canceled"
        assert {rows[h]["state"] for h in handles[1:]} == {"success"}
        assert poller._checks.listing.enabled and poller.stats.listings >= 1


def test_a_batch_takes_the_first_due_and_the_processing_tasks_due_soon_after():
    """``DueChecks.pop_batch`` on its own: a waiting task due first is read alone (a GET);
    otherwise the batch is the first due and the processing tasks due within ``ahead``, at
    most ``limit``; the tasks passed over keep their place, and those taken early are marked
    due now (so a pull-in leaves them alone while they are read)."""
    from vidu_nb.tracking.poller.due import DueChecks, Tracked

    due = DueChecks()
    states = ["created", "processing", "processing", "queueing", "processing", "processing"]
    trs = [Tracked(str(i), str(i), 0.0, state=s) for i, s in enumerate(states)]
    for i, tr in enumerate(trs):
        due.at(tr, 10.0 + 0.1 * i)  # 10.0, 10.1, ... 10.5
    due.at(trs[5], 12.0)  # rescheduled: its 10.5 entry is stale
    processing = lambda tr: tr.state == "processing"  # noqa: E731
    assert due.pop_batch(10.0, 0.5, 100, processing) == [trs[0]]  # waiting: alone
    assert due.pop_batch(10.1, 0.25, 2, processing) == [trs[1], trs[2]]  # the limit
    assert trs[2].due == 10.1  # taken early: due now
    assert due.pop_batch(10.1, 1.0, 100, processing) == []  # nothing due at 10.1 now
    assert due.next_due() == pytest.approx(10.3)  # the waiting one kept its place
    assert due.pop_batch(10.4, 1.0, 100, processing) == [trs[3]]
    assert due.pop_batch(10.4, 1.0, 100, processing) == [trs[4]]  # 5 is due at 12.0 now
    assert due.pop_batch(12.0, 1.0, 100, processing) == [trs[5]]
    assert due.next_due() is None
    kinds = ("processing", "created", "processing")
    a, b, c = (Tracked(n, n, 0.0, state=s) for n, s in zip("abc", kinds, strict=True))
    for i, tr in enumerate((a, b, c)):
        due.at(tr, 1.0 + 0.1 * i)
    assert due.pop_batch(1.0, 0.5, 100, processing) == [a, c]  # b passed over, in the window
    assert due.next_due() == pytest.approx(1.1) and due.pop_batch(1.1, 0, 100, processing) == [b]


class Recording(Simulator):
    """The simulator, keeping the query of every task-list request."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.queries: list[dict[str, list[str]]] = []

    def list_tasks(self, query: str) -> dict[str, Any]:
        from urllib.parse import parse_qs

        self.queries.append(parse_qs(query))
        return super().list_tasks(query)


def test_a_listing_asks_for_the_due_ids_the_ended_states_and_a_window_holding_them(tmp_path):
    """What the poller sends: the ids (2-100, as repeated names), one page of that size, the
    two documented ended states, and ``created_at.from`` before every task it asks about (the
    default window of 7 days would hide a task older than that)."""
    from datetime import datetime

    with simulator(Recording) as sim, ViduClient.for_simulator(sim) as client:
        poller, rows = follow(sim, client, tmp_path)
        assert_all_done(sim, rows)
        created = {row["task_id"]: sim.task_state(row["task_id"]).created_at for row in rows}
        assert len(sim.queries) == poller.stats.listings >= 1
        for q in sim.queries:
            ids = q["task_ids"]
            assert 2 <= len(ids) <= 100 and set(ids) <= set(created)
            assert q["states"] == ["success", "failed"]
            assert q["pager.pagesz"] == [str(len(ids))]
            since = datetime.fromisoformat(q["created_at.from"][0].replace("Z", "+00:00"))
            assert since.timestamp() <= min(created[i] for i in ids) - 3600
