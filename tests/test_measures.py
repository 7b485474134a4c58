"""Measures of a video on clips of known content made with ffmpeg: motion follows the pan's
speed (in frame widths per second, as ``FORMULAS`` says), flicker sees alternating brightness
and not a smooth pan, the first frame's SSIM tells its own start image from another, and the
delivered duration, fps, size and sound are read exactly."""

from __future__ import annotations

import dataclasses

import pytest
from clips import pan_clip, png_bytes, texture

from vidu_nb.errors import ValidationError, ViduError
from vidu_nb.tracking.measures import (
    FORMULAS,
    MeasureError,
    Measures,
    decode,
    measure_video,
    parse_header,
    probe,
)

W, H = 320, 180  # the clips' size; a pan of SPEED px/s is SPEED / W frame widths per second
# Whole pixels per frame at 24 fps: ``crop`` moves by whole pixels, so another speed would
# move 1, 1, 2, 1, 1, 2... pixels and the flow of a few sampled pairs would see one phase.
SLOW, FAST = 24.0, 168.0


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """The source texture, the first frame's picture, and clips of known motion."""
    folder = tmp_path_factory.mktemp("clips")
    source = folder / "source.png"
    texture(960, 240).save(source)
    first = folder / "first.png"  # exactly what every pan's first frame shows
    texture(960, 240).crop((0, 20, W, 20 + H)).save(first)
    clips = {
        "still": pan_clip(folder / "still.mp4", source),
        "slow": pan_clip(folder / "slow.mp4", source, speed=SLOW),
        "fast": pan_clip(folder / "fast.mp4", source, speed=FAST),
        "flicker": pan_clip(folder / "flicker.mp4", source, flicker=0.08),
        "sound": pan_clip(folder / "sound.mp4", source, audio=True, fps=15, seconds=3),
    }
    return source, first, clips


def test_motion_orders_a_still_a_slow_and_a_fast_pan_and_matches_their_speed(made):
    _, _, clips = made
    still, slow, fast = (measure_video(clips[k]).motion for k in ("still", "slow", "fast"))
    assert still is not None and slow is not None and fast is not None
    assert still < slow < fast
    assert still < 0.005  # a still: nothing moves
    assert slow == pytest.approx(SLOW / W, rel=0.15)  # frame widths per second
    assert fast == pytest.approx(FAST / W, rel=0.15)


def test_flicker_sees_alternating_brightness_but_not_a_steady_pan(made):
    _, _, clips = made
    flickering = measure_video(clips["flicker"]).flicker
    steady = [measure_video(clips[k]).flicker for k in ("still", "slow", "fast")]
    assert flickering is not None and all(f is not None for f in steady)
    assert flickering > 0.02  # brightness +0.08 every other frame: ~0.07 of the range
    assert max(steady) < 0.002 and flickering > 20 * max(steady)


def test_first_frame_ssim_tells_its_start_image_from_another(made):
    _, first, clips = made
    other = texture(W, H, seed=99)
    own = measure_video(clips["slow"], first).first_frame_ssim
    assert own is not None and own > 0.9
    strange = measure_video(clips["slow"], other).first_frame_ssim
    assert strange is not None and strange < 0.3
    # the same image given as bytes or as a PIL image scores the same as its file
    assert measure_video(clips["slow"], first.read_bytes()).first_frame_ssim == own
    assert measure_video(clips["slow"], png_bytes(other)).first_frame_ssim == strange
    assert measure_video(clips["slow"]).first_frame_ssim is None  # no start image


def test_a_start_image_of_another_shape_is_centre_cropped_to_the_video(made, tmp_path):
    """A start image twice as tall with the first frame in its middle band fits it exactly
    once centre-cropped to 16:9 (the service keeps the video's shape)."""
    _, first, clips = made
    from PIL import Image

    tall = Image.new("RGB", (W, 2 * H), (0, 0, 0))
    tall.paste(Image.open(first), (0, H // 2))
    assert measure_video(clips["still"], tall).first_frame_ssim > 0.9


def test_what_was_delivered_is_read_exactly(made):
    _, _, clips = made
    plain = measure_video(clips["slow"])
    assert (plain.duration_s, plain.fps, plain.width, plain.height) == (2.0, 24.0, W, H)
    assert plain.has_audio is False
    sound = measure_video(clips["sound"])
    assert (sound.fps, sound.width, sound.height, sound.has_audio) == (15.0, W, H, True)
    assert sound.duration_s == pytest.approx(3.0, abs=0.05)


def test_ffmpeg_descriptions_are_parsed_for_every_field():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 2000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 1900 kb/s, 23.98 fps, 23.98 tbr, 24k tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
At least one output file must be specified"""
    got = parse_header(text)
    assert (got.duration_s, got.fps, got.width, got.height, got.has_audio) == (
        62.5, 23.98, 1920, 1080, True,
    )  # fmt: skip
    with pytest.raises(MeasureError, match="no video stream"):
        parse_header(text.replace("Video:", "Data:"))


def test_frames_are_decoded_small_keeping_their_shape_and_never_enlarged(made, tmp_path):
    source, _, clips = made
    frames, _ = decode(clips["still"])
    assert frames.shape == (48, 144, 256) and str(frames.dtype) == "uint8"
    tall = tmp_path / "tall.png"
    texture(200, 400).save(tall)
    portrait = pan_clip(tmp_path / "portrait.mp4", tall, width=180, height=320, y=0)
    assert decode(portrait)[0].shape[1:] == (256, 144)
    small = pan_clip(tmp_path / "small.mp4", source, width=160, height=90, seconds=0.5)
    assert decode(small)[0].shape == (12, 90, 160)


def test_bad_input_is_refused_with_a_clear_error(made, tmp_path):
    _, _, clips = made
    with pytest.raises(ValidationError, match="path"):
        measure_video(42)  # type: ignore[arg-type]
    with pytest.raises(MeasureError, match="no such file"):
        measure_video(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MeasureError, match="junk.mp4") as caught:
        measure_video(junk)
    assert isinstance(caught.value, ViduError)
    with pytest.raises(ValidationError, match="start_image"):
        measure_video(clips["still"], tmp_path / "missing.png")
    with pytest.raises(ValidationError, match="start_image"):
        measure_video(clips["still"], 3.5)  # type: ignore[arg-type]


def test_every_measure_has_a_formula_and_a_short_label():
    fields = {f.name for f in dataclasses.fields(Measures)}
    assert set(FORMULAS) == fields == set(Measures.formulas)
    assert "Farneback" in FORMULAS["motion"] and "OpenCV" in FORMULAS["motion"]
    m = Measures(0.1234, 0.0012, 0.912, 5.0, 24.0, 1280, 720, True)
    assert m.label == "motion 0.12 \u00b7 flicker 0.001 \u00b7 ssim 0.91"
    assert Measures(None, None, None, 1.0, 24.0, 2, 2, False).label == ""
    assert m.as_dict()["has_audio"] is True


def test_probe_reads_what_the_file_is_without_decoding(made, tmp_path):
    _, _, clips = made
    delivered = probe(clips["sound"])
    assert (delivered.fps, delivered.width, delivered.height) == (15.0, W, H)
    assert delivered.duration_s == pytest.approx(3.0, abs=0.05) and delivered.has_audio
    with pytest.raises(MeasureError, match="no such file"):
        probe(tmp_path / "gone.mp4")
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(MeasureError, match="not a video"):
        probe(tmp_path / "text.mp4")
