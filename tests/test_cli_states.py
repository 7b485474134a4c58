"""``vidu-nb log`` with states the service does not document: shown as stored, filterable by
their raw name, never a crash (``status`` against a simulator forcing them: test_poller_states)."""

from __future__ import annotations

import pytest

from vidu_nb.cli import EXIT, main
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.tasklog import TaskLog


@pytest.fixture
def logged(tmp_path, monkeypatch, png_bytes):
    path = tmp_path / "log.sqlite"
    monkeypatch.setenv("VIDU_LOG_PATH", str(path))
    request = Img2VideoRequest(image=png_bytes, prompt="fox", duration=1)
    with TaskLog(path) as log:
        for tid, state in (("t-sch", "scheduled"), ("t-odd", "Warming_Up"), ("t-can", "canceled")):
            log.record_submission(request, Task(id=tid, credits=20))
            log.update(Task(id=tid, state=state))
    return path


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_log_shows_unknown_states_as_stored(logged, capsys):
    code, out, _ = run(capsys, "log", "--columns", "task_id,state,credits")
    assert code == EXIT["ok"]
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert lines == {"t-sch": ["scheduled", "20"], "t-odd": ["Warming_Up", "20"],
                     "t-can": ["canceled", "0"]}  # fmt: skip


@pytest.mark.parametrize(
    ("asked", "expected"),
    [("scheduled", {"t-sch"}), ("warming_up", {"t-odd"}), ("CANCELED", {"t-can"}),
     ("preparation", set())],
)  # fmt: skip
def test_log_filters_by_any_state_present_or_named(logged, capsys, asked, expected):
    code, out, err = run(capsys, "log", "--state", asked, "--columns", "task_id")
    assert code == EXIT["ok"], err
    assert {line.strip() for line in out.splitlines()[1:]} == expected or (
        not expected and out.strip() == "(no tasks)"
    )


def test_log_refuses_a_state_neither_named_nor_present_listing_the_present_ones(logged, capsys):
    code, _, err = run(capsys, "log", "--state", "bogus")
    assert code == EXIT["usage"] and "bogus" in err and "Warming_Up" in err
