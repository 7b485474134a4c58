"""The request spec: every field's limits and the model capability table."""

from __future__ import annotations

import json
import warnings

import pytest

from vidu_nb import IgnoredFieldWarning, Img2VideoRequest, ValidationError
from vidu_nb.request.models import MODELS, get_model


def req(png_bytes, **kw):
    return Img2VideoRequest(image=png_bytes, **kw)


def test_minimal_body_omits_unset_fields(png_bytes):
    body = req(png_bytes).to_body()
    assert set(body) == {"model", "images"}
    assert body["images"][0].startswith("data:image/png;base64,")


def test_all_fields_serialised(png_bytes):
    with pytest.warns(IgnoredFieldWarning, match="movement_amplitude"):
        r = _every_field(png_bytes)
    body = r.to_body()
    for key in (
        "prompt",
        "duration",
        "seed",
        "resolution",
        "audio",
        "audio_type",
        "voice_id",
        "is_rec",
        "bgm",
        "payload",
        "off_peak",
        "callback_url",
        "watermark",
        "wm_position",
        "wm_url",
        "meta_data",
    ):
        assert key in body, key
    json.dumps(body)


@pytest.mark.parametrize(
    ("kw", "field", "limit"),
    [
        ({"prompt": "x" * 5001}, "prompt", "5000"),
        ({"payload": "x" * 1_048_577}, "payload", "1,048,576"),
        ({"audio_type": "music"}, "audio_type", "speech_only"),
        ({"callback_url": "ftp://x/y"}, "callback_url", "http"),
        ({"callback_url": "not a url"}, "callback_url", "http"),
        ({"duration": 17}, "duration", "1-16"),
        ({"duration": 0}, "duration", "1-16"),
        ({"duration": 5.0}, "duration", "integer"),
        ({"resolution": "360p"}, "resolution", "540p, 720p, 1080p"),
        ({"model": "viduq3-pro-fast", "resolution": "540p"}, "resolution", "720p, 1080p"),
        ({"model": "viduq1", "duration": 4}, "duration", "5 s"),
        ({"model": "viduq1", "resolution": "720p"}, "resolution", "1080p"),
        ({"model": "viduq2-turbo", "duration": 11}, "duration", "1-10"),
        ({"model": "vidu2.0", "duration": 5}, "duration", "4 or 8"),
        (
            {"model": "vidu2.0", "duration": 8, "resolution": "1080p"},
            "resolution",
            "8 s allows 720p",
        ),
        ({"model": "gpt-video"}, "model", "viduq3-pro"),
        ({"seed": -1}, "seed", "0 to"),
        ({"seed": "12"}, "seed", "integer"),
        ({"audio": "yes"}, "audio", "bool"),
        ({"off_peak": 1}, "off_peak", "bool"),
        ({"movement_amplitude": "huge"}, "movement_amplitude", "auto"),
    ],
)
def test_limits_name_field_value_and_limit(png_bytes, kw, field, limit):
    with pytest.raises(ValidationError) as exc:
        req(png_bytes, **kw)
    assert exc.value.field == field
    assert field in str(exc.value)
    assert limit in str(exc.value)


def test_limits_at_the_edge_are_accepted(png_bytes):
    req(png_bytes, prompt="x" * 5000, payload="y" * 1_048_576, duration=16, seed=0)
    req(png_bytes, model="viduq1", duration=5, resolution="1080p")
    req(png_bytes, model="vidu2.0", duration=8, resolution="720p")


def test_images_alias_and_count(png_bytes):
    assert req(png_bytes).start_image == Img2VideoRequest(images=[png_bytes]).start_image
    with pytest.raises(ValidationError, match="exactly 1"):
        Img2VideoRequest(images=[png_bytes, png_bytes])
    with pytest.raises(ValidationError, match="image"):
        Img2VideoRequest(prompt="no image")


def test_audio_type_prose_spelling_is_normalised(png_bytes):
    r = req(png_bytes, model="viduq2-pro", audio=True, audio_type="sound-effect_only")
    assert r.to_body()["audio_type"] == "sound_effect_only"


@pytest.mark.parametrize(
    ("kw", "ignored"),
    [
        ({"bgm": True}, "bgm"),
        ({"movement_amplitude": "large"}, "movement_amplitude"),
        ({"voice_id": "v"}, "voice_id"),
        ({"audio_type": "speech_only"}, "audio_type"),
        ({"model": "viduq2-pro", "bgm": True, "duration": 9}, "bgm"),
        ({"model": "viduq2-pro", "movement_amplitude": "small"}, "movement_amplitude"),
        ({"model": "viduq1", "voice_id": "v"}, "voice_id"),
        ({"is_rec": True, "prompt": "p"}, "prompt"),
    ],
)
def test_fields_without_effect_warn(png_bytes, kw, ignored):
    with pytest.warns(IgnoredFieldWarning, match=ignored):
        r = req(png_bytes, **kw)
    assert ignored in r.ignored


def test_effective_fields_do_not_warn(png_bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = req(png_bytes, model="viduq2-pro", bgm=True, duration=8, audio=True, voice_id="v")
    assert r.ignored == ()


def test_model_defaults_resolved(png_bytes):
    assert req(png_bytes).resolved()["duration"] == 5
    assert req(png_bytes).resolved()["resolution"] == "720p"
    assert req(png_bytes).resolved()["audio"] is True
    assert req(png_bytes, model="viduq2-pro").resolved()["audio"] is False
    assert req(png_bytes, model="viduq1").resolved()["resolution"] == "1080p"
    assert req(png_bytes, model="vidu2.0", duration=8).resolved()["resolution"] == "720p"
    assert req(png_bytes, model="vidu2.0").resolved()["resolution"] == "360p"


def test_model_table_is_consistent():
    for name, spec in MODELS.items():
        assert spec.name == name
        assert spec.default_duration in spec.durations
        assert spec.default_resolution_for(spec.default_duration) in spec.resolutions
        for res in spec.resolutions:
            assert spec.rate(res) > 0
            assert spec.rate(res, off_peak=True) == spec.rate(res) / 2
    assert get_model("viduq3-pro").rate("1080p") == 32


def test_replace_rechecks(png_bytes):
    r = req(png_bytes, seed=1)
    assert r.replace(seed=2).seed == 2
    with pytest.raises(ValidationError):
        r.replace(duration=99)


def test_preview_and_curl_elide_image_and_key(png_bytes):
    r = req(png_bytes, prompt="it's a 'quote'")
    curl = r.to_curl("https://api.vidu.com", "Token")
    assert "$VIDU_API_KEY" in curl
    assert "base64,<" in curl and "elided" in curl
    assert "/ent/v2/img2video" in curl


def _every_field(png_bytes):
    return req(
        png_bytes,
        model="viduq2-pro",
        prompt="a cat",
        duration=8,
        seed=42,
        resolution="1080p",
        audio=True,
        audio_type="speech_only",
        voice_id="v1",
        is_rec=False,
        bgm=True,
        movement_amplitude="auto",
        payload="ref",
        off_peak=False,  # audio off-peak is for Q3 models only
        callback_url="https://example.org/hook",
        watermark=True,
        wm_position=1,
        wm_url="https://example.org/mark.png",
        meta_data='{"label": "test"}',
    )
