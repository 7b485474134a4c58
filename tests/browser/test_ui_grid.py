"""The grid's shared control in a real Chromium: seeking moves every video, playback loops,
headers name rows and columns, an empty grid says why. Rendered like ``test_ui_look``."""

from __future__ import annotations

import pytest

from .grid_page import boxes, clip, items, render

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIMES = "g => [...document.querySelectorAll(`#${g} video`)].map(v => v.currentTime)"
READY = "g => [...document.querySelectorAll(`#${g} video`)].every(v => v.readyState >= 2)"
SEEK = """([g, value]) => {
  const s = document.querySelector(`#${g} .vidu-grid-seek`);
  s.value = value;
  s.dispatchEvent(new Event("input"));
  s.dispatchEvent(new Event("change"));
}"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Two 2 s clips and one 1 s clip (videos of different lengths in one grid)."""
    folder = tmp_path_factory.mktemp("clips")
    long, short = clip(folder, 2.0), clip(folder, 1.0, color=(40, 120, 200))
    return [long, long, short]


def mixed_grid(page, clips):
    grid = render(page, items(3, clips), 3)
    page.wait_for_function(READY, arg=grid)
    return grid


def test_seek_moves_every_video_and_a_shorter_one_to_its_own_loop(page, clips):
    grid = mixed_grid(page, clips)
    page.evaluate(SEEK, [grid, 750])  # 3/4 of the longest video (2 s): 1.5 s
    long1, long2, short = page.evaluate(TIMES, grid)
    assert long1 == pytest.approx(1.5, abs=0.05) and long2 == pytest.approx(1.5, abs=0.05)
    assert short == pytest.approx(0.5, abs=0.05)  # 1.5 s into a 1 s loop
    page.evaluate(SEEK, [grid, 250])
    assert page.evaluate(TIMES, grid) == pytest.approx([0.5, 0.5, 0.5], abs=0.05)
    clock = page.inner_text(f"#{grid} .vidu-grid-time")
    assert clock.startswith("0:00"), clock


def test_playback_loops_and_the_slider_follows_the_longest_video(page, clips):
    grid = mixed_grid(page, clips)
    page.evaluate(
        """g => document.querySelectorAll(`#${g} video`).forEach(v => {
             v.wraps = 0; v.last = v.currentTime;
             v.addEventListener("timeupdate", () => {
               if (v.currentTime < v.last - 0.3) v.wraps++;
               v.last = v.currentTime;
             });
           })""",
        grid,
    )
    page.evaluate(SEEK, [grid, 900])  # 1.8 s: near the end of every video
    page.click(f"#{grid} .vidu-grid-play")
    page.wait_for_function(
        "g => [...document.querySelectorAll(`#${g} video`)].every(v => v.wraps > 0)",
        arg=grid,
        timeout=10_000,
    )
    state = page.evaluate(
        "g => [...document.querySelectorAll(`#${g} video`)].map(v => [v.paused, v.ended])", grid
    )
    assert state == [[False, False]] * 3  # looping: none stopped at its end
    page.wait_for_function(
        "g => +document.querySelector(`#${g} .vidu-grid-seek`).value > 0", arg=grid
    )
    assert page.inner_text(f"#{grid} .vidu-grid-time").endswith("/ 0:02")  # the longest


def test_rows_and_columns_have_headers(page, clips, artifacts):
    prompts = ["a fox runs through the snow", "waves roll onto the beach at dusk"]
    grid = render(
        page,
        items(4, clips[2], labels=[""] * 4),
        2,
        row_titles=[f"\u201c{p}\u201d" for p in prompts],
        col_titles=["seed=1", "seed=2"],
    )
    page.wait_for_function(READY, arg=grid)
    cols = boxes(page, grid, ".vidu-grid-colhead")
    rows = boxes(page, grid, ".vidu-grid-rowhead")
    cells = boxes(page, grid, ".vidu-player")
    assert [page.inner_text(f"#{grid} .vidu-grid-colhead >> nth={i}") for i in (0, 1)] == [
        "seed=1",
        "seed=2",
    ]
    for i, (x, y, width, _h) in enumerate(cols):  # above its column
        cx, cy, cw, _ch = cells[i]
        assert abs((x + width / 2) - (cx + cw / 2)) < 2 and y < cy
    for r, (x, y, width, height) in enumerate(rows):  # left of its row, spanning its height
        cx, cy, _cw, ch = cells[2 * r]
        assert x + width <= cx and y <= cy + ch / 2 <= y + height
    assert not page.locator(f"#{grid} .vidu-player-label").count()  # empty labels: none drawn
    page.locator(f"#{grid}").screenshot(path=str(artifacts / "grid-headers.png"))


def test_an_empty_grid_says_why_and_has_no_controls(page, artifacts):
    note = "Nothing to compare: no tasks were given (an empty selection or sweep)."
    grid = render(page, [], 1, note=note)
    assert page.inner_text(f"#{grid} .vidu-grid-note") == note
    assert not page.locator(f"#{grid} .vidu-grid-bar").is_visible()
