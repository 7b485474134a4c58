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
