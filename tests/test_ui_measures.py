"""A grid cell shows the video's measures under its player once they are in the log."""

from __future__ import annotations

from clips import pan_clip, texture

from vidu_nb.client.task import Task
from vidu_nb.ui.player import meta_lines
from vidu_nb.ui.rows import TaskView


def test_meta_lines_show_the_measures_once_measured(log, tmp_path):
    texture(960, 240).save(tmp_path / "source.png")
    clip = pan_clip(tmp_path / "pan.mp4", tmp_path / "source.png", speed=48)
    log.update(Task(id="t1", state="success"))
    log.set_files("t1", clip)
    before = meta_lines(TaskView.of("t1", log))
    assert not any("motion" in line for line in before)
    found = log.measure("t1")
    lines = meta_lines(TaskView.of("t1", log))
    assert lines[:-1] == before and lines[-1] == found.label
    assert lines[-1] == f"motion {found.motion:.2f} \u00b7 flicker {found.flicker:.3f}"
    # the same from the log's DataFrame row (NaN where a measure is missing)
    assert meta_lines(TaskView.of(log.df.iloc[0]))[-1] == found.label
