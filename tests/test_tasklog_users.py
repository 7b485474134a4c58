"""Who did what: each row records who asked (``submitted_by``: JupyterHub's user, else the OS
user), kept when another kernel's poller sends or follows it; ``to_frame(user=...)`` and the
ledger's totals ``by="user"`` read it; the API key is still never stored."""

from __future__ import annotations

import getpass

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.ledger import Ledger
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog.users import current_user

pytestmark = pytest.mark.stores
IMAGE = make_image(96, 64)
KEY = "vda_" + "k3y" * 10


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def test_the_hub_user_comes_first_then_the_os_user():
    assert current_user({"JUPYTERHUB_USER": "ana"}) == "ana"
    assert current_user({"JUPYTERHUB_USER": "  "}) == getpass.getuser()
    assert current_user({}) == getpass.getuser()


def test_rows_say_who_asked_and_keep_it_whoever_sends_them(log, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    log.record_queued(req(0), "ana-1", owner="ana-kernel")
    log.record_submission(req(1), Task(id="t-ana", credits=10), experiment="e")
    monkeypatch.setenv("JUPYTERHUB_USER", "bo")
    log.record_submission(req(2), Task(id="t-bo", credits=4), experiment="e")
    # Bo's kernel took Ana's queued request over and sent it: it is still Ana's.
    assert log.start_sending("ana-1", "ana-kernel")
    log.record_submission(req(0), Task(id="t-ana-1", credits=6), client_ref="ana-1")
    log.record_uncertain(req(3), "bo-lost", "no answer")
    for tid, who in (("t-ana", "ana"), ("t-ana-1", "ana"), ("t-bo", "bo")):
        assert log.get(tid)["submitted_by"] == who
    assert log.get_by_ref("bo-lost")["submitted_by"] == "bo"
    log.update(Task(id="t-elsewhere", state="processing"))  # tracked by id: nobody asked here
    assert log.get("t-elsewhere")["submitted_by"] is None

    df = log.df
    assert df.set_index("task_id").loc["t-bo", "submitted_by"] == "bo"
    assert set(log.to_frame(user="ana")["task_id"]) == {"t-ana", "t-ana-1"}
    assert set(log.to_frame(user=["ana", "bo"])["client_ref"].dropna()) >= {"ana-1", "bo-lost"}
    with pytest.raises(ValidationError, match="user"):
        log.to_frame(user=3)

    for tid in ("t-ana", "t-ana-1", "t-bo"):
        log.update(Task(id=tid, state="success", credits=log.get(tid)["credits"]))
    ledger = Ledger(log)
    by_user = ledger.totals(by="user")
    assert by_user.loc["ana", "credits"] == 16 and by_user.loc["bo", "credits"] == 4
    assert ledger.total(user="bo") == 4


def test_the_key_is_stored_nowhere_the_user_is(log, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "ana")
    with (
        Simulator(speed=100, video_height=32, api_key=KEY) as sim,
        ViduClient.for_simulator(sim) as client,
        Poller(client, log, cache=False, measure=False) as poller,
    ):
        handle = poller.submit(req(5))
        assert poller.wait_all(60)
    assert log.get_by_ref(handle)["submitted_by"] == "ana"
    with log._store.read() as conn:
        rows = conn.rows("SELECT * FROM tasks") + conn.rows("SELECT * FROM events")
    assert rows and not any(KEY in str(v) for row in rows for v in row)
