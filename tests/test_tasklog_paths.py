"""Where the task log and its files live. A log opened by a relative
path keeps its files next to it when the notebook changes folder (``%cd``); paths with spaces,
unicode and URL characters work; a file that is not SQLite is refused and left untouched.
Real simulator, real files, real SQLite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import make_image

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.client.timing import history
from vidu_nb.errors import TaskLogError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

IMAGE = make_image(160, 120)


def req(i: int = 0) -> Img2VideoRequest:
    return Img2VideoRequest(image=IMAGE, prompt=f"shot {i}", seed=i, duration=1)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_a_relative_log_keeps_its_files_next_to_it_after_the_notebook_changes_folder(
    tmp_path, monkeypatch
):
    home, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(home)
    with (
        Simulator(speed=100, video_height=64, seed=5) as sim,
        ViduClient.for_simulator(sim) as client,
        TaskLog("runs.sqlite") as log,  # a relative path, as in a notebook
        Poller(client, log) as poller,
    ):
        monkeypatch.chdir(elsewhere)  # `%cd` after opening the log
        handle = poller.submit(req(1))
        assert poller.wait_all(60)
        row = log.get_by_ref(handle)
        assert row is not None and row["state"] == "success"
        assert Path(row["video_path"]).is_file() and Path(row["thumbnail_path"]).is_file()
        assert Path(row["video_path"]).is_absolute()
    assert files_under(elsewhere) == []  # nothing was written in the new working folder
    cache = home / "runs_cache"
    assert (cache / Path(row["video_path"]).name).is_file()
    # opened again from yet another folder, by an absolute path: the same files
    with TaskLog(home / "runs.sqlite") as again:
        assert Path(again.get_by_ref(handle)["video_path"]).samefile(row["video_path"])


@pytest.mark.parametrize("name", ["my runs/été 日本 ?#%&.sqlite", "a b/c d.sqlite"])
def test_log_paths_with_spaces_unicode_and_url_characters(tmp_path, name):
    path = tmp_path / name
    with TaskLog(path) as log:
        log.record_submission(req(), Task(id="t1"))
        log.update(Task(id="t1", state="processing"))
        log.update(Task(id="t1", state="success", credits=7))
        assert log.integrity_check() == "ok"
        assert Path(log.get("t1")["thumbnail_path"]).is_file()
    with TaskLog(path) as log:
        assert log.get("t1")["credits"] == 7
        assert [key for key, _ in history(log.timing_history())] == [
            ("viduq3-pro", "720p", 1, False)
        ]


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "results.sqlite"
    content = b"task_id,state\nabc,success\n" * 50
    path.write_bytes(content)
    with pytest.raises(TaskLogError, match=r"results\.sqlite is not a vidu-nb task log"):
        TaskLog(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.sqlite"]  # no -wal, no -shm
    os.remove(path)


def test_one_log_whatever_the_working_folder(tmp_path):
    """The default log is the project's: a kernel started in ``notebooks/`` (plain
    ``jupyter notebook`` there) wrote a second log next to the notebooks, before."""
    import subprocess
    import sys

    from vidu_nb.tracking.tasklog import default_log_path

    project = tmp_path / "project"
    (project / "notebooks" / "deeper").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    env = {k: v for k, v in os.environ.items() if k != "VIDU_LOG_PATH"}
    env.update(PYTHONPATH=str(Path(__file__).resolve().parents[1]), HOME=str(tmp_path / "home"))
    env.pop("XDG_DATA_HOME", None)
    opened = []
    for folder in (project, project / "notebooks", project / "notebooks" / "deeper"):
        out = subprocess.run(  # a fresh process, as a kernel is
            [sys.executable, "-c", "from vidu_nb.tracking.tasklog import TaskLog; print(TaskLog().path)"],
            cwd=folder, env=env, capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        opened.append(Path(out.stdout.strip()))
    assert opened == [project / "vidu_tasks.sqlite"] * 3
    assert [p.name for p in files_under(project / "notebooks")] == []  # no second log
    # A .git marks a root too; without any marker, an existing log up the tree is used,
    # else the user's data folder; VIDU_LOG_PATH wins over all of it.
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert default_log_path(repo / "sub", {}) == repo / "vidu_tasks.sqlite"
    loose = tmp_path / "loose"
    (loose / "a" / "b").mkdir(parents=True)
    data = {"XDG_DATA_HOME": str(tmp_path / "data")}
    if sys.platform.startswith("linux"):
        expected = tmp_path / "data" / "vidu-nb" / "vidu_tasks.sqlite"
        assert default_log_path(loose / "a" / "b", data) == expected
    (loose / "vidu_tasks.sqlite").write_bytes(b"")
    assert default_log_path(loose / "a" / "b", data) == loose / "vidu_tasks.sqlite"
    mine = {"VIDU_LOG_PATH": str(tmp_path / "mine.sqlite"), **data}
    assert default_log_path(project / "notebooks", mine) == tmp_path / "mine.sqlite"
