"""The composition root: ``Workspace`` wires a client, the task log, its cache and a poller from
configuration or from parts given, makes each on first use, and closes only what it made.
``Poller.submit`` returns a typed ``Submission``. Real simulator on loopback, real files."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import pytest
from conftest import make_image
from waiting import until, wait_for

from vidu_nb import ValidationError, ViduClient, Workspace
from vidu_nb.client import config
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller, Submission
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import Img2VideoForm
from vidu_nb.ui.session import Session

IMAGE = make_image(160, 120)


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


@pytest.fixture
def sim():
    with Simulator(speed=100, video_height=64, seed=5) as s:
        yield s


@pytest.fixture
def env(sim, tmp_path, monkeypatch):
    """The configuration a notebook reads: the simulator's address and key, a log path."""
    for name in ("VIDU_API_KEY", "VIDU_BASE_URL", "VIDU_AUTH_SCHEME", "VIDU_SIM_SPEED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
    monkeypatch.setenv("VIDU_API_KEY", sim.api_key)
    monkeypatch.setenv("VIDU_SIM_SPEED", "100")
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "env.sqlite"))
    return tmp_path


def pollers_running() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "vidu-poller")


def test_from_env_wires_the_configured_parts_and_starts_the_poller_on_first_use(sim, env):
    before = pollers_running()
    with Workspace.from_env(max_running=2) as ws:
        assert ws.client.base_url == sim.base_url and ws.log.path == env / "env.sqlite"
        assert not ws.has_poller and pollers_running() == before  # looking starts nothing
        assert sim.api_key not in repr(ws) and "not started" in repr(ws)
        sub = ws.submit(req(1), experiment="ws")
        assert ws.poller.max_running == 2 and pollers_running() == before + 1
        assert ws.poller.wait_all(30)
        row = sub.row()
        assert row is not None and row["state"] == "success" and row["experiment"] == "ws"
        assert ws.cache is ws.poller.cache and ws.cache is not None
        assert until(lambda: ws.cache.cached(sub.task_id())[0] is not None)
        assert ws.cache.folder == ws.log.cache_dir
        log = ws.log
    assert pollers_running() == before  # the poller it started is stopped
    with pytest.raises(Exception, match="closed"):
        log.get(row["task_id"])  # and the log it opened is closed
    with pytest.raises(ValidationError, match="workspace"):
        ws.submit(req(2))


def test_the_first_use_of_the_poller_resumes_the_log(sim, env):
    """What a stopped kernel left queued is sent once by the next workspace's poller."""
    with ViduClient.for_simulator(sim) as client, TaskLog(env / "env.sqlite") as log:
        earlier = Poller(client, log, cache=False)  # never started: its request stays queued
        handle = earlier.submit(req(3))
        earlier.stop()
        assert log.get_by_ref(handle)["state"] == "queued" and sim.count("POST") == 0
    with Workspace.from_env(cache=False) as ws:
        assert ws.poller.wait_all(30)
        assert ws.log.get_by_ref(handle)["state"] == "success"
    assert sim.count("POST", "/img2video") == 1


def test_given_parts_are_used_as_they_are_and_left_open(sim, tmp_path):
    with ViduClient.for_simulator(sim) as client, TaskLog(tmp_path / "mine.sqlite") as log:
        poller = Poller(client, log, cache=False)
        with Workspace(poller=poller) as ws:
            assert ws.client is client and ws.log is log and ws.poller is poller
            assert ws.cache is None  # the poller was given without one
            sub = ws.submit(req(4))
            assert poller.wait_all(30) and sub.state() == "success"
        assert log.get_by_ref(sub)["state"] == "success"  # the log is still open
        assert poller.submit(req(5)) and poller.wait_all(30)  # and the poller still runs
        poller.stop()


def test_a_submission_is_its_client_ref_with_its_row(sim, tmp_path):
    with (
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "t.sqlite") as log,
        Workspace(client, log, poller_settings={"cache": False}) as ws,
    ):
        first, second = ws.submit_many([req(6), req(7)], experiment="pair")
        assert isinstance(first, Submission) and isinstance(first, str)
        row = first.row()
        assert row["client_ref"] == first and first.client_ref == row["client_ref"]
        assert type(first.client_ref) is str and first.row_id == row["row_id"]
        assert second.row_id != first.row_id
        assert {first: 1}[row["client_ref"]] == 1  # hashes like its text
        assert ws.poller.wait_all(30)
        assert first.task_id() == ws.poller.task_id(first) == first.row()["task_id"]
        assert first.state() == "success"
        assert repr(first) == f"Submission({first.client_ref!r}, row_id={first.row_id})"
        with pytest.raises(AttributeError, match="read-only"):
            first.row_id = 0  # type: ignore[misc]
        copied = pickle.loads(pickle.dumps(first))
        assert copied == first and type(copied) is str  # the log stays in this process


def test_bad_arguments_name_themselves(tmp_path):
    with pytest.raises(ValidationError, match="log_path"):
        Workspace(log=object(), log_path=tmp_path / "x.sqlite")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="log_path"):
        Workspace(log_path=5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="poller_settings"):
        Workspace(poller_settings=["cache"])  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="poller_settings"):
        Workspace(poller=object(), poller_settings={"max_running": 1})  # type: ignore[arg-type]
    ws = Workspace(log_path=tmp_path / "x.sqlite")
    with pytest.raises(ValidationError, match="workspace"):
        Session(log=object(), workspace=ws)
    with pytest.raises(ValidationError, match="workspace"):
        Session(workspace="ws")  # type: ignore[arg-type]
    assert not (tmp_path / "x.sqlite").exists()  # nothing was opened


def test_the_form_uses_the_workspace_it_is_given(sim, tmp_path, frontend):
    with (
        ViduClient.for_simulator(sim) as client,
        TaskLog(tmp_path / "f.sqlite") as log,
        Workspace(client, log, poller_settings={"cache": False}) as ws,
    ):
        form = Img2VideoForm(workspace=ws)
        assert form.session.workspace is ws and form.session.client is client
        form.state.image_data = IMAGE
        form.state.model, form.state.duration = "viduq2-turbo", 1
        card = form.submit()
        assert card is not None and isinstance(card.handle, Submission)
        assert form.session.poller is ws.poller and ws.poller.wait_all(30)
        assert wait_for(lambda: card.task_id) == ws.poller.task_id(card.handle)


def test_the_client_layer_reaches_the_simulator_only_through_the_default_server(sim, monkeypatch):
    """The slot ``workspace`` fills: a provider given here serves ``ViduClient()``, none means a
    clear error, and a client with a key never loads the simulator package."""
    for name in ("VIDU_API_KEY", "VIDU_BASE_URL", "VIDU_AUTH_SCHEME"):
        monkeypatch.delenv(name, raising=False)
    previous = config.set_default_server(lambda: sim)
    try:
        with ViduClient(None, None) as c:
            assert c.base_url == sim.base_url and c.is_simulated
        config.set_default_server(None)
        with pytest.raises(ValidationError, match="api_key") as caught:
            ViduClient(None, None)
        assert "VIDU_API_KEY" in str(caught.value)
    finally:
        config.set_default_server(previous)
    code = (
        "import sys, vidu_nb\n"
        "c = vidu_nb.ViduClient('k', 'https://api.vidu.com')\n"
        "print(sorted(m for m in sys.modules if m.startswith('vidu_nb.simulator')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
