"""Contact sheets: frames spread through real videos (decoded by the bundled ffmpeg), cached
beside the video once per file version, drawn with labels within a byte budget."""

from __future__ import annotations

import io
import os
import threading

import pytest
from PIL import Image
from videos import noise_video, ramp_video

from vidu_nb.tracking import stills


def test_frames_are_spread_evenly_through_the_video(tmp_path):
    video = ramp_video(tmp_path / "ramp.mp4", seconds=5)
    strip = stills.video_strip(video)
    assert strip is not None and strip.frames == stills.FRAMES == 5
    assert strip.image.size == (5 * 160 + 4 * stills.GAP, 90)  # 16:9 into the 160x120 box
    reds = [strip.frame(i).getpixel((80, 45))[0] for i in range(strip.frames)]
    # The middle of each fifth of the video: 0.5 s, 1.5 s, ... of 5 s, red = 255 * t / 5.
    expected = [255 * (k + 0.5) / 5 for k in range(5)]
    assert all(abs(r - e) <= 16 for r, e in zip(reds, expected, strict=True)), reds


def test_the_strip_is_cached_beside_the_video_and_decoded_once(tmp_path):
    video = ramp_video(tmp_path / "t1.mp4")
    first = stills.video_strip(video)
    cached = tmp_path / "t1.mp4.sheet.jpg"
    assert first is not None and cached.is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t1.mp4", "t1.mp4.sheet.jpg"]
    # Same size and time, other bytes (no video at all): only the cache can answer now.
    st = video.stat()
    video.write_bytes(b"\0" * st.st_size)
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = stills.video_strip(video)
    assert again is not None and again.frames == first.frames
    assert again.image.tobytes() == Image.open(cached).convert("RGB").tobytes()
    # The file changed (its time moved): the strip is made again, from what is there now.
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert stills.video_strip(video) is None  # zeros do not decode


def test_a_replaced_video_gets_a_new_strip(tmp_path):
    video = ramp_video(tmp_path / "t1.mp4", size="160x90")
    assert stills.video_strip(video).image.height == 90
    ramp_video(tmp_path / "t1.mp4", seconds=2, size="120x120")  # square now
    os.utime(video, ns=(1, 1))  # whatever the clock did, the key differs
    assert stills.video_strip(video).image.height == 120
    assert stills.cached_strip(video).image.height == 120


def test_what_cannot_be_decoded_gives_no_strip_and_leaves_no_file(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    assert stills.video_strip(bad) is None
    assert stills.video_strip(tmp_path / "missing.mp4") is None
    assert stills.ensure_strip(bad) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]


def test_two_threads_asking_together_decode_once(tmp_path):
    video = ramp_video(tmp_path / "t1.mp4")
    got = []
    threads = [threading.Thread(target=lambda: got.append(stills.video_strip(video)))
               for _ in range(3)]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and all(s is not None and s.frames == 5 for s in got)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t1.mp4", "t1.mp4.sheet.jpg"]


def test_sheets_and_posters_fit_their_budget_even_for_noise(tmp_path):
    strip = stills.video_strip(noise_video(tmp_path / "noise.mp4"))
    assert strip is not None
    lines = ["t1 \u00b7 success", "a fox " * 80, "viduq2-pro \u00b7 5 s \u00b7 720p"]
    sheet = stills.sheet_jpeg(strip, lines)
    poster = stills.poster_jpeg(strip)
    assert len(sheet) <= stills.SHEET_MAX_BYTES and len(poster) <= stills.POSTER_MAX_BYTES
    with Image.open(io.BytesIO(sheet)) as im:
        assert im.format == "JPEG" and im.width >= 400  # squeezed, still a readable size
    with Image.open(io.BytesIO(poster)) as im:
        assert im.format == "JPEG" and im.width >= 80


def test_labels_are_cut_to_the_width_and_any_text_draws(tmp_path):
    font = stills._font()
    long = "a very long prompt " * 40
    cut = stills.fit_text(font, long, 300)
    assert cut.endswith("\u2026") and font.getlength(cut) <= 300
    assert stills.fit_text(font, "short", 300) == "short"
    hostile = "<script>alert(1)</script>\u202e\u0000 \u96ea\u306e\u72d0 \U0001f98a"
    sheet = stills.sheet_jpeg(None, [hostile, ""])  # no frames: the labels alone
    with Image.open(io.BytesIO(sheet)) as im:
        assert im.width == stills.MIN_WIDTH


def test_a_cover_makes_a_one_frame_strip(png_path):
    strip = stills.image_strip(png_path)
    assert strip is not None and strip.frames == 1 and strip.image.size == (160, 120)
    assert stills.image_strip(png_path.with_name("none.png")) is None


@pytest.mark.parametrize("size", ["90x160", "120x120"])
def test_portrait_and_square_frames_fit_the_box(tmp_path, size):
    strip = stills.video_strip(ramp_video(tmp_path / "v.mp4", seconds=2, size=size))
    w, h = (int(n) for n in size.split("x"))
    assert strip.frame_width <= 160 and strip.image.height <= 120
    assert abs(strip.frame_width / strip.image.height - w / h) < 0.05


def test_the_poller_makes_the_strip_of_each_video_it_downloads(tmp_path, png_bytes):
    from simhelpers import running_stack
    from waiting import until

    from vidu_nb import Img2VideoRequest

    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    with running_stack(tmp_path, speed=60, video_height=96) as (_sim, _client, log, poller):
        handles = poller.submit_many([request, request.replace(seed=2)])
        assert poller.wait_all(30)
        assert until(lambda: all(log.get_by_ref(h)["video_path"] for h in handles))
        videos = [log.get_by_ref(h)["video_path"] for h in handles]
        # No view asked for them: the download pool made them, once each, beside the videos.
        assert until(lambda: all(stills.strip_path(v).is_file() for v in videos))
        assert all(stills.cached_strip(v).frames == stills.FRAMES for v in videos)
