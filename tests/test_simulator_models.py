"""The simulator's model table and request fields against the API pages, over raw HTTP.

The expectations are written out here from the tasks page ("Models") and the img2video page,
not taken from any table in the package: a wrong row in the simulator fails these tests.
Submitted tasks are made to fail at once, so no video is encoded: only the answers matter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simhelpers import data_uri

from vidu_nb.simulator import Simulator

AUTH = {"Authorization": "Token sim-key"}
ALL_RESOLUTIONS = ("360p", "540p", "720p", "1080p")
Q3 = ("540p", "720p", "1080p")
FAST = ("720p", "1080p")

#: model: (largest duration, resolutions at the default duration, default duration,
#: default resolution, audio default), from the tasks page's model table.
MODELS: dict[str, tuple[int, tuple[str, ...], int, str, bool]] = {
    "viduq3-pro": (16, Q3, 5, "720p", True),
    "viduq3-turbo": (16, Q3, 5, "720p", True),
    "viduq3-pro-fast": (16, FAST, 5, "720p", True),
    "viduq2-pro": (10, Q3, 5, "720p", False),
    "viduq2-turbo": (10, Q3, 5, "720p", False),
    "viduq2-pro-fast": (10, FAST, 5, "720p", False),
    "viduq1": (5, ("1080p",), 5, "1080p", False),
    "viduq1-classic": (5, ("1080p",), 5, "1080p", False),
    "vidu2.0": (8, ("360p", "720p", "1080p"), 4, "360p", False),
}
IMAGE = data_uri(64, 48)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(speed=200, seed=11) as server:
        server.faults.add("task_failure")  # every task fails at once: nothing is encoded
        yield server


def post(sim: Simulator, **fields: Any) -> requests.Response:
    body = {"images": [IMAGE], **fields}
    return requests.post(sim.base_url + "/ent/v2/img2video", json=body, headers=AUTH, timeout=10)


def refused(resp: requests.Response, reason: str = "FieldInvalid") -> str:
    assert resp.status_code == 400, resp.text
    assert resp.json()["reason"] == reason, resp.text
    return str(resp.json()["message"])


def accepted(resp: requests.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


# -- durations ------------------------------------------------------------------------------
@pytest.mark.parametrize("model", MODELS)
def test_the_largest_duration_is_accepted_and_one_more_is_not(sim, model):
    largest = MODELS[model][0]
    resolution = "720p" if model == "vidu2.0" else None  # 8 s on vidu2.0 is 720p only
    body = accepted(post(sim, model=model, duration=largest, resolution=resolution))
    assert body["duration"] == largest
    message = refused(post(sim, model=model, duration=largest + 1))
    assert str(largest + 1) in message and model in message
    refused(post(sim, model=model, duration=0))


@pytest.mark.parametrize(("model", "duration"), [("viduq1", 4), ("viduq1-classic", 1),
                                                 ("vidu2.0", 5), ("vidu2.0", 1)])  # fmt: skip
def test_models_with_fixed_durations_take_nothing_else(sim, model, duration):
    refused(post(sim, model=model, duration=duration))


@pytest.mark.parametrize("model", [m for m in MODELS if m.startswith(("viduq3", "viduq2"))])
def test_every_duration_from_1_to_the_largest_is_accepted(sim, model):
    largest = MODELS[model][0]
    for duration in range(1, largest + 1):
        assert accepted(post(sim, model=model, duration=duration))["duration"] == duration


# -- resolutions ----------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "resolution"), [(m, r) for m in MODELS for r in ALL_RESOLUTIONS])
def test_each_resolution_is_accepted_or_refused_as_the_table_says(sim, model, resolution):
    allowed = MODELS[model][1]
    resp = post(sim, model=model, resolution=resolution)
    if resolution in allowed:
        assert accepted(resp)["resolution"] == resolution
    else:
        message = refused(resp)
        assert resolution in message and ", ".join(allowed) in message


@pytest.mark.parametrize("resolution", ALL_RESOLUTIONS)
def test_vidu2_at_8_seconds_is_720p_only(sim, resolution):
    resp = post(sim, model="vidu2.0", duration=8, resolution=resolution)
    if resolution == "720p":
        accepted(resp)
    else:
        assert "720p" in refused(resp)


@pytest.mark.parametrize("model", MODELS)
def test_defaults_per_model(sim, model):
    _, _, duration, resolution, audio = MODELS[model]
    body = accepted(post(sim, model=model))
    assert (body["duration"], body["resolution"], body["audio"]) == (duration, resolution, audio)


def test_vidu2_at_8_seconds_defaults_to_720p(sim):
    assert accepted(post(sim, model="vidu2.0", duration=8))["resolution"] == "720p"


@pytest.mark.parametrize("model", ["vidu1.5", "viduq3-mix", "VIDUQ3-PRO"])
def test_an_unknown_model_is_refused_with_the_list(sim, model):
    message = refused(post(sim, model=model))
    assert model in message and all(name in message for name in MODELS)


# -- fields the English reference does not show ---------------------------------------------
def test_watermark_fields_and_meta_data_are_accepted(sim):
    accepted(post(sim, model="viduq3-pro", watermark=True, wm_position=1,
                  wm_url="https://example.com/mark.png", meta_data='{"label": "test"}'))  # fmt: skip
    for position in (1, 2, 3, 4):
        accepted(post(sim, model="viduq3-pro", wm_position=position))
    accepted(post(sim, model="viduq3-pro", watermark=False, meta_data="[]"))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"watermark": "yes"}, "boolean"),
        ({"wm_position": 0}, "1..4"),
        ({"wm_position": 5}, "1..4"),
        ({"wm_position": "3"}, "integer"),
        ({"wm_position": True}, "integer"),
        ({"wm_url": "mark.png"}, "http(s) URL"),
        ({"wm_url": 7}, "string"),
        ({"meta_data": "{not json"}, "JSON"),
        ({"meta_data": {"label": "x"}}, "string"),
    ],
)
def test_bad_watermark_fields_and_meta_data_are_refused(sim, fields, words):
    message = refused(post(sim, model="viduq3-pro", **fields))
    assert words in message and next(iter(fields)) in message


@pytest.mark.parametrize("model", [m for m in MODELS if not m.startswith("viduq3")])
def test_audio_with_off_peak_is_refused_except_on_q3(sim, model):
    message = refused(post(sim, model=model, audio=True, off_peak=True))
    assert "audio" in message and "off_peak" in message and "Q3" in message
    accepted(post(sim, model=model, audio=False, off_peak=True))
    accepted(post(sim, model=model, audio=True))


@pytest.mark.parametrize("model", [m for m in MODELS if m.startswith("viduq3")])
def test_q3_models_generate_sound_off_peak(sim, model):
    assert accepted(post(sim, model=model, audio=True, off_peak=True))["audio"] is True
    assert accepted(post(sim, model=model, off_peak=True))["audio"] is True  # the default


def test_both_spellings_of_sound_effect_only_are_accepted(sim):
    for spelling in ("sound_effect_only", "sound-effect_only"):
        body = accepted(post(sim, model="viduq2-pro", audio=True, audio_type=spelling))
        assert body["audio_type"] == "sound_effect_only"
    refused(post(sim, model="viduq2-pro", audio=True, audio_type="music_only"))
