"""The A/B wipe in a real Chromium: the divider follows the mouse and the arrow keys, the
modes lay A and B out, the difference of a clip with itself is black and of two clips is not,
and B keeps to A's clock while playing. Rendered like ``test_ui_grid``, videos served by a
stand-in for the kernel as binary buffers (``wipe_page``)."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image
from videos import encode, ramp_video

from .wipe_page import LAGS, PIXELS, TWO_FRAMES, render

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FPS = 24  # the clips' frame rate: "within a frame" is within 1/24 s
HOSTILE = '<img src=x onerror="window.pwned=1">A & <b>'
READY = """w => [...document.querySelectorAll(`#${w} video`)]
  .every(v => v.readyState >= 2 && !v.seeking)"""
CLIP = "w => document.querySelector(`#${w} .vidu-wipe-a`).style.clipPath"
SPLIT = (
    "w => [window[w].get('split'), document.querySelector(`#${w} .vidu-wipe-divider`).style.left]"
)
SEEK = """([w, value]) => {
  const s = document.querySelector(`#${w} .vidu-wipe-seek`);
  s.value = value;
  s.dispatchEvent(new Event("input"));
  s.dispatchEvent(new Event("change"));
}"""


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """A ramp (its red level tells the time) and a flat blue clip, 5 s at 24 fps."""
    folder = tmp_path_factory.mktemp("wipe-clips")
    ramp = ramp_video(folder / "ramp.mp4")
    blue = encode(folder / "blue.mp4", f"color=c=blue:s=160x90:d=5:r={FPS}")
    return ramp, blue


def png_uri(color) -> str:
    out = io.BytesIO()
    Image.new("RGB", (16, 9), color).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def ready(page, clips, a=0, b=0, **extra) -> str:
    wipe = render(page, clips[a], clips[b], **extra)
    page.wait_for_function(READY, arg=wipe)
    return wipe


def stage_box(page, wipe):
    return page.locator(f"#{wipe} .vidu-wipe-stage").bounding_box()


def test_labels_are_text_and_the_divider_follows_mouse_and_arrow_keys(page, clips, artifacts):
    wipe = ready(page, clips, 0, 1, labels=(HOSTILE, "seed=2"))
    names = page.locator(f"#{wipe} .vidu-wipe-label")
    assert [names.nth(0).text_content(), names.nth(1).text_content()] == [HOSTILE, "seed=2"]
    assert page.locator(f"#{wipe} .vidu-wipe-names img, #{wipe} .vidu-wipe-names b").count() == 0
    assert page.evaluate(CLIP, wipe) == "inset(0px 50% 0px 0px)"

    box = stage_box(page, wipe)
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)  # grab the divider
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, y, steps=4)
    page.mouse.move(box["x"] + box["width"] * 0.25, y, steps=4)
    assert page.evaluate(CLIP, wipe) == "inset(0px 75% 0px 0px)"  # follows while dragging
    page.mouse.up()
    split, left = page.evaluate(SPLIT, wipe)
    assert split == pytest.approx(0.25, abs=0.01) and left == "25%"
    assert page.evaluate(f"window.{wipe}.saved") == 1  # saved once, when dropped
    divider = page.locator(f"#{wipe} .vidu-wipe-divider")
    line = divider.bounding_box()
    assert line["x"] + line["width"] / 2 == pytest.approx(box["x"] + box["width"] / 4, abs=2)

    assert page.evaluate("() => document.activeElement.className") == "vidu-wipe-divider"
    page.keyboard.press("ArrowRight")
    assert page.evaluate(SPLIT, wipe) == [pytest.approx(0.27), "27%"]
    assert page.evaluate(CLIP, wipe) == "inset(0px 73% 0px 0px)"
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Shift+ArrowLeft")
    assert page.evaluate(SPLIT, wipe) == [pytest.approx(0.13), "13%"]
    page.keyboard.press("End")
    assert page.evaluate(CLIP, wipe) == "inset(0px 0% 0px 0px)"  # all A
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # stops at the edge
    assert page.evaluate(SPLIT, wipe) == [0, "0%"]
    assert divider.get_attribute("aria-valuenow") == "0"
    assert not page.evaluate("() => window.pwned")
    page.keyboard.press("ArrowRight")
    page.locator(f"#{wipe}").screenshot(path=str(artifacts / "wipe.png"))


def test_modes_lay_a_and_b_out_side_by_side_and_as_their_difference(page, clips, artifacts):
    posters = {"a": png_uri((0, 200, 0)), "b": png_uri((0, 0, 200))}  # the stills' frames
    wipe = ready(page, clips, 0, 1, posters=posters)
    shown = page.eval_on_selector_all(f"#{wipe} video", "vs => vs.map(v => v.poster)")
    assert shown == [posters["a"], posters["b"]]  # saved in the state: drawn without a kernel
    page.click(f"#{wipe} .vidu-wipe-mode >> text=Side by side")
    assert page.evaluate(f"window.{wipe}.get('mode')") == "side"
    a = page.locator(f"#{wipe} .vidu-wipe-a").bounding_box()
    b = page.locator(f"#{wipe} .vidu-wipe-b").bounding_box()
    assert a["x"] + a["width"] <= b["x"] and a["y"] == pytest.approx(b["y"], abs=1)
    assert a["width"] == pytest.approx(b["width"], abs=1)
    assert page.evaluate(CLIP, wipe) == ""  # nothing hidden
    assert not page.locator(f"#{wipe} .vidu-wipe-divider").is_visible()
    page.locator(f"#{wipe}").screenshot(path=str(artifacts / "wipe-side.png"))
    page.click(f"#{wipe} .vidu-wipe-mode >> text=Difference")
    assert page.locator(f"#{wipe} .vidu-wipe-diff").is_visible()
    pressed = page.eval_on_selector_all(
        f"#{wipe} .vidu-wipe-mode", "bs => bs.map(b => b.getAttribute('aria-pressed'))"
    )
    assert pressed == ["false", "false", "true"]


def paused_difference(page, wipe, at: int) -> dict:
    """The difference drawn once both videos stand at ``at`` thousandths of A's length."""
    page.evaluate(SEEK, [wipe, at])
    page.wait_for_function(READY, arg=wipe)
    times = page.eval_on_selector_all(f"#{wipe} video", "vs => vs.map(v => v.currentTime)")
    assert times == [pytest.approx(5 * at / 1000, abs=1e-3)] * 2  # one slider seeks both
    page.evaluate(TWO_FRAMES)
    return page.evaluate(PIXELS, wipe)


def test_the_difference_of_a_clip_with_itself_is_black_and_of_two_clips_is_not(page, clips):
    same = ready(page, clips, 0, 0, mode="difference")
    other = ready(page, clips, 0, 1, mode="difference")
    for at in (200, 700):
        black = paused_difference(page, same, at)
        assert black["size"] == [160, 90]  # the videos' own size
        assert max(black["mean"]) < 1 and black["max"] <= 8, black
        lit = paused_difference(page, other, at)
        assert max(lit["mean"]) > 60, lit  # blue against the ramp's red and green
    # Drawn for every frame while playing too: the clip with itself stays near black.
    page.click(f"#{same} .vidu-wipe-play")
    page.wait_for_function(
        "w => document.querySelector(`#${w} .vidu-wipe-a`).currentTime > 1", arg=same
    )
    first = page.evaluate(PIXELS, same)
    page.evaluate(TWO_FRAMES)
    assert max(page.evaluate(PIXELS, same)["mean"]) < 8 and max(first["mean"]) < 8, first


def test_b_follows_a_within_a_frame_while_playing(page, clips):
    wipe = ready(page, clips, 0, 0)
    page.evaluate(SEEK, [wipe, 100])
    page.click(f"#{wipe} .vidu-wipe-play")
    assert page.evaluate(f"window.{wipe}.get('playing')") is True
    page.wait_for_function(
        "w => document.querySelector(`#${w} .vidu-wipe-a`).currentTime > 1", arg=wipe
    )
    # Put B half a second off: it comes back to A's clock, then stays on it.
    page.evaluate("w => (document.querySelector(`#${w} .vidu-wipe-b`).currentTime += 0.5)", wipe)
    lags = page.evaluate(LAGS, [f"#{wipe} video", 3000])
    back = next(i for i, d in enumerate(lags) if abs(d) < 1 / FPS)
    after = lags[back:]
    assert len(after) > 30 and max(map(abs, after)) <= 1 / FPS, (back, after)
    states = page.eval_on_selector_all(f"#{wipe} video", "vs => vs.map(v => v.paused)")
    assert states == [False, False]
    page.click(f"#{wipe} .vidu-wipe-play")  # one control pauses both, at the same moment
    page.wait_for_function(READY, arg=wipe)
    a, b = page.eval_on_selector_all(f"#{wipe} video", "vs => vs.map(v => v.currentTime)")
    assert page.eval_on_selector_all(f"#{wipe} video", "vs => vs.map(v => v.paused)") == [
        True,
        True,
    ]
    assert b == pytest.approx(a, abs=1e-3)
