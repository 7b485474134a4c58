"""Frame-accurate review in a real Chromium: frame steps at each clip's own frame rate, cells
kept within a frame of each other while playing (measured with requestVideoFrameCallback), a
loop range that wraps, solo and mute per cell, one playback rate for all, the keys' legend.

Rendered like ``test_ui_grid`` (the shared ``PlayerCode`` and a grid's loader in a blank page);
the clips are the simulator's real H.264 files, encoded at known frame rates.
"""

from __future__ import annotations

import itertools
import json

import nbformat
import pytest

from vidu_nb.simulator.video import encode

from .grid_page import clip, items, png, render
from .lab_page import open_notebook, run_all_cells

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EPS = 1e-4  # the player seeks this far inside a frame (player.js); Chromium keeps whole µs
VIDEOS = "g => [...document.querySelectorAll(`#${g} video`)]"
READY = f"g => ({VIDEOS})(g).every(v => v.readyState >= 2)"
SETTLED = f"g => ({VIDEOS})(g).every(v => !v.seeking && v.readyState >= 2)"
TIMES = f"g => ({VIDEOS})(g).map(v => v.currentTime)"
MUTED = f"g => ({VIDEOS})(g).map(v => v.muted)"
PRESSED = """([g, what]) => [...document.querySelectorAll(`#${g} .vidu-player-${what}`)]
  .map((b) => b.getAttribute("aria-pressed"))"""
SEEK = """([g, value]) => {
  const s = document.querySelector(`#${g} .vidu-grid-seek`);
  s.value = value;
  s.dispatchEvent(new Event("input"));
  s.dispatchEvent(new Event("change"));
}"""
#: Every presented frame of every video ([expectedDisplayTime, mediaTime]), and at each frame
#: of the first video (the leader: the grids here have clips of one length) every video's
#: currentTime; both from requestVideoFrameCallback.
RECORD = f"""g => {{
  const vids = ({VIDEOS})(g);
  const rec = window.rec = {{frames: vids.map(() => []), times: [], marks: []}};
  vids.forEach((v, i) => {{
    const tick = (now, m) => {{
      rec.frames[i].push([m.expectedDisplayTime, m.mediaTime]);
      if (i === 0) rec.times.push(vids.map((x) => x.currentTime));
      v.requestVideoFrameCallback(tick);
    }};
    v.requestVideoFrameCallback(tick);
  }});
}}"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Simulator clips of known frame rates: 3 s at 24 fps in two looks, 3 s at 30 and 12 fps."""
    folder = tmp_path_factory.mktemp("review-clips")
    return {
        "24a": clip(folder, 3.0, fps=24),
        "24b": clip(folder, 3.0, fps=24, color=(40, 120, 200)),
        "30": clip(folder, 3.0, fps=30, color=(90, 200, 90)),
        "12": clip(folder, 3.0, fps=12, color=(200, 60, 160)),
    }


def grid_of(page, urls, fps):
    grid = render(page, items(len(urls), urls, fps=fps), len(urls))
    page.wait_for_function(READY, arg=grid)
    page.focus(f"#{grid} .vidu-grid-root")  # its keys work once it has the focus
    return grid


def settle(page, grid):
    page.wait_for_function(SETTLED, arg=grid)


def circular(a: float, b: float, length: float) -> float:
    """How far apart two moments of clips that loop every ``length`` seconds are."""
    d = abs(a - b) % length
    return min(d, length - d)


def test_frame_steps_move_each_cell_by_one_frame_at_its_own_rate(page, clips):
    fps = [24, 30, 12]
    grid = grid_of(page, [clips["24a"], clips["30"], clips["12"]], fps)
    page.evaluate(RECORD, grid)
    for k in (1, 2, 3):
        page.keyboard.press(".")
        settle(page, grid)
        assert page.evaluate(TIMES, grid) == pytest.approx([k / f + EPS for f in fps], abs=5e-6)
    page.click(f"#{grid} .vidu-grid-prev")  # the button does what "," does
    settle(page, grid)
    times = page.evaluate(TIMES, grid)
    assert times == pytest.approx([2 / f + EPS for f in fps], abs=5e-6)
    # The frame on screen is that frame: its presentation time (mediaTime) is 2/fps.
    page.wait_for_function(
        "fps => window.rec.frames.every((f, i) => f.length"
        " && Math.abs(f[f.length - 1][1] - 2 / fps[i]) < 1e-3)",
        arg=fps,
    )
    page.keyboard.press(",")
    page.keyboard.press(",")
    page.keyboard.press(",")  # no frame before the first
    settle(page, grid)
    assert page.evaluate(TIMES, grid) == pytest.approx([EPS] * 3, abs=5e-6)
    assert page.evaluate(f"window.{grid}.get('playing')") is False


def test_a_frame_step_pauses_playback(page, clips):
    grid = grid_of(page, [clips["24a"], clips["24b"]], [24, 24])
    page.keyboard.press(" ")
    page.wait_for_function(
        f"g => ({VIDEOS})(g).every(v => !v.paused && v.currentTime > 0.2)", arg=grid
    )
    page.keyboard.press(".")
    settle(page, grid)
    assert page.evaluate(f"g => ({VIDEOS})(g).map(v => v.paused)", grid) == [True, True]
    a, b = page.evaluate(TIMES, grid)
    assert a == pytest.approx(b, abs=5e-6)  # the same frame: both were in step when paused
    assert (a - EPS) * 24 == pytest.approx(round((a - EPS) * 24), abs=1e-3)  # a frame's start


def test_space_on_a_focused_button_toggles_once(page, clips):
    """Space is the grid's play/pause, not also a click of the button that has the focus."""
    grid = grid_of(page, [clips["24a"], clips["24b"]], [24, 24])
    playing = f"window.{grid}.get('playing')"
    page.click(f"#{grid} .vidu-grid-play")
    assert page.evaluate(playing) is True
    page.keyboard.press(" ")  # the Play button has the focus
    assert page.evaluate(playing) is False
    page.click(f"#{grid} .vidu-grid-next")
    page.keyboard.press(" ")  # a click of the frame button would have paused again
    assert page.evaluate(playing) is True


def sync_figures(page, length: float, skip: int) -> dict:
    """How far apart the cells were, from ``RECORD``'s samples after the first ``skip`` leader
    frames: the widest spread of their currentTimes at a leader frame, and of the frames they
    put on screen at one display refresh (frames with the same expectedDisplayTime; a refresh
    where one video's callback did not run, as under load, is not compared)."""
    rec = page.evaluate("window.rec")
    times = rec["times"][skip:]
    spread = max(circular(a, b, length) for row in times for a, b in itertools.combinations(row, 2))
    since = rec["frames"][0][skip][0]
    refreshes: dict[float, list[float]] = {}
    for frames in rec["frames"]:
        for when, media in frames:
            if when >= since:
                refreshes.setdefault(when, []).append(media)
    shared = [shown for shown in refreshes.values() if len(shown) > 1]
    apart = max(
        (circular(a, b, length) for shown in shared for a, b in itertools.combinations(shown, 2)),
        default=0.0,
    )
    return {
        "leader_frames": len(times),
        "currentTime_max_ms": round(spread * 1000, 2),
        "refreshes_compared": len(shared),
        "shown_max_ms": round(apart * 1000, 2),
    }


def test_playing_cells_stay_within_one_frame_of_each_other(page, clips):
    """Four cells (24 fps) play for about 4 s, through a loop: at every frame the leader
    presents, the cells' currentTimes and the frames on screen are within one frame."""
    urls = [clips["24a"], clips["24b"], clips["24a"], clips["24b"]]
    grid = grid_of(page, urls, [24] * 4)
    page.evaluate(RECORD, grid)
    page.keyboard.press(" ")
    page.wait_for_function("() => window.rec.times.length > 100", timeout=20_000)
    figures = sync_figures(page, 3.0, skip=6)  # a few frames to start up
    print("sync:", json.dumps(figures))
    assert figures["leader_frames"] > 90 and figures["refreshes_compared"] > 30, figures
    assert figures["currentTime_max_ms"] <= 1000 / 24, figures
    assert figures["shown_max_ms"] <= 1000 / 24 + 1, figures


def test_a_cell_that_falls_out_of_step_is_brought_back(page, clips):
    grid = grid_of(page, [clips["24a"], clips["24b"], clips["24a"]], [24] * 3)
    page.evaluate(RECORD, grid)
    page.keyboard.press(" ")
    page.wait_for_function("() => window.rec.times.length > 10")
    disturb = f"""g => {{
      const [lead, , v] = ({VIDEOS})(g);
      v.currentTime += 0.4;
      return [window.rec.times.length, v.currentTime - lead.currentTime];
    }}"""
    start, offset = page.evaluate(disturb, grid)
    assert offset > 0.35  # the third cell is 0.4 s ahead (left alone, it would stay so)
    page.wait_for_function("n => window.rec.times.length > n + 40", arg=start)
    after = page.evaluate("window.rec.times")[start + 10 :]
    apart = [max(circular(a, b, 3.0) for a, b in itertools.combinations(row, 2)) for row in after]
    assert max(apart) <= 1 / 24, apart  # back in step within 10 frames of the leader, and stays
    figures = sync_figures(page, 3.0, skip=start + 10)
    assert figures["shown_max_ms"] <= 1000 / 24 + 1, figures  # the frames on screen too


def test_without_frame_callbacks_timeupdate_brings_a_cell_back(page, clips):
    """A browser without requestVideoFrameCallback: the players correct on timeupdate."""
    page.evaluate("delete HTMLVideoElement.prototype.requestVideoFrameCallback")
    grid = grid_of(page, [clips["24a"], clips["24b"], clips["24a"]], [24] * 3)
    assert not page.evaluate("'requestVideoFrameCallback' in document.createElement('video')")
    page.keyboard.press(" ")
    page.wait_for_function(f"g => ({VIDEOS})(g).every(v => v.currentTime > 0.3)", arg=grid)
    offset = page.evaluate(f"""g => {{
      const vids = ({VIDEOS})(g);
      window.samples = [];
      setInterval(() => window.samples.push(vids.map((v) => v.currentTime)), 50);
      vids[2].currentTime += 0.4;
      return vids[2].currentTime - vids[0].currentTime;
    }}""", grid)  # fmt: skip
    assert offset > 0.35
    in_step = """() => {
      const last = window.samples.slice(-10);
      const apart = (a, b) => { const d = Math.abs(a - b) % 3; return Math.min(d, 3 - d); };
      return last.length === 10 && last.every((t) => apart(t[0], t[1]) <= 1 / 24
        && apart(t[0], t[2]) <= 1 / 24 && apart(t[1], t[2]) <= 1 / 24);
    }"""
    page.wait_for_function(in_step, timeout=15_000)  # ten samples (half a second) in a row


def test_a_loop_range_wraps_every_cell(page, clips):
    grid = grid_of(page, [clips["24a"], clips["24b"], clips["30"]], [24, 24, 30])
    page.evaluate(SEEK, [grid, 167])  # 0.501 s: frame 12 of the leader (24 fps)
    settle(page, grid)
    page.keyboard.press("[")
    page.evaluate(SEEK, [grid, 333])  # 0.999 s: frame 23
    settle(page, grid)
    page.keyboard.press("]")
    assert page.inner_text(f"#{grid} .vidu-grid-range") == "loop 0:00.50-0:01.00"
    page.evaluate(RECORD, grid)
    page.keyboard.press(" ")
    page.wait_for_function("() => window.rec.times.length > 60", timeout=20_000)
    leader = [m for _t, m in page.evaluate("window.rec.frames[0]")]
    wraps = sum(1 for a, b in itertools.pairwise(leader) if b < a - 0.2)
    assert wraps >= 2, leader
    frame = 1 / 24 + 1e-6  # the frame at the out point may show while the seek back lands
    outside = [(i, m) for i, m in enumerate(leader) if not 0.5 - frame <= m <= 1.0 + frame]
    assert not outside, (outside, leader)
    for row in page.evaluate("window.rec.times")[2:]:  # every cell wraps with the leader
        assert all(0.5 - 0.1 <= t <= 1.0 + 0.1 for t in row), row
    page.keyboard.press("\\")
    assert page.inner_text(f"#{grid} .vidu-grid-range") == ""
    page.wait_for_function(f"g => ({VIDEOS})(g)[0].currentTime > 1.2", arg=grid, timeout=10_000)


def test_solo_and_mute_act_on_the_right_cells(page, clips):
    grid = grid_of(page, [clips["24a"], clips["24b"], clips["30"]], [24, 24, 30])

    def solo(i):
        page.click(f"#{grid} .vidu-player >> nth={i} >> .vidu-player-solo")

    def mute(i):
        page.click(f"#{grid} .vidu-player >> nth={i} >> .vidu-player-mute")

    assert page.evaluate(MUTED, grid) == [True, True, True]
    solo(1)  # heard alone, although the grid is muted
    assert page.evaluate(MUTED, grid) == [True, False, True]
    assert page.evaluate(PRESSED, [grid, "solo"]) == ["false", "true", "false"]
    solo(1)
    assert page.evaluate(MUTED, grid) == [True, True, True]
    page.click(f"#{grid} .vidu-grid-mute")  # Unmute all
    assert page.evaluate(MUTED, grid) == [False, False, False]
    mute(2)
    assert page.evaluate(MUTED, grid) == [False, False, True]
    assert page.evaluate(PRESSED, [grid, "mute"]) == ["false", "false", "true"]
    solo(0)
    assert page.evaluate(MUTED, grid) == [False, True, True]
    page.hover(f"#{grid} .vidu-player >> nth=1")
    page.focus(f"#{grid} .vidu-grid-root")
    page.keyboard.press("s")  # the cell under the pointer
    assert page.evaluate(MUTED, grid) == [True, False, True]
    page.keyboard.press("s")  # solo off: the grid's and the cells' own mutes again
    assert page.evaluate(MUTED, grid) == [False, False, True]
    page.keyboard.press("m")
    assert page.evaluate(MUTED, grid) == [True, True, True]
    assert page.evaluate(f"window.{grid}.get('muted')") is True


def test_playback_rate_applies_to_every_cell(page, clips):
    grid = grid_of(page, [clips["24a"], clips["30"], clips["12"]], [24, 30, 12])
    rates = f"g => ({VIDEOS})(g).map(v => [v.playbackRate, v.defaultPlaybackRate])"
    page.select_option(f"#{grid} .vidu-grid-rate", "0.5")
    assert page.evaluate(rates, grid) == [[0.5, 0.5]] * 3
    page.focus(f"#{grid} .vidu-grid-root")
    page.keyboard.press("=")
    assert page.evaluate(rates, grid) == [[0.75, 0.75]] * 3
    assert page.input_value(f"#{grid} .vidu-grid-rate") == "0.75"
    for _ in range(8):
        page.keyboard.press("=")
    assert page.evaluate(rates, grid) == [[2, 2]] * 3  # no faster than 2x
    page.select_option(f"#{grid} .vidu-grid-rate", "0.25")
    page.keyboard.press(" ")  # while playing, followers are nudged at most 10 % off the rate
    page.wait_for_function(f"g => ({VIDEOS})(g).every(v => v.currentTime > 0.1)", arg=grid)
    playing = page.evaluate(rates, grid)
    assert all(0.225 <= r <= 0.275 and d == 0.25 for r, d in playing), playing


def test_the_keys_are_listed_on_hover_in_words(page, clips, artifacts):
    grid = grid_of(page, [clips["24a"]], [24])
    legend = page.locator(f"#{grid} .vidu-grid-legend")
    assert not legend.is_visible()
    page.hover(f"#{grid} .vidu-grid-keys")
    assert legend.is_visible()
    text = legend.inner_text()
    for words in ("space", "play / pause", ", .", "one frame back / forward", "[ ]", "loop"):
        assert words in text, text
    assert "stars" not in text and "pick" not in text  # judging keys: only in a judged grid
    assert text.isascii() and page.inner_text(f"#{grid} .vidu-grid-tools").isascii()
    for icon in ("prev", "next"):  # drawn in CSS: a triangle with a bar
        box = page.locator(f"#{grid} .vidu-icon-{icon}").bounding_box()
        assert box["width"] >= 8 and box["height"] >= 10, box
    page.locator(f"#{grid}").screenshot(path=str(artifacts / "grid-review.png"))


def test_in_jupyterlab_the_grid_takes_its_keys_and_the_notebook_does_not(page, lab, artifacts):
    """In command mode JupyterLab binds ``m`` (cell to Markdown) and more; once the grid has
    the focus its keys go to the players. The videos are the kernel's files (sent as blobs) and
    the kernel probed their frame rate (12 fps)."""
    videos = [
        encode(png(color=c), 2.0, 96, 12, lab.root / f"review-{i}").video
        for i, c in enumerate([(200, 120, 40), (40, 120, 200)])
    ]
    rows = [
        dict(task_id=f"t{i}", state="success", seed=i, video_path=str(v))
        for i, v in enumerate(videos)
    ]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(f"from vidu_nb.ui import compare\ncompare({rows!r})")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(nb, lab.root / "review_keys.ipynb")
    open_notebook(page, lab.url, "review_keys.ipynb")
    run_all_cells(page)
    grid = page.locator(".jp-OutputArea .vidu-grid")
    page.wait_for_function(
        "g => [...g.querySelectorAll('video')].every(v => v.readyState >= 2)",
        arg=grid.element_handle(),
        timeout=60_000,
    )
    grid.locator(".vidu-player-label").first.click()  # the notebook is in command mode now
    for key in (".", ".", "m"):
        page.keyboard.press(key)
    times = "g => [...g.querySelectorAll('video')].map(v => [v.currentTime, v.muted])"
    page.wait_for_function(
        f"g => ({times})(g).every(([t]) => Math.abs(t - (2 / 12 + {EPS})) < 1e-5)",
        arg=grid.element_handle(),
    )
    assert page.evaluate(times, grid.element_handle())[0][1] is False  # m: unmuted
    cell_type = "() => window.jupyterapp.shell.currentWidget.content.widgets[0].model.type"
    assert page.evaluate(cell_type) == "code"  # JupyterLab's own m did not run
    grid.screenshot(path=str(artifacts / "grid-review-lab.png"))
