"""Stills of a result video: a strip of frames, and the labelled contact sheet drawn from it.

A saved notebook opened where no kernel or widget manager runs (nbconvert's HTML, nbviewer,
GitHub, JupyterLab without the widget state) shows only the static parts of an output: a
player there is an empty box. So the views put a contact sheet beside each player: ``FRAMES``
frames spread evenly through the video, side by side, with the cell's labels drawn under them.

Decoding is the slow part (one run of the ffmpeg that imageio-ffmpeg bundles), so the frames
are cached next to the video as one strip, ``<video>.sheet.jpg``, keyed by the video file's
size and modification time: made once per video (the poller makes it right after the
download), again only when the file changes. Labels depend on the view (a grid names what
varies), so the sheet is drawn from the cached strip when shown, which takes milliseconds,
and JPEG-compressed until it fits the byte budget a saved notebook can afford per video.
"""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

#: Frames per strip, and the box each is scaled into (a 16:9 frame becomes 160x90).
FRAMES = 5
FRAME_BOX = (160, 120)
GAP = 2
#: The cached strip is a working copy, kept sharp: the sheet drawn from it is what is squeezed.
STRIP_QUALITY = 90
SUFFIX = ".sheet.jpg"
#: Bytes of JPEG a sheet and a poster may take (before base64, which adds a third): together
#: with their labels they stay under the 20 KB a saved notebook spends on a video's stills.
SHEET_MAX_BYTES = 10_000
POSTER_MAX_BYTES = 3_000
FFMPEG_TIMEOUT = 120.0
_FORMAT = "vidu-strip/1"
_LOCKS = [threading.Lock() for _ in range(16)]
_DURATION = re.compile(rb"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
#: Sheets drawn lately, by strip key and labels: a grid redrawn is not drawn again.
_DRAWN: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
_DRAWN_MAX = 256
_DRAWN_LOCK = threading.Lock()


@dataclass(frozen=True)
class Strip:
    """Frames of one video side by side (``frames`` of ``frame_width`` each, ``GAP`` apart)."""

    image: Image.Image
    frames: int
    frame_width: int
    key: str = ""  # what the strip was made from (file, size, mtime), for memoizing

    def frame(self, index: int) -> Image.Image:
        x = index * (self.frame_width + GAP)
        return self.image.crop((x, 0, x + self.frame_width, self.image.height))


def strip_path(video: str | os.PathLike[str]) -> Path:
    """Where the strip of ``video`` is cached: beside it, named after it."""
    path = Path(video)
    return path.with_name(path.name + SUFFIX)


def _lock_for(path: Path) -> threading.Lock:
    """One maker at a time per video (the poller and a view may ask together)."""
    return _LOCKS[hash(str(path)) % len(_LOCKS)]


def _key(video: Path) -> str:
    st = video.stat()
    return f"{_FORMAT} size={st.st_size} mtime={st.st_mtime_ns}"


def cached_strip(video: str | os.PathLike[str]) -> Strip | None:
    """The cached strip of ``video`` if it is current (made from this very file), else None."""
    path = Path(video)
    try:
        key = _key(path)
        with Image.open(strip_path(path)) as im:
            comment = im.info.get("comment", b"")
            text = comment.decode("ascii", "replace") if isinstance(comment, bytes) else comment
            if not text.startswith(key + " "):
                return None
            fields = dict(part.split("=", 1) for part in text[len(key) + 1 :].split())
            frames, width = int(fields["frames"]), int(fields["width"])
            im.load()
            return Strip(im.convert("RGB"), frames, width, f"{path}|{key}")
    except (OSError, ValueError, KeyError, SyntaxError):
        return None


def video_strip(video: str | os.PathLike[str], frames: int = FRAMES) -> Strip | None:
    """The strip of ``video``: the cached one, else decoded now and cached beside it.

    ``None`` when the file is missing or ffmpeg cannot decode it (logged, never raised: a
    still is a nicety, a view must show without it).
    """
    path = Path(video)
    if not path.is_file():
        return None
    with _lock_for(path):
        strip = cached_strip(path)
        if strip is not None:
            return strip
        try:
            key = _key(path)
            images = decode_frames(path, frames)
        except (OSError, subprocess.SubprocessError) as exc:
            log.info("no stills of %s: %s", path.name, exc)
            return None
        if not images:
            log.info("no stills of %s: ffmpeg gave no frames", path.name)
            return None
        strip = _join(images, f"{path}|{key}")
        _save(strip, path, key)
        return strip


def ensure_strip(video: str | os.PathLike[str]) -> Path | None:
    """Make the cached strip of ``video`` if it is missing (the poller, after a download)."""
    strip = video_strip(video)
    target = strip_path(video)
    return target if strip is not None and target.is_file() else None


def image_strip(image: str | os.PathLike[str]) -> Strip | None:
    """A one-frame strip of a picture (a task's cover, when its video is not on disk)."""
    path = Path(image)
    try:
        st = path.stat()
        with Image.open(path) as im:
            im.draft("RGB", FRAME_BOX)
            frame = im.convert("RGB")
    except (OSError, ValueError, SyntaxError):
        return None
    frame.thumbnail(FRAME_BOX, Image.Resampling.LANCZOS)
    return Strip(frame, 1, frame.width, f"{path}|{st.st_size}|{st.st_mtime_ns}")


def decode_frames(video: Path, frames: int = FRAMES) -> list[Image.Image]:
    """``frames`` frames spread evenly through ``video`` (the middle of each equal part),
    scaled into ``FRAME_BOX``, decoded by one ffmpeg run into a temporary folder."""
    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    duration = probe_duration(exe, video)
    w, h = FRAME_BOX
    scale = f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=area"
    if duration:
        # fps=n/d keeps, of the frames within half a step of each of 0, d/n, 2d/n, ..., the
        # last one: the one nearest the middle of each of the n equal parts of the video.
        pick, limit = f"fps={frames}/{duration:.3f}", frames
    else:  # no duration in the header: two frames a second, then every k-th of them
        pick, limit = "fps=2", 240
    with tempfile.TemporaryDirectory(prefix="vidu-frames-") as tmp:
        cmd = [
            exe, "-hide_banner", "-nostdin", "-loglevel", "error",
            "-i", str(video),
            "-an", "-sn", "-dn", "-vf", f"{pick},{scale}", "-frames:v", str(limit),
            str(Path(tmp) / "f%03d.bmp"),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, timeout=FFMPEG_TIMEOUT)
        names = sorted(Path(tmp).glob("f*.bmp"))
        if result.returncode != 0 and not names:
            message = result.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OSError(f"ffmpeg: {message[-1] if message else result.returncode}")
        images = []
        for name in names:
            with Image.open(name) as im:
                images.append(im.convert("RGB"))
    if len(images) > frames:
        step = len(images) / frames
        images = [images[int((i + 0.5) * step)] for i in range(frames)]
    return images


def probe_duration(exe: str, video: Path) -> float | None:
    """The duration in the container's header (``ffmpeg -i`` prints it), or None."""
    result = subprocess.run(
        [exe, "-hide_banner", "-nostdin", "-i", str(video)],
        capture_output=True,
        timeout=FFMPEG_TIMEOUT,
    )
    found = _DURATION.search(result.stderr)
    if not found:
        return None
    hours, minutes, seconds = found.groups()
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return total if total > 0 else None


def _join(images: list[Image.Image], key: str) -> Strip:
    width, height = images[0].size
    strip = Image.new("RGB", (len(images) * width + (len(images) - 1) * GAP, height))
    for i, frame in enumerate(images):
        if frame.size != (width, height):  # a size change inside the stream
            frame = frame.resize((width, height))
        strip.paste(frame, (i * (width + GAP), 0))
    return Strip(strip, len(images), width, key)


def _save(strip: Strip, video: Path, key: str) -> None:
    """Write the strip beside the video, whole or not at all (a temporary file renamed)."""
    target = strip_path(video)
    comment = f"{key} frames={strip.frames} width={strip.frame_width}"
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:  # a read-only folder: the strip is used, not kept
        log.info("cannot cache the stills of %s: %s", video.name, exc)
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            strip.image.save(fh, "JPEG", quality=STRIP_QUALITY, comment=comment)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        log.info("cannot cache the stills of %s: %s", video.name, exc)
        try:
            os.unlink(tmp)
        except OSError:
            pass


# -- drawing --------------------------------------------------------------------------------
PAD = 4
FONT_SIZE = 11
LINE_HEIGHT = 14
MIN_WIDTH = 360
MAX_LINES = 4


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=FONT_SIZE)


def fit_text(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, width: float) -> str:
    """``text`` on one line, cut with an ellipsis to ``width`` pixels."""
    text = " ".join(str(text).split())
    if font.getlength(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if font.getlength(text[:mid] + "\u2026") <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "\u2026"


def sheet_image(strip: Strip | None, lines: Sequence[str]) -> Image.Image:
    """The strip with ``lines`` of labels under it (the first one darker: the cell's name)."""
    font = _font()
    width = max(strip.image.width if strip is not None else 0, MIN_WIDTH)
    texts = [fit_text(font, line, width - 2 * PAD) for line in lines if line][:MAX_LINES]
    top = strip.image.height if strip is not None else 0
    band = 2 * PAD + LINE_HEIGHT * max(1, len(texts))
    image = Image.new("RGB", (width, top + band), (255, 255, 255))
    if strip is not None:
        image.paste(strip.image, ((width - strip.image.width) // 2, 0))
    draw = ImageDraw.Draw(image)
    for i, text in enumerate(texts):
        colour = (17, 17, 17) if i == 0 else (85, 85, 85)
        draw.text((PAD, top + PAD + i * LINE_HEIGHT), text, fill=colour, font=font)
    return image


def fit_jpeg(image: Image.Image, max_bytes: int) -> bytes:
    """``image`` as the best JPEG of at most ``max_bytes``: lower quality first, then smaller
    (text stays readable longer at a lower quality than at a smaller size)."""
    data = b""
    for scale, qualities in ((1.0, (80, 70, 60, 50, 40)), (0.8, (60, 45, 35)), (0.6, (50, 35)),
                             (0.45, (40, 30)), (0.3, (30,))):  # fmt: skip
        sized = image
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            sized = image.resize(size, Image.Resampling.LANCZOS)
        for quality in qualities:
            out = io.BytesIO()
            sized.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
            data = out.getvalue()
            if len(data) <= max_bytes:
                return data
    return data


def sheet_jpeg(
    strip: Strip | None, lines: Sequence[str], max_bytes: int = SHEET_MAX_BYTES
) -> bytes:
    """The contact sheet as a JPEG within ``max_bytes`` (remembered: a grid shown again, or a
    card and its player, draw it once)."""
    memo = (strip.key if strip is not None else None, tuple(lines), max_bytes)
    if strip is not None and strip.key:
        with _DRAWN_LOCK:
            if memo in _DRAWN:
                _DRAWN.move_to_end(memo)
                return _DRAWN[memo]
    data = fit_jpeg(sheet_image(strip, lines), max_bytes)
    if strip is not None and strip.key:
        with _DRAWN_LOCK:
            _DRAWN[memo] = data
            while len(_DRAWN) > _DRAWN_MAX:
                _DRAWN.popitem(last=False)
    return data


def poster_jpeg(strip: Strip, max_bytes: int = POSTER_MAX_BYTES) -> bytes:
    """The strip's middle frame as a small JPEG: what a player shows before it can play."""
    return fit_jpeg(strip.frame(strip.frames // 2), max_bytes)
