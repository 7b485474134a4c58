"""Players and the comparison grid, without a browser: items, layout, byte transfer, escaping."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import ipywidgets
import pytest
from clips import pan_clip, texture

from vidu_nb.ui.compare import arrange, compare, show
from vidu_nb.ui.player import LOADER, PlayerCode, VideoGrid, _probed_fps, player_code
from vidu_nb.ui.rows import TaskView, is_loopback

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def row(i, prompt="a cat", seed=1, state="success", **kw):
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    base = {
        "task_id": f"t{i}",
        "state": state,
        "model": "viduq2-pro",
        "prompt": prompt,
        "seed": seed,
        "duration": 5,
        "resolution": "720p",
        "credits": 10,
        "submitted_at": t0,
        "finished_at": t0 + timedelta(seconds=42),
    }
    base.update(kw)
    return base


def test_grid_labels_only_the_varying_parameters():
    rows = [
        row(i, prompt=p, seed=s)
        for i, (p, s) in enumerate([(p, s) for p in ("a", "b", "c") for s in (1, 2)])
    ]
    grid = compare(rows)
    assert grid.cols == 3 and len(grid.items) == 6 and not grid.row_titles
    assert [i["label"] for i in grid.items[:2]] == [
        "\u201ca\u201d \u00b7 seed=1",
        "\u201ca\u201d \u00b7 seed=2",
    ]
    meta = grid.items[0]["meta"][0]
    assert "10 credits" in meta and "42 s" in meta and "success" in meta


def test_rows_and_cols_get_headers_and_cells_name_only_the_rest():
    rows = [
        row(i, prompt=p, seed=s, duration=d)
        for i, (p, s, d) in enumerate([(p, s, 4 + i) for i, p in enumerate("ab") for s in (1, 2)])
    ]
    grid = compare(rows, rows="prompt", cols="seed")
    assert grid.cols == 2 and len(grid.items) == 4
    assert grid.row_titles == ["\u201ca\u201d", "\u201cb\u201d"]
    assert grid.col_titles == ["seed=1", "seed=2"]
    assert [i["label"] for i in grid.items] == ["4 s", "4 s", "5 s", "5 s"]  # not prompt/seed
    same = compare(rows[:2], rows="prompt", cols="seed")
    assert [i["label"] for i in same.items] == ["", ""]  # the headers say it all
    by_seed = compare(rows, cols="seed")
    assert by_seed.row_titles == [] and by_seed.col_titles == ["seed=1", "seed=2"]


def test_layout_fills_missing_combinations_and_counts_columns():
    views = [TaskView(row(1, "a", 1)), TaskView(row(2, "b", 2))]
    plan = arrange(views, rows="prompt", cols="seed")
    assert plan.cols == 2 and len(plan.cells) == 4
    assert plan.cells[1] is None and plan.cells[2] is None
    assert arrange(views, cols=1).cols == 1 and not arrange(views, cols=1).col_titles
    assert arrange(views).cols == 2


def test_repeated_combinations_stack_under_one_row_header():
    views = [TaskView(row(i, "a", 1)) for i in range(2)] + [TaskView(row(3, "b", 1))]
    plan = arrange(views, rows="prompt", cols="seed")
    assert plan.row_titles == ["\u201ca\u201d", "", "\u201cb\u201d", ""]
    assert [c.task_id if c else None for c in plan.cells] == ["t0", "t1", "t3", None]


@pytest.mark.parametrize("rows, cols", [("prompt", "seed"), (None, None), (None, 2)])
def test_nothing_to_compare_gives_an_empty_grid_that_says_so(rows, cols):
    import pandas as pd

    empty = pd.DataFrame(columns=["task_id", "state", "prompt", "seed"])
    grid = compare(empty, rows=rows, cols=cols)
    assert grid.items == [] and "Nothing to compare" in grid.note
    assert compare([row(1)], grid=grid).note == ""  # reused with tasks: the note goes


def test_dataframe_input(tmp_path):
    import pandas as pd

    df = pd.DataFrame([row(1, seed=1), row(2, seed=2, credits=None)])
    grid = compare(df)
    assert [i["label"] for i in grid.items] == ["seed=1", "seed=2"]
    assert "credits: \u2014" in grid.items[1]["meta"][0]


def test_cached_video_is_sent_as_a_buffer_never_put_in_state(frontend, tmp_path):
    video = tmp_path / "t1.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000)
    cover = tmp_path / "t1.jpg"
    cover.write_bytes(b"\xff\xd8\xff" + b"y" * 100)
    grid = show(row(1, video_path=str(video), cover_path=str(cover), video_url="https://x/v.mp4"))
    item = grid.items[0]
    assert item["video_local"] and item["video_url"] == "" and item["poster_local"]
    assert "x" * 100 not in repr(grid.get_state())
    grid.comm.from_browser({"type": "fetch", "key": item["key"], "what": "video"})
    grid.comm.from_browser({"type": "fetch", "key": item["key"], "what": "poster"})
    (msg, bufs), (pmsg, pbufs) = grid.comm.sent
    assert msg == {"type": "blob", "key": item["key"], "what": "video", "mime": "video/mp4"}
    assert bufs == [video.read_bytes()]
    assert pmsg["mime"] == "image/jpeg" and pbufs == [cover.read_bytes()]


def test_remote_url_used_directly_unless_loopback(frontend, tmp_path):
    grid = show(
        row(1, video_url="https://cdn.example/v.mp4", cover_url="https://cdn.example/c.jpg")
    )
    assert grid.items[0]["video_url"] == "https://cdn.example/v.mp4"
    assert not grid.items[0]["video_local"]
    assert is_loopback("http://127.0.0.1:8000/v.mp4") and not is_loopback("https://a.b/")


def test_loopback_url_is_fetched_by_the_kernel(frontend, tmp_path):
    (tmp_path / "v.mp4").write_bytes(b"movie-bytes")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
        *a, directory=str(tmp_path), **k
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/v.mp4"
        grid = show(row(1, video_url=url))
        assert grid.items[0]["video_local"] and grid.items[0]["video_url"] == ""
        done = threading.Event()
        real = grid._send_blob
        grid._send_blob = lambda *a: (real(*a), done.set())
        grid.comm.from_browser({"type": "fetch", "key": grid.items[0]["key"], "what": "video"})
        assert done.wait(10)
        assert grid.comm.sent[0][1] == [b"movie-bytes"]
    finally:
        server.shutdown()


def test_unfinished_and_failed_tasks_have_no_source():
    grid = compare([row(1, state="processing"), row(2, state="failed", err_code="AuditFailed")])
    assert not grid.items[0]["video_local"] and grid.items[0]["video_url"] == ""
    assert grid.items[1]["meta"][-1].startswith("failed: AuditFailed")


def test_hostile_prompt_is_plain_text_in_state_and_escaped_in_html():
    grid = compare([row(1, prompt=HOSTILE), row(2, prompt="ok")])
    # Labels travel as plain text and the JS sets them with textContent (never innerHTML).
    assert HOSTILE[:40] in grid.items[0]["label"]
    js = PlayerCode._esm
    assert "innerHTML" not in js and "textContent" in js
    assert "innerHTML" not in VideoGrid._esm


@pytest.mark.parametrize("value", [float("nan"), None])
def test_missing_values_from_pandas(value):
    assert TaskView({"seed": value}).seed_text() == "seed: \u2014"


def test_grids_reference_one_shared_code_widget_and_carry_only_a_loader():
    a, b = show(row(1)), compare([row(2), row(3)])
    code = player_code()
    assert a.code is b.code is code and isinstance(code, PlayerCode)
    state = a.get_state()
    assert state["code"] == f"anywidget:{code.model_id}"  # anywidget's widget reference
    assert state["_esm"] == LOADER and len(LOADER) < 200
    assert "host.getWidget" in LOADER and 'get("code")' in LOADER
    assert not {"tabbable", "tooltip", "_view_count"} & state.keys()  # unused, never saved
    assert "render" in code._esm and ".vidu-player" in code._css
    assert repr(a) == "VideoGrid(1 player)" and repr(b) == "VideoGrid(2 players)"


def test_a_closed_code_widget_is_replaced():
    old = player_code()
    ipywidgets.Widget.close_all()
    grid = show(row(1))
    assert grid.code is player_code() is not old and grid.code.comm is not None


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_player_module_and_the_loader_parse(tmp_path):
    for name, code in (("player.mjs", PlayerCode._esm), ("loader.mjs", LOADER)):
        (tmp_path / name).write_text(code)
        done = subprocess.run(["node", "--check", str(tmp_path / name)], capture_output=True)
        assert done.returncode == 0, done.stderr.decode()


def test_show_of_several_tasks_is_one_grid_with_controls():
    grid = show([row(1, seed=1), row(2, seed=2), row(3, seed=3), row(4, seed=4)])
    assert grid.controls and grid.cols == 3 and len(grid.items) == 4
    assert [i["label"] for i in grid.items[:2]] == ["seed=1", "seed=2"]
    assert show(row(7)).items[0]["label"] == "t7"
    bare = show(row(7), label=False, meta=False).items[0]  # as inside a task card
    assert bare["label"] == "" and bare["meta"] == []


def test_each_player_knows_its_videos_frame_rate(tmp_path):
    """Measured (the log's ``video_fps``) first, else the cached file's header, else 24: the
    browser steps frames and corrects drift at that rate."""
    source = tmp_path / "source.png"
    texture(640, 240).save(source)
    clip30 = pan_clip(tmp_path / "c30.mp4", source, fps=30, seconds=0.5)
    (tmp_path / "text.mp4").write_text("not a video")
    rows = [
        row(1, video_fps=12.5, video_path=str(clip30)),  # the measure wins over the file
        row(2, video_path=str(clip30)),
        row(3, video_path=str(tmp_path / "gone.mp4")),
        row(4, video_path=str(tmp_path / "text.mp4")),  # not a video
        row(5, state="processing"),
    ]
    assert [item["fps"] for item in compare(rows).items] == [12.5, 30.0, 24.0, 24.0, 24.0]
    probes = _probed_fps.cache_info().misses
    assert show(rows[1]).items[0]["fps"] == 30.0
    assert _probed_fps.cache_info().misses == probes  # a file is probed once, not per drawing
