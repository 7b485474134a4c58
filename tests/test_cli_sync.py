"""``vidu-nb sync`` against a real simulator on loopback: imports tasks created elsewhere,
prints its summary on stdout, exit codes as the other commands."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest
from conftest import make_image

from vidu_nb.cli import EXIT, main
from vidu_nb.cli.sync import parse_when
from vidu_nb.client import ViduClient
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.tasklog import TaskLog

KEY = "sk-cli-sync-DO-NOT-PRINT-41"


@pytest.fixture
def sim():
    with Simulator(api_key=KEY, speed=100, video_height=64, seed=8) as server:
        yield server


@pytest.fixture
def env(sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
    monkeypatch.setenv("VIDU_API_KEY", KEY)
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    monkeypatch.delenv("VIDU_AUTH_SCHEME", raising=False)
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err and "Traceback" not in err
    return code, out, err


def elsewhere(sim, count: int) -> list[str]:
    request = Img2VideoRequest(image=make_image(160, 120), prompt="console", duration=1)
    with ViduClient.for_simulator(sim) as client:
        return [client.submit(request).id for _ in range(count)]


def test_sync_imports_then_updates(env, sim, capsys):
    ids = elsewhere(sim, 2)
    code, out, err = run(capsys, "sync")
    assert code == EXIT["ok"], err
    assert out.strip() == "added=2 updated=0 reconciled=0 listed=2"
    assert "2 added" in err and "UTC" in err
    with TaskLog(env / "log.sqlite") as log:
        assert sorted(log.df["task_id"]) == sorted(ids)
        assert set(log.df["source"]) == {"imported"}
    code, out, _ = run(capsys, "sync", "--since", "1h")
    assert code == EXIT["ok"] and out.strip() == "added=0 updated=2 reconciled=0 listed=2"
    code, out, _ = run(capsys, "log", "--columns", "task_id,source")
    assert code == EXIT["ok"] and out.count("imported") == 2


def test_sync_window_options(env, sim, capsys, tmp_path):
    (old,) = elsewhere(sim, 1)
    sim.set_created_at(old, datetime.now(timezone.utc) - timedelta(days=3))
    other = tmp_path / "other.sqlite"
    assert run(capsys, "sync", "--since", "2d", "--log", str(other))[1].startswith("added=0")
    code, out, _ = run(capsys, "sync", "--since", "4d", "--until", "1d", "--log", str(other))
    assert code == EXIT["ok"] and out.startswith("added=1")
    iso = (datetime.now(timezone.utc) - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S")
    assert run(capsys, "sync", "--since", iso, "--log", str(other))[1].startswith("added=0 upd")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--since", "last week"], "--since=last week"),
        (["--until", "soon"], "--until=soon"),
        (["--since", "1d", "--until", "2d"], "is before"),
    ],
)
def test_sync_bad_options_exit_2_naming_them(env, sim, capsys, argv, named):
    code, out, err = run(capsys, "sync", *argv)
    assert code == EXIT["usage"] and out == "" and named in err
    assert sim.count() == 0 and not (env / "log.sqlite").exists()


def test_sync_without_a_service_says_what_to_set(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("VIDU_")]:
        monkeypatch.delenv(name)
    code, _, err = run(capsys, "sync")
    assert code == EXIT["usage"] and "VIDU_API_KEY" in err and "VIDU_BASE_URL" in err


def test_sync_api_errors_exit_3(env, sim, capsys, monkeypatch):
    monkeypatch.setenv("VIDU_API_KEY", "wrong-key")
    code, _, err = run(capsys, "sync")
    assert code == EXIT["api"] and "Unauthorized" in err


def test_sync_on_a_folder_log_exit_2(env, capsys, tmp_path):
    code, _, err = run(capsys, "sync", "--log", str(tmp_path))
    assert code == EXIT["usage"] and "folder" in err


def test_parse_when_spans_and_iso():
    now = datetime(2025, 6, 10, 12, 0, tzinfo=timezone.utc)
    assert parse_when("--since", "7d", now) == now - timedelta(days=7)
    assert parse_when("--since", "90m", now) == now - timedelta(minutes=90)
    assert parse_when("--since", "2025-06-01", now) == datetime(2025, 6, 1, tzinfo=timezone.utc)
    when = parse_when("--since", "2025-06-01T10:00+02:00", now)
    assert when == datetime(2025, 6, 1, 8, tzinfo=timezone.utc)
