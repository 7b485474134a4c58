"""Bad input to the task log and the poller is refused with a ``ViduError`` naming the argument,
before anything is read, written or sent (the simulator counts requests: none)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import TaskLogError, ValidationError, ViduError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

pytestmark = pytest.mark.stores

REQUEST = Img2VideoRequest(image=make_image(160, 120), prompt="p", duration=1)


@pytest.fixture(scope="module")
def sim():
    with Simulator(speed=100, video_height=64) as s:
        yield s


@pytest.fixture
def client(sim):
    with ViduClient.for_simulator(sim) as c:
        yield c


def test_a_folder_as_log_path_names_the_path(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    with pytest.raises(TaskLogError, match=r"logs is a folder; give a file such as .*logs/"):
        TaskLog(folder)
    assert list(folder.iterdir()) == []


def test_a_log_path_that_cannot_be_created_names_the_path(tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")
    with pytest.raises(TaskLogError, match=r"plain-file/log\.sqlite"):
        TaskLog(blocker / "log.sqlite")  # its folder would be a file


@pytest.mark.parametrize("path", [123, b"bytes.sqlite", ["log.sqlite"]])
def test_a_log_path_of_the_wrong_type_is_named(path):
    with pytest.raises(ValidationError, match="path="):
        TaskLog(path)  # type: ignore[arg-type]


def test_update_wants_a_task_and_says_how_to_follow_an_id(log):
    with pytest.raises(ValidationError, match=r"task='task-id-string'.*poller\.track"):
        log.update("task-id-string")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="task="):
        log.update({"id": "t1", "state": "success"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="task.id"):
        log.update(Task(id=""))
    with pytest.raises(ValidationError, match="error="):
        log.update(Task(id="t1"), error=42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="task="):
        log.record_submission(REQUEST, "t1")  # type: ignore[arg-type]
    assert len(log) == 0


def test_reconcile_checks_its_arguments_before_asking_the_service(log, client, sim):
    before = sim.count()
    with pytest.raises(ValidationError, match="client_ref="):
        log.reconcile(None, "t1")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="client_ref="):
        log.reconcile("  ", "t1")
    with pytest.raises(ValidationError, match="task_or_id=123"):
        log.reconcile("vidu-nb:x", 123)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="task_or_id=''"):
        log.reconcile("vidu-nb:x", "", client)
    with pytest.raises(ValidationError, match="client="):
        log.reconcile("vidu-nb:x", "t1", "not a client")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="body="):
        log.reconcile_from_callback(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="not JSON"):
        log.reconcile_from_callback("{not json")
    with pytest.raises(ValidationError, match="JSON object"):
        log.reconcile_from_callback("[1, 2]")
    assert sim.count() == before  # nothing was asked of the service


def test_frame_filters_of_the_wrong_type_are_named(log):
    log.update(Task(id="t1", state="success"))
    for kwargs, field in [
        ({"experiment": 3}, "experiment="),
        ({"state": 5}, "state="),
        ({"state": ["success", None]}, "state="),
        ({"model": {"a": 1}}, "model="),
        ({"since": "yesterday"}, "since='yesterday'"),
        ({"until": object()}, "until="),
        ({"since": True}, "since="),
        ({"tag": 7}, "tag="),
        ({"columns": "state"}, "columns="),
        ({"columns": ["state", "nope"]}, "no such column.*nope"),
    ]:
        with pytest.raises(ValidationError, match=field):
            log.to_frame(**kwargs)
    good = log.to_frame(state="success", since=datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert list(good["task_id"]) == ["t1"]
    assert len(log.to_frame(since="2000-01-01")) == 1


def test_tag_and_set_state_name_their_arguments(log):
    log.update(Task(id="t1"))
    with pytest.raises(ValidationError, match="task_id="):
        log.tag(None, tags=["x"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="state="):
        log.set_state("t1", None)  # type: ignore[arg-type]


def test_poller_arguments_are_named(client, log):
    with pytest.raises(ValidationError, match="client=None"):
        Poller(None, log)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="client="):
        Poller("http://service", log)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="log="):
        Poller(client, "tasks.sqlite")  # type: ignore[arg-type]
    for kwargs, field in [
        ({"max_running": "5"}, "max_running="),
        ({"max_running": True}, "max_running="),
        ({"http_workers": 0}, "http_workers="),
        ({"download_workers": 2.5}, "download_workers="),
        ({"cache": "folder"}, "cache="),
    ]:
        with pytest.raises(ValidationError, match=field):
            Poller(client, log, **kwargs)  # type: ignore[arg-type]


def test_submit_and_submit_many_refuse_what_is_not_a_request(client, log, sim):
    before = sim.count()
    poller = Poller(client, log, cache=False)
    try:
        with pytest.raises(ValidationError, match="request=.*not dict"):
            poller.submit({"image": "x.png"})  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="submit_many"):
            poller.submit([REQUEST])  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="requests='x'.*not str"):
            poller.submit_many("x")  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"requests=.*use submit\(\)"):
            poller.submit_many(REQUEST)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="requests=5"):
            poller.submit_many(5)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match=r"requests\[1\]"):
            poller.submit_many([REQUEST, "x"])  # type: ignore[list-item]
        with pytest.raises(ValidationError, match="experiment="):
            poller.submit(REQUEST, experiment=1)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="tags="):
            poller.submit(REQUEST, tags=[1])  # type: ignore[list-item]
        with pytest.raises(ValidationError, match="notes="):
            poller.submit(REQUEST, notes=None)  # type: ignore[arg-type]
        assert poller.submit_many(r for r in [REQUEST]) and len(log) == 1  # any iterable
        assert poller.submit(REQUEST, tags=(t for t in ["a", "b"]))
        assert log.df["tags"].iloc[-1] == "a,b"
    finally:
        poller.stop()
    assert sim.count() == before  # never started: nothing sent
    assert issubclass(ValidationError, ViduError)
