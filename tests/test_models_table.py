"""The model table against the contract's table (tasks.md "Models"), row by row and setting by
setting. The expected rows are written out here from the contract, not read from
``vidu_nb.request.models``, so a wrong entry in the table fails."""

from __future__ import annotations

import warnings

import pytest

from vidu_nb import IgnoredFieldWarning, Img2VideoRequest, ValidationError
from vidu_nb.request.models import MODELS, get_model

Q3_RES = ("540p", "720p", "1080p")
EVERY_RES = ("360p", "540p", "720p", "1080p")

#: model -> (durations, default duration, {duration or None: resolutions}, default resolution
#: at the default duration, audio default)
CONTRACT = {
    "viduq3-pro": (range(1, 17), 5, {None: Q3_RES}, "720p", True),
    "viduq3-turbo": (range(1, 17), 5, {None: Q3_RES}, "720p", True),
    "viduq3-pro-fast": (range(1, 17), 5, {None: ("720p", "1080p")}, "720p", True),
    "viduq2-pro": (range(1, 11), 5, {None: Q3_RES}, "720p", False),
    "viduq2-turbo": (range(1, 11), 5, {None: Q3_RES}, "720p", False),
    "viduq2-pro-fast": (range(1, 11), 5, {None: ("720p", "1080p")}, "720p", False),
    "viduq1": ((5,), 5, {None: ("1080p",)}, "1080p", False),
    "viduq1-classic": ((5,), 5, {None: ("1080p",)}, "1080p", False),
    "vidu2.0": ((4, 8), 4, {4: ("360p", "720p", "1080p"), 8: ("720p",)}, "360p", False),
}


def build(png_bytes, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IgnoredFieldWarning)
        return Img2VideoRequest(image=png_bytes, **kw)


def _resolutions(model):
    """(duration, allowed resolutions) pairs of a model: one per duration with its own list."""
    durations, default, by_duration, _, _ = CONTRACT[model]
    return [(default if d is None else d, res) for d, res in by_duration.items()]


def test_the_table_holds_exactly_the_contract_models():
    assert set(MODELS) == set(CONTRACT)
    assert "vidu1.5" not in MODELS  # only old pages name it


@pytest.mark.parametrize("model", CONTRACT)
def test_defaults(png_bytes, model):
    durations, default, _, default_res, audio = CONTRACT[model]
    spec = get_model(model)
    assert spec.durations == tuple(durations)
    settings = build(png_bytes, model=model).resolved()
    assert (settings["duration"], settings["resolution"], settings["audio"]) == (
        default,
        default_res,
        audio,
    )


@pytest.mark.parametrize("model", CONTRACT)
def test_the_longest_duration_is_accepted_and_one_more_is_refused(png_bytes, model):
    durations = CONTRACT[model][0]
    longest = max(durations)
    assert build(png_bytes, model=model, duration=longest).duration == longest
    for bad in (longest + 1, 0):
        with pytest.raises(ValidationError) as exc:
            build(png_bytes, model=model, duration=bad)
        assert exc.value.field == "duration" and exc.value.value == bad
        assert model in exc.value.limit and str(longest) in exc.value.limit
        assert f"duration={bad}" in str(exc.value)


def test_durations_between_the_allowed_ones_are_refused(png_bytes):
    for model, duration in (("vidu2.0", 5), ("vidu2.0", 6), ("viduq1", 4), ("viduq1", 6)):
        with pytest.raises(ValidationError, match="duration") as exc:
            build(png_bytes, model=model, duration=duration)
        assert exc.value.limit.endswith("s")


@pytest.mark.parametrize(
    ("model", "duration", "resolution"),
    [(m, d, r) for m in CONTRACT for d, allowed in _resolutions(m) for r in allowed],
)
def test_each_allowed_resolution_is_accepted(png_bytes, model, duration, resolution):
    req = build(png_bytes, model=model, duration=duration, resolution=resolution)
    assert req.resolved()["resolution"] == resolution
    assert req.to_body()["resolution"] == resolution


@pytest.mark.parametrize(
    ("model", "duration", "resolution"),
    [
        (m, d, r)
        for m in CONTRACT
        for d, allowed in _resolutions(m)
        for r in EVERY_RES
        if r not in allowed
    ],
)
def test_a_resolution_not_allowed_is_refused_with_the_limit(png_bytes, model, duration, resolution):
    allowed = dict(_resolutions(model))[duration]
    with pytest.raises(ValidationError) as exc:
        build(png_bytes, model=model, duration=duration, resolution=resolution)
    assert (exc.value.field, exc.value.value) == ("resolution", resolution)
    assert exc.value.limit.endswith(", ".join(allowed))
    assert f"resolution={resolution!r}" in str(exc.value)


def test_viduq2_pro_fast_is_720p_and_1080p_only(png_bytes):
    with pytest.raises(ValidationError, match="viduq2-pro-fast allows 720p, 1080p"):
        build(png_bytes, model="viduq2-pro-fast", resolution="540p")
    assert build(png_bytes, model="viduq2-pro-fast").resolved()["resolution"] == "720p"


def test_vidu2_0_at_8_s_is_720p_only_and_defaults_to_it(png_bytes):
    assert build(png_bytes, model="vidu2.0", duration=8).resolved()["resolution"] == "720p"
    with pytest.raises(ValidationError, match="vidu2.0 at 8 s allows 720p"):
        build(png_bytes, model="vidu2.0", duration=8, resolution="360p")


@pytest.mark.parametrize("model", CONTRACT)
def test_audio_with_off_peak_only_on_q3_models(png_bytes, model):
    q3 = model.startswith("viduq3")
    if q3:
        req = build(png_bytes, model=model, audio=True, off_peak=True)
        assert req.resolved()["audio"] and req.resolved()["off_peak"]
        assert build(png_bytes, model=model, off_peak=True).resolved()["audio"]  # the default
        return
    with pytest.raises(ValidationError) as exc:
        build(png_bytes, model=model, audio=True, off_peak=True)
    assert exc.value.field == "audio" and "off_peak" in exc.value.limit
    assert "audio=True" in str(exc.value) and "off_peak=True" in str(exc.value)
    # Each alone is fine, and so is off-peak with the default (silent) audio.
    build(png_bytes, model=model, audio=True, off_peak=False)
    build(png_bytes, model=model, audio=False, off_peak=True)
    assert build(png_bytes, model=model, off_peak=True).resolved()["audio"] is False


def test_changing_a_request_to_audio_off_peak_on_q2_is_refused(png_bytes):
    req = build(png_bytes, model="viduq2-turbo", off_peak=True)
    with pytest.raises(ValidationError, match="off_peak"):
        req.replace(audio=True)
    with pytest.raises(ValidationError, match="off_peak"):
        build(png_bytes, audio=True, off_peak=True).replace(model="viduq2-pro")


# -- the client's table against the simulator's own (two statements of one contract) --------
@pytest.fixture(scope="module")
def sim_client():
    from vidu_nb import ViduClient
    from vidu_nb.simulator import Simulator

    with Simulator(speed=200, seed=5) as server:
        server.faults.add("task_failure")  # every task fails at once: nothing is encoded
        with ViduClient.for_simulator(server, max_retries=0) as client:
            yield server, client


@pytest.mark.parametrize("model", CONTRACT)
def test_what_the_client_accepts_the_simulator_accepts(sim_client, png_bytes, model):
    """Longest duration, each resolution, and audio off-peak on Q3: built here, taken there."""
    _sim, client = sim_client
    longest = max(CONTRACT[model][0])
    requests = [build(png_bytes, model=model, duration=longest)]
    requests += [build(png_bytes, model=model, duration=d, resolution=r)
                 for d, allowed in _resolutions(model) for r in allowed]  # fmt: skip
    if model.startswith("viduq3"):
        requests.append(build(png_bytes, model=model, audio=True, off_peak=True, duration=1))
    marked = {"watermark": True, "wm_position": 4, "wm_url": "https://example.org/m.png"}
    requests.append(build(png_bytes, model=model, meta_data={"k": [1]}, **marked))
    for request in requests:
        assert client.submit(request).id
