"""The ``vidu-nb`` command against a real simulator on loopback: outputs, log, exit codes."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from waiting import until

from vidu_nb import ViduClient
from vidu_nb.cli import EXIT, main
from vidu_nb.cli.lab import SimulatorProcess, find_notebook, lab_command, lab_environment
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

KEY = "sk-cli-test-DO-NOT-PRINT-7f3a"
SPEED = 50.0
SAMPLE = Path(__file__).resolve().parents[1] / "notebooks" / "sample.png"


@pytest.fixture(scope="module")
def sim():
    with Simulator(api_key=KEY, speed=SPEED, video_height=96) as server:
        yield server


@pytest.fixture
def env(sim, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
    monkeypatch.setenv("VIDU_API_KEY", KEY)
    monkeypatch.setenv("VIDU_SIM_SPEED", str(SPEED))
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    monkeypatch.delenv("VIDU_AUTH_SCHEME", raising=False)
    sim.faults.clear()
    yield tmp_path
    sim.faults.clear()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_submit_wait_records_progress_and_result(env, capsys):
    code, out, err = run(
        capsys, "submit", str(SAMPLE), "--prompt", "sunset", "--duration", "2",
        "--resolution", "540p", "--seed", "7", "--experiment", "cli", "--tag", "t1", "--wait",
        "--progress-every", "0.01",
    )  # fmt: skip
    assert code == EXIT["ok"], err
    task_id, url = out.split()
    assert url.startswith("http://127.0.0.1")
    assert "processing" in err and "success" in err and " s " in err  # states with elapsed
    assert "still waiting" not in err  # not a terminal: only state changes
    row = TaskLog(env / "log.sqlite").get(task_id)
    assert row["state"] == "success" and row["seed_requested"] == 7 and row["seed"] == 7
    assert row["experiment"] == "cli" and row["tags"] == ["t1"] and row["credits"] > 0


def test_submit_download_saves_the_video_and_logs_the_path(env, capsys):
    code, out, err = run(
        capsys, "submit", str(SAMPLE), "-p", "waves", "-d", "1", "-r", "540p",
        "--download", str(env / "videos"),
    )  # fmt: skip
    assert code == EXIT["ok"], err
    task_id, path = out.split()
    video = Path(path)
    assert video.parent == env / "videos" and video.read_bytes()[4:8] == b"ftyp"
    row = TaskLog(env / "log.sqlite").get(task_id)
    assert Path(row["video_path"]).resolve() == video.resolve()


def test_submit_without_wait_prints_the_id_then_status_and_log(env, capsys):
    code, out, _ = run(capsys, "submit", str(SAMPLE), "-p", "x", "-d", "1", "-r", "540p")
    assert code == 0
    task_id = out.strip()
    deadline = time.monotonic() + 20
    while True:
        code, out, _ = run(capsys, "status", task_id)
        if "success" in out or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert code == 0 and f"id:         {task_id}" in out and "state:      success" in out
    assert TaskLog(env / "log.sqlite").get(task_id)["state"] == "success"  # status updated it
    code, out, _ = run(capsys, "log", "--state", "success", "--columns", "task_id,state,credits")
    assert code == 0 and task_id in out and "credits" in out.splitlines()[0]


def test_submit_without_wait_refuses_the_in_process_simulator(tmp_path, capsys, monkeypatch):
    """No key, no base URL: the simulator would die with the command, and the task with it."""
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("VIDU_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
    code, out, err = run(capsys, "submit", str(SAMPLE), "-p", "x", "-d", "1")
    line = one_line_error(err)
    assert code == EXIT["usage"] and out == ""
    assert "--wait" in line and "vidu-nb simulator" in line and "VIDU_BASE_URL" in line
    assert not (tmp_path / "log.sqlite").exists()  # nothing sent, nothing recorded


def test_status_takes_model_and_seed_from_the_log_when_get_omits_them(env, capsys):
    code, out, _ = run(
        capsys, "submit", str(SAMPLE), "-p", "x", "-m", "viduq2-turbo", "-d", "1", "-r", "540p",
        "--seed", "7", "--wait",
    )  # fmt: skip
    task_id = out.split()[0]
    code, out, _ = run(capsys, "status", task_id)
    assert code == 0 and "model:      viduq2-turbo" in out and "seed:       7" in out
    code, out, _ = run(capsys, "status", task_id, "--json")
    info = json.loads(out)
    assert (info["model"], info["seed"]) == ("viduq2-turbo", 7)


def test_log_rejects_unknown_states_naming_the_allowed_ones(env, capsys):
    code, _, err = run(capsys, "log", "--state", "success", "--state", "bogus")
    line = one_line_error(err)
    assert code == EXIT["usage"] and "bogus" in line and "processing" in line
    assert "queued" in line and "cancelled" in line
    assert run(capsys, "log", "--state", "Success")[0] == EXIT["ok"]  # names are not case-bound


def test_log_export_csv_and_parquet_with_filters(env, capsys):
    for prompt, model in (("a", "viduq3-pro"), ("b", "viduq2-turbo")):
        args = ["submit", str(SAMPLE), "-p", prompt, "-m", model, "-d", "1", "-r", "720p"]
        assert run(capsys, *args, "--wait")[0] == 0
    code, _, err = run(capsys, "log", "--export", str(env / "all.csv"))
    assert code == 0 and "wrote 2 tasks" in err
    assert len(pd.read_csv(env / "all.csv")) == 2
    code, _, _ = run(capsys, "log", "--model", "viduq2-turbo", "--export", str(env / "q2.parquet"))
    frame = pd.read_parquet(env / "q2.parquet")
    assert code == 0 and list(frame["model"]) == ["viduq2-turbo"]
    code, out, _ = run(capsys, "log", "--limit", "1")
    assert code == 0 and "1 older tasks not shown" in out


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        (["-d", "99"], "duration"),
        (["-r", "4k"], "resolution"),
        (["-p", "x" * 5001], "prompt"),
        (["--seed", "-1"], "seed"),
        (["--callback-url", "ftp://x"], "callback_url"),
    ],
)
def test_bad_fields_exit_2_naming_field_and_limit(env, capsys, argv, field):
    code, _, err = run(capsys, "submit", str(SAMPLE), *argv)
    line = one_line_error(err)
    assert code == EXIT["usage"] and field in line
    assert len(line) < 300  # the 5001-char prompt is not echoed back whole
    assert not (env / "log.sqlite").exists()  # nothing was sent or recorded


def test_usage_errors_exit_2(env, capsys):
    assert run(capsys, "status")[0] == EXIT["usage"]
    assert run(capsys, "frobnicate")[0] == EXIT["usage"]
    assert run(capsys, "log", "--bogus")[0] == EXIT["usage"]
    code, _, err = run(capsys, "log", "--export", "out.json")
    assert code == EXIT["usage"] and ".csv or .parquet" in one_line_error(err)
    code, _, err = run(capsys, "submit", str(env / "missing.png"), "-p", "x")
    assert code == EXIT["usage"] and "image" in one_line_error(err)


def test_api_errors_exit_3_with_trace_id_and_no_key(env, capsys, monkeypatch):
    code, _, err = run(capsys, "status", "no-such-task")
    line = one_line_error(err)
    assert code == EXIT["api"] and "404" in line and "trace_id=" in line
    monkeypatch.setenv("VIDU_API_KEY", KEY + "-wrong")
    code, _, err = run(capsys, "submit", str(SAMPLE), "-p", "x")
    line = one_line_error(err)
    assert code == EXIT["api"] and "401" in line and "trace_id=" in line
    assert "-wrong" not in err
    # The refused submission is in the log as failed, without the key.
    row = TaskLog(env / "log.sqlite").to_frame().iloc[0]
    assert row["state"] == "failed"
    assert KEY not in (env / "log.sqlite").read_bytes().decode("latin-1")


def test_failed_task_exits_4_with_err_code(env, sim, capsys):
    sim.faults.add("task_failure", count=1, err_code="AuditSubmitIllegal")
    code, out, err = run(capsys, "submit", str(SAMPLE), "-p", "x", "-d", "1", "--wait")
    assert code == EXIT["failed"] and "AuditSubmitIllegal" in one_line_error(err)
    row = TaskLog(env / "log.sqlite").get(out.split()[0])
    assert row["state"] == "failed" and row["err_code"] == "AuditSubmitIllegal"
    code, out, _ = run(capsys, "status", row["task_id"])
    assert code == EXIT["failed"] and "AuditSubmitIllegal" in out


def test_wait_timeout_exits_5_and_cancel_marks_the_log(env, capsys):
    code, out, err = run(
        capsys, "submit", str(SAMPLE), "-p", "x", "-d", "16", "-r", "1080p", "--off-peak",
        "--wait", "--timeout", "0.3",
    )  # fmt: skip
    task_id = out.split()[0]
    assert code == EXIT["timeout"] and f"vidu-nb status {task_id}" in one_line_error(err)
    code, _, err = run(capsys, "cancel", task_id)
    assert code == 0 and "cancel requested" in err
    assert TaskLog(env / "log.sqlite").get(task_id)["state"] == "cancelled"


def test_debug_shows_the_traceback(env, capsys):
    code, _, err = run(capsys, "--debug", "status", "no-such-task")
    assert code == EXIT["api"] and "Traceback" in err


def test_wait_on_a_terminal_prints_elapsed_time_between_state_changes(sim, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env.update(VIDU_BASE_URL=sim.base_url, VIDU_API_KEY=KEY, VIDU_SIM_SPEED=str(SPEED),
               VIDU_LOG_PATH=str(tmp_path / "l"))  # fmt: skip
    cmd = [sys.executable, "-m", "vidu_nb.cli", "submit", str(SAMPLE), "-p", "x", "-d", "16",
           "-r", "540p", "--wait", "--progress-every", "0.1"]  # fmt: skip
    leader, follower = pty.openpty()  # stderr is a real terminal
    try:
        proc = subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=follower, timeout=60, check=False
        )
        os.close(follower)
        follower = -1
        err = b""
        while select.select([leader], [], [], 0.5)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    text = err.decode()
    assert proc.returncode == 0, text
    ticks = [line for line in text.splitlines() if "processing (still waiting)" in line]
    assert ticks, text
    assert KEY not in text


@pytest.mark.slow
def test_ctrl_c_during_wait_exits_130(sim, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env.update(VIDU_BASE_URL=sim.base_url, VIDU_API_KEY=KEY, VIDU_LOG_PATH=str(tmp_path / "l"))
    cmd = [sys.executable, "-m", "vidu_nb.cli", "submit", str(SAMPLE), "-p", "x", "-d", "16",
           "--off-peak", "--wait"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    task_id = proc.stdout.readline().strip()  # printed right after the submit
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT["interrupted"]
    assert task_id and f"vidu-nb status {task_id}" in err and "Traceback" not in err
    assert KEY not in out + err


def test_submit_killed_while_sending_leaves_a_row_resume_finds_its_task(sim, tmp_path):
    """The row is written before the POST: a kill mid-send loses nothing and resends nothing;
    resume finds the task the POST created in the service's task list."""
    log_path = tmp_path / "l.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDU_")}
    env.update(VIDU_BASE_URL=sim.base_url, VIDU_API_KEY=KEY, VIDU_LOG_PATH=str(log_path))
    sim.faults.add("slow", count=1, method="POST", delay=5.0)
    before = len(sim.engine.tasks())
    cmd = [sys.executable, "-m", "vidu_nb.cli", "submit", str(SAMPLE), "-p", "killed", "--wait"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline and state != "submitting":
            time.sleep(0.05)
            if log_path.exists():
                frame = TaskLog(log_path).to_frame()
                state = frame["state"].iloc[0] if len(frame) else None
        assert state == "submitting"
        assert until(lambda: len(sim.engine.tasks()) == before + 1)  # the POST arrived
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        sim.faults.clear()
    log = TaskLog(log_path)
    with pytest.warns(UserWarning, match="1 uncertain submission"):
        poller = Poller.resume(ViduClient(KEY, sim.base_url), log, cache=False)
    try:
        assert poller.wait_all(60)
    finally:
        poller.stop()
    (row,) = log.to_frame().itertuples()
    (created,) = [t for t in sim.engine.tasks() if t.fields["payload"] == row.client_ref]
    assert row.task_id == created.id and row.state == "success" and row.prompt == "killed"
    assert len(sim.engine.tasks()) == before + 1  # never resent
    log.close()


# -- lab and simulator ---------------------------------------------------------------------
def test_simulator_process_serves_and_stops():
    with SimulatorProcess(speed=20) as proc:
        assert proc.base_url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            proc.base_url + "/ent/v2/tasks/none/creations",
            headers={"Authorization": f"Token {proc.api_key}"},
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 404  # authenticated, answered by the simulator
        child = proc.proc
    assert child is not None and child.poll() is not None  # stopped on exit
    assert child.stdout is not None and child.stdout.closed  # no "unclosed file" at exit


def test_lab_command_and_environment(tmp_path):
    nb = tmp_path / "notebooks" / "quickstart.ipynb"
    nb.parent.mkdir()
    nb.write_text("{}")
    assert find_notebook(None, tmp_path) == nb
    cmd, root = lab_command(nb, ["--port", "9999"], as_root=True)
    assert root == tmp_path and "--LabApp.default_url=/lab/tree/notebooks/quickstart.ipynb" in cmd
    assert "--allow-root" in cmd and cmd[cmd.index("--port") + 1] == "9999"
    env = lab_environment(
        {"PATH": "/bin"},
        base_url="http://127.0.0.1:1",
        api_key="k",
        log_path=tmp_path / "l",
        speed=7.5,
    )
    assert env["VIDU_BASE_URL"] == "http://127.0.0.1:1" and env["VIDU_API_KEY"] == "k"
    assert env["VIDU_SIM_SPEED"] == "7.5"
    assert env["VIDU_LOG_PATH"] == str(tmp_path / "l")
    keep = lab_environment({"VIDU_API_KEY": "real"}, log_path=tmp_path / "l")
    assert keep["VIDU_API_KEY"] == "real" and "VIDU_BASE_URL" not in keep


@pytest.mark.slow
def test_lab_starts_jupyterlab_with_a_simulator_and_stops_both(tmp_path):
    from jupyter_harness import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDU_", "JUPYTER_"))}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    cmd = [sys.executable, "-m", "vidu_nb.cli", "lab", "--no-browser", "--port", str(port),
           "--ServerApp.token=", "--ip", "127.0.0.1", "--sim-speed", "20"]  # fmt: skip
    repo = SAMPLE.parents[1]
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    banner = []
    try:
        for line in proc.stderr:
            banner.append(line)
            if "task log:" in line:
                break
        text = "".join(banner)
        assert "local simulator at http://127.0.0.1:" in text and "no credits" in text
        sim_url = text.split("local simulator at ")[1].split()[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("JupyterLab did not answer")
        proc.send_signal(signal.SIGTERM)
        _, rest = proc.communicate(timeout=30)
        assert "unclosed" not in rest and "Traceback" not in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    with pytest.raises(OSError):  # the simulator went away with JupyterLab
        urllib.request.urlopen(sim_url + "/ent/v2/tasks/x/creations", timeout=2)
