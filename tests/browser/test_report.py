"""The standalone report in a real Chromium, opened from a file:// URL as a user opens a file:
the shared control plays every video in step, seeking moves them all, nothing is fetched from
the network, no script error, and the hostile prompt and experiment name stay text."""

from __future__ import annotations

import time
import zipfile

import pytest
from report_sweep import HOSTILE_EXPERIMENT, HOSTILE_PROMPT, swept

import vidu_nb

pytestmark = [pytest.mark.browser, pytest.mark.slow]

READY = "() => [...document.querySelectorAll('video.vr-video')].every(v => v.readyState >= 3)"
TIMES = "() => [...document.querySelectorAll('video.vr-video')].map(v => v.currentTime)"
STATE = "() => [...document.querySelectorAll('video.vr-video')].map(v => [v.paused, v.ended])"
SEEK = """value => {
  const s = document.querySelector(".vr-seek");
  s.value = value;
  s.dispatchEvent(new Event("input"));
  s.dispatchEvent(new Event("change"));
}"""
#: Seconds apart two videos may be while playing together (a frame at 24 fps is 0.04 s).
IN_STEP = 0.1


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """One sweep (4 tasks of 2 s), reported three ways."""
    folder = tmp_path_factory.mktemp("report")
    with swept(folder / "stack", duration=2) as (run, _log, _client, _sim):
        copy = vidu_nb.report(run, folder / "copy" / "report.html")
        embed = vidu_nb.report(run, folder / "embed" / "report.html", videos="embed")
        packed = vidu_nb.report(run, folder / "zip" / "report.html", videos="zip")
    with zipfile.ZipFile(packed) as zf:
        zf.extractall(folder / "unzipped")
    return {"copy": copy, "embed": embed, "zip": folder / "unzipped" / "report.html"}


def spread(times: list[float], duration: float) -> float:
    """The largest gap between two videos, across a loop's wrap (0.05 and 1.98 of 2 s: 0.07)."""
    gaps = [abs(a - b) for a in times for b in times]
    return max(min(g, duration - g) for g in gaps)


def open_report(page, path):
    seen = {"errors": [], "dialogs": [], "requests": [], "console": []}
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on(
        "console", lambda m: seen["console"].append(m.text) if m.type in ("error", "warning") else 0
    )
    page.goto(path.as_uri())
    page.wait_for_function(READY, timeout=15_000)
    return seen


def check_clean(seen):
    assert seen["errors"] == [] and seen["dialogs"] == []
    assert seen["console"] == []  # a blocked script or media would be a CSP report here
    assert all(url.startswith(("file:", "data:")) for url in seen["requests"]), seen["requests"]


def plays_in_step(page):
    """Press the shared play: every video advances and they stay within IN_STEP."""
    page.click(".vr-play")
    page.wait_for_function(
        "() => [...document.querySelectorAll('video.vr-video')].every(v => v.currentTime > 0.3)",
        timeout=10_000,
    )
    assert page.evaluate(STATE) == [[False, False]] * 4
    assert page.inner_text(".vr-play") == "Pause all"
    duration = page.evaluate("document.querySelector('video.vr-video').duration")
    before = page.evaluate(TIMES)
    for _ in range(8):  # over more than a loop of the 2 s videos
        times = page.evaluate(TIMES)
        assert spread(times, duration) < IN_STEP, times
        time.sleep(0.3)
    after = page.evaluate(TIMES)
    assert all(abs(a - b) > 0.05 for a, b in zip(before, after, strict=True))  # still moving
    return duration


def test_the_report_plays_in_step_and_seeks_from_a_file_url(page, reports):
    seen = open_report(page, reports["copy"])
    assert page.evaluate(TIMES) == [0, 0, 0, 0]
    assert page.evaluate("[...document.querySelectorAll('video')].some(v => v.controls)") is False
    duration = plays_in_step(page)
    assert duration == pytest.approx(2.0, abs=0.1)
    page.click(".vr-play")  # pause all
    assert page.evaluate(STATE) == [[True, False]] * 4
    page.evaluate(SEEK, 750)  # 3/4 of the way: 1.5 s
    assert page.evaluate(TIMES) == pytest.approx([0.75 * duration] * 4, abs=0.05)
    assert page.inner_text(".vr-time").startswith("0:01")
    page.evaluate(SEEK, 250)
    assert page.evaluate(TIMES) == pytest.approx([0.25 * duration] * 4, abs=0.05)
    plays_in_step(page)  # from where the seek left them, together again
    page.click(".vr-play")
    check_clean(seen)


def test_hostile_prompt_and_experiment_stay_text(page, reports):
    seen = open_report(page, reports["copy"])
    assert page.inner_text("h1") == HOSTILE_EXPERIMENT
    assert page.title() == HOSTILE_EXPERIMENT
    heads = page.eval_on_selector_all(".vr-rowhead", "els => els.map(e => e.textContent)")
    assert any(HOSTILE_PROMPT in h for h in heads)
    assert page.evaluate("document.querySelectorAll('script').length") == 2
    assert page.evaluate("document.querySelectorAll('svg, [onerror], [onload]').length") == 0
    page.click("details.vr-params summary")  # the parameters open
    assert HOSTILE_PROMPT in page.inner_text("details.vr-params[open]")
    check_clean(seen)


@pytest.mark.parametrize("mode", ["embed", "zip"])
def test_embedded_and_unzipped_reports_play_too(page, reports, mode):
    seen = open_report(page, reports[mode])
    plays_in_step(page)
    page.click(".vr-play")
    check_clean(seen)
