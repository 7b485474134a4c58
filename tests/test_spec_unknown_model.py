"""Models absent from the table: refused with the list, or let through with an explicit opt-in
that skips only the model's own limits (tasks.md: "refuse with the list, or allow with an
explicit opt-in that skips client-side limits")."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from vidu_nb import Img2VideoRequest, UnknownModelWarning, ValidationError
from vidu_nb.request.models import MODELS, lookup_model


def unknown(png_bytes, model="viduq3-mix", **kw):
    with pytest.warns(UnknownModelWarning, match=f"{model} is not in the model table"):
        return Img2VideoRequest(image=png_bytes, model=model, allow_unknown_model=True, **kw)


@pytest.mark.parametrize("model", ["vidu1.5", "viduq3-mix", "gpt-video"])
def test_an_unknown_model_is_refused_with_the_list_and_the_way_out(png_bytes, model):
    with pytest.raises(ValidationError) as exc:
        Img2VideoRequest(image=png_bytes, model=model)
    assert exc.value.field == "model" and exc.value.value == model
    assert all(name in exc.value.limit for name in MODELS)
    assert "allow_unknown_model=True" in exc.value.limit


def test_opting_in_skips_the_model_limits_and_warns(png_bytes):
    req = unknown(png_bytes, duration=30, resolution="4K", audio=True, off_peak=True, bgm=True)
    assert (req.model, req.duration, req.resolution) == ("viduq3-mix", 30, "4k")
    assert req.model_spec.known is False and req.model_spec.name == "viduq3-mix"
    assert req.ignored == ()  # no per-model rule is known, so none is claimed
    body = req.to_body()
    assert body["model"] == "viduq3-mix" and body["duration"] == 30
    assert "allow_unknown_model" not in body
    assert "allow_unknown_model" not in req.options()
    assert "allow_unknown_model" not in req.preview()
    assert "allow_unknown_model" not in req.to_curl()
    # Defaults the API documents; a "viduq3" name gets audio on, as Q3 models do.
    settings = req.replace(duration=None, resolution=None, audio=None).resolved()
    assert (settings["duration"], settings["resolution"], settings["audio"]) == (5, "720p", True)
    assert unknown(png_bytes, "vidu1.5").resolved()["audio"] is False


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"duration": 0}, "duration"),
        ({"duration": -3}, "duration"),
        ({"duration": 5.5}, "duration"),
        ({"duration": True}, "duration"),
        ({"resolution": ""}, "resolution"),
        ({"resolution": 720}, "resolution"),
        ({"prompt": "x" * 5001}, "prompt"),
        ({"seed": -1}, "seed"),
        ({"audio": "yes"}, "audio"),
        ({"audio_type": "music"}, "audio_type"),
        ({"callback_url": "ftp://x/y"}, "callback_url"),
        ({"wm_position": 7}, "wm_position"),
        ({"meta_data": "{"}, "meta_data"),
    ],
)
def test_checks_that_do_not_depend_on_the_model_still_run(png_bytes, kw, field):
    with pytest.raises(ValidationError) as exc, warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelWarning)
        Img2VideoRequest(image=png_bytes, model="viduq3-mix", allow_unknown_model=True, **kw)
    assert exc.value.field == field


def test_a_known_model_keeps_its_limits_with_the_opt_in(png_bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownModelWarning)  # a known model does not warn
        req = Img2VideoRequest(image=png_bytes, model="viduq2-pro", allow_unknown_model=True)
    assert req.model_spec is MODELS["viduq2-pro"]
    with pytest.raises(ValidationError, match="1-10 s"):
        req.replace(duration=11)
    with pytest.raises(ValidationError, match="off_peak"):
        req.replace(audio=True, off_peak=True)


def test_the_opt_in_is_kept_by_replace_and_is_a_checked_bool(png_bytes):
    req = unknown(png_bytes, "vidu1.5")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownModelWarning)  # said once, by the first request
        assert req.replace(seed=3).allow_unknown_model is True
    with pytest.warns(UnknownModelWarning, match="viduq9"):  # another model: said again
        req.replace(model="viduq9")
    with pytest.raises(ValidationError, match="model"):
        req.replace(allow_unknown_model=False)
    for bad in ("yes", 1, np.int64(1)):
        with pytest.raises(ValidationError) as exc:
            Img2VideoRequest(image=png_bytes, model="vidu1.5", allow_unknown_model=bad)
        assert exc.value.field == "allow_unknown_model"
    for unset in (None, pd.NA):  # unset: the default, which refuses the model
        with pytest.raises(ValidationError) as exc:
            Img2VideoRequest(image=png_bytes, model="vidu1.5", allow_unknown_model=unset)
        assert exc.value.field == "model"
    with pytest.warns(UnknownModelWarning):  # a DataFrame cell
        r = Img2VideoRequest(image=png_bytes, model="vidu1.5", allow_unknown_model=np.True_)
    assert type(r.allow_unknown_model) is bool


@pytest.mark.parametrize("name", ["", "  ", "vidu q9", 42, None])
def test_an_unknown_model_must_still_be_a_name(png_bytes, name):
    with pytest.raises(ValidationError) as exc:
        Img2VideoRequest(image=png_bytes, model=name, allow_unknown_model=True)
    assert exc.value.field == "model"


def test_lookup_model():
    assert lookup_model(" ViduQ1 ") is MODELS["viduq1"]
    with pytest.raises(ValidationError):
        lookup_model("viduq3-mix")
    spec = lookup_model("ViduQ3-Mix", allow_unknown=True)
    assert (spec.name, spec.known, spec.durations, spec.resolutions) == (
        "viduq3-mix",
        False,
        (),
        (),
    )
    assert spec.describe_durations() == "any duration (not checked)"
