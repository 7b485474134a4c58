"""The form's pure state: every field into the request, all validation messages, model rules."""

from __future__ import annotations

from vidu_nb.ui.form_state import FormState


def test_every_field_reaches_the_request(png_bytes):
    s = FormState(model="viduq2-pro")
    s.set_upload(({"name": "frame.png", "content": memoryview(png_bytes)},))
    s.prompt = "a red fox"
    s.duration = 8
    s.resolution = "1080p"
    s.reuse_seed(1234)
    s.audio = True
    s.audio_type = "speech_only"
    s.voice_id = "narrator"
    s.bgm = True
    s.off_peak = False  # audio with off_peak is refused on q2 (Q3 only)
    s.is_rec = True
    s.payload = "exp-1"
    s.callback_url = "https://example.org/hook"
    result = s.build()
    assert result.ok, result.errors
    r = result.request
    assert (r.model, r.prompt, r.duration, r.resolution, r.seed) == (
        "viduq2-pro",
        "a red fox",
        8,
        "1080p",
        1234,
    )
    assert (r.audio, r.audio_type, r.voice_id, r.bgm, r.off_peak, r.is_rec) == (
        True,
        "speech_only",
        "narrator",
        True,
        None,  # unticked: left out of the body
        True,
    )
    assert (r.payload, r.callback_url) == ("exp-1", "https://example.org/hook")
    assert r.start_image.width == 320 and s.image_name == "frame.png"
    assert result.warnings == {"prompt": "prompt is set but is ignored when is_rec is true"}


def test_defaults_leave_optional_fields_out(png_bytes):
    s = FormState(image_data=png_bytes)
    body = s.build().request.preview()
    assert set(body) == {"model", "images"}


def test_all_errors_reported_at_once():
    s = FormState(model="viduq2-pro", seed_mode="fixed", seed=-5)
    s.prompt = "x" * 5001
    s.callback_url = "ftp://example.org"
    s.payload = "p" * 1_048_577
    result = s.build()
    assert result.request is None
    assert set(result.errors) == {"image", "seed", "prompt", "callback_url", "payload"}
    assert "5000" in result.errors["prompt"]
    assert "http" in result.errors["callback_url"]
    assert result.errors["payload"] == (
        "is 1,048,577 characters; at most 1,048,576 characters"  # the length, like the prompt's
    )
    assert s.prompt_counter() == ("5,001 / 5,000", True)


def test_bad_image_and_url_messages(png_bytes):
    s = FormState(image_data=b"GIF89a" + b"\0" * 20)
    assert "GIF" in s.build().errors["image"]
    s = FormState(image_url="ftp://example.org/a.png")
    assert "http" in s.build().errors["image"]
    s = FormState(image_url="https://example.org/a.png")
    assert s.build().request.start_image.is_remote


def test_model_switch_keeps_duration_and_resolution_allowed(png_bytes):
    s = FormState(image_data=png_bytes, model="viduq3-pro", duration=16, resolution="540p")
    assert 16 in s.allowed_durations() and "540p" in s.allowed_resolutions()
    s.model = "viduq1"
    assert s.allowed_durations() == (5,) and s.allowed_resolutions() == ("1080p",)
    assert s.duration == 5 and s.resolution == "1080p"
    s.model = "vidu2.0"
    s.duration = 8
    assert s.allowed_resolutions() == ("720p",) and s.resolution == "720p"
    assert s.build().ok


def test_inactive_fields_are_explained_and_not_sent(png_bytes):
    s = FormState(image_data=png_bytes, model="viduq3-pro", bgm=True, voice_id="v")
    off = s.inactive()
    assert "Q3" in off["bgm"] and "voice_id" in off and "movement_amplitude" in off
    r = s.build().request
    assert r.bgm is None and r.voice_id is None
    s.model = "viduq2-pro"
    assert "audio is on" in s.inactive()["voice_id"]
    s.audio = True
    assert "voice_id" not in s.inactive()
    s.duration = 10
    assert "10 s" in s.inactive()["bgm"]


def test_a_model_switch_keeps_the_users_choice_and_says_when_it_cannot(png_bytes):
    """viduq3-turbo 4 s/540p -> viduq1 (5 s/1080p only) -> viduq3-turbo: back to 4 s/540p,
    not 5 s/1080p at about three times the credits."""
    s = FormState(image_data=png_bytes, model="viduq3-turbo")
    s.duration, s.resolution = 4, "540p"
    assert s.adjusted == {}
    s.model = "viduq1"
    assert (s.duration, s.resolution) == (5, "1080p")
    assert s.adjusted["duration"] == (
        "viduq1 makes 5 s: 5 s instead of your 4 s (back to 4 s with a model that allows it)"
    )
    assert "1080p instead of your 540p" in s.adjusted["resolution"]
    assert s.build().ok
    s.model = "viduq3-turbo"
    assert (s.duration, s.resolution) == (4, "540p") and s.adjusted == {}
    # A choice the new model allows is kept as it is; a new choice replaces the remembered one.
    s.model = "viduq2-pro"
    assert (s.duration, s.resolution) == (4, "540p") and s.adjusted == {}
    s.model = "viduq1"
    s.duration = None  # the user picks the model's default: nothing to restore later
    assert "duration" not in s.adjusted and "resolution" in s.adjusted
    s.model = "viduq3-turbo"
    assert (s.duration, s.resolution) == (None, "540p") and s.adjusted == {}
    # The model's defaults follow the model: nothing to say.
    s.duration = s.resolution = None
    s.model = "viduq1"
    assert s.adjusted == {}


def test_a_url_given_with_a_file_is_flagged_and_the_file_named_as_the_one_used(png_bytes):
    s = FormState()
    s.set_upload(({"name": "frame.png", "content": memoryview(png_bytes)},))
    s.image_url = "ftp://example.org/a.png"  # bad, and not used: the file wins
    result = s.build()
    assert result.ok and result.request.start_image.width == 320  # the file is sent
    assert result.warnings["image_url"] == (
        "a URL must start with http:// or https://; not used: frame.png (chosen above) is; "
        "remove it to use a URL"
    )
    assert result.warnings["image"] == "frame.png is used, not the URL below"
    s.image_url = "https://example.org/a.png"  # a good URL: still says which one is used
    assert s.build().warnings["image_url"].startswith("not used: frame.png")
    s.set_upload(())  # the file removed: the URL is used, nothing to say
    result = s.build()
    assert result.request.start_image.is_remote and "image_url" not in result.warnings
