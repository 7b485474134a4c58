"""Measures of a delivered video: motion, flicker, fidelity to the start image, and what the
file actually is (duration, fps, size, sound).

Comparing generated clips by eye does not scale past a grid; these few numbers let a sweep be
sorted and filtered ("which settings give more motion", "which seeds flicker"). They are
cheap on purpose (well under a second for a 5 s 720p clip on two cores) so the poller can
compute them in the background after every download:

- the video is decoded once by the bundled ffmpeg (``imageio-ffmpeg``) straight to small grey
  frames (long side ``ANALYSIS_SIDE`` pixels, every frame), so nothing at full size is held;
- ``motion`` is the mean dense optical flow (OpenCV's Farneback) between consecutive frames,
  about ``FLOW_FPS`` pairs per second of video, in frame widths per second;
- ``flicker`` is how much the mean brightness jumps from one frame to the next beyond a smooth
  change (half the second difference), as a fraction of the full brightness range;
- ``first_frame_ssim`` is the SSIM (Wang et al. 2004) of the first frame and the start image,
  both grey at the analysis size, the image centre-cropped to the video's aspect ratio first.

``FORMULAS`` states each one exactly; ``docs/measures.md`` explains how to read them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..errors import ValidationError, ViduError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

#: Frames are analysed with their long side this many pixels (the aspect ratio kept).
ANALYSIS_SIDE = 256
#: Optical flow is computed for about this many pairs of consecutive frames per second.
FLOW_FPS = 8.0
#: Farneback parameters (OpenCV's documented example values): pyramid scale, levels, window,
#: iterations, polynomial neighbourhood and its sigma.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2)
#: ffmpeg may take this long for one video before it is given up (a broken file, a full disk).
DECODE_TIMEOUT_S = 120

FORMULAS = {
    "motion": (
        "mean over pairs of consecutive frames (t, t+1) of the mean over pixels of |F(x, y)|,"
        " the Farneback optical flow (OpenCV calcOpticalFlowFarneback) between the grey"
        f" frames scaled to a long side of {ANALYSIS_SIDE} px, divided by the scaled frame"
        f" width and multiplied by fps; about {FLOW_FPS:g} pairs per second of video, spread"
        " evenly (all pairs when fps is lower). Unit: frame widths per second (a pan across"
        " the whole picture in 5 s is 0.2; a still is 0)."
    ),
    "flicker": (
        "mean over frames t of |L(t-1) - 2 L(t) + L(t+1)| / 2 / 255, where L(t) is the mean"
        " grey level (0-255, BT.601 luma) of every decoded frame. A brightness that alternates"
        " by d between frames scores d / 255; a steady picture, a fade or a smooth pan ~0."
    ),
    "first_frame_ssim": (
        "SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03,"
        " L = 255), averaged over the picture, between the first decoded frame and the start"
        " image, both grey (BT.601 luma) at the analysis size; the image is centre-cropped to"
        " the video's aspect ratio and scaled with area averaging. 1 = identical; lower as the"
        " first frame departs from the image (a 5% zoom of fine detail already scores ~0.35,"
        " an unrelated picture 0-0.2)."
    ),
    "duration_s": "the container's duration as ffmpeg reports it (seconds)",
    "fps": "the video stream's frame rate as ffmpeg reports it",
    "width": "the video stream's width in pixels",
    "height": "the video stream's height in pixels",
    "has_audio": "True when the file has an audio stream",
}


class MeasureError(ViduError):
    """A video could not be measured (not a video, unreadable, ffmpeg failed)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        super().__init__(f"cannot measure {Path(path).name}: {reason}")


@dataclass(frozen=True)
class Measures:
    """What ``measure_video`` found; ``None`` where a measure does not apply (``motion`` of a
    one-frame video, ``first_frame_ssim`` without a start image). ``FORMULAS`` says how each
    is computed."""

    motion: float | None
    flicker: float | None
    first_frame_ssim: float | None
    duration_s: float
    fps: float
    width: int
    height: int
    has_audio: bool

    formulas: ClassVar[dict[str, str]] = FORMULAS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """A short text for a grid cell, e.g. ``motion 0.12 · flicker 0.003 · ssim 0.91``."""
        return short_label(self.motion, self.flicker, self.first_frame_ssim)


def short_label(motion: Any, flicker: Any, first_frame_ssim: Any) -> str:
    """``motion 0.12 · flicker 0.003 · ssim 0.91``, leaving out what is missing."""
    parts = []
    if motion is not None:
        parts.append(f"motion {motion:.2f}")
    if flicker is not None:
        parts.append(f"flicker {flicker:.3f}")
    if first_frame_ssim is not None:
        parts.append(f"ssim {first_frame_ssim:.2f}")
    return " \u00b7 ".join(parts)


@dataclass(frozen=True)
class Delivered:
    """What the file is, read from ffmpeg's description of its input."""

    duration_s: float
    fps: float
    width: int
    height: int
    has_audio: bool


def measure_video(
    path: str | os.PathLike[str],
    start_image: str | os.PathLike[str] | bytes | Image.Image | None = None,
) -> Measures:
    """Measure the video file at ``path``; ``start_image`` (a file, its bytes or a PIL image)
    gives ``first_frame_ssim``. Runs ffmpeg and numpy/OpenCV on the calling thread: call it
    from a worker (the poller does), not from a notebook cell that must stay responsive."""
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError("path", path, "must be a video file path (str or pathlib.Path)")
    if not Path(path).is_file():
        raise MeasureError(path, "no such file")
    frames, delivered = decode(path)
    reference = None if start_image is None else _grey_image(start_image)
    return Measures(
        motion=motion(frames, delivered.fps),
        flicker=flicker(frames),
        first_frame_ssim=None if reference is None else first_frame_ssim(frames[0], reference),
        duration_s=delivered.duration_s,
        fps=delivered.fps,
        width=delivered.width,
        height=delivered.height,
        has_audio=delivered.has_audio,
    )


def probe(path: str | os.PathLike[str]) -> Delivered:
    """What the file at ``path`` is (duration, fps, size, sound) without decoding a frame: one
    short ffmpeg run that only reads the header. For players that need a video's frame rate
    before it was measured; raises ``MeasureError`` like ``measure_video``."""
    if not Path(path).is_file():
        raise MeasureError(path, "no such file")
    result = _run([_ffmpeg(), "-hide_banner", "-nostdin", "-i", os.fspath(path)], path)
    return parse_header(result.stderr.decode("utf-8", "replace"), path)  # no output: exit 1


# -- decoding --------------------------------------------------------------------------------
def decode(path: str | os.PathLike[str], side: int = ANALYSIS_SIDE) -> tuple[Any, Delivered]:
    """Every frame of the video as grey ``uint8`` arrays ``(n, h, w)``, scaled while decoding
    to a long side of ``side`` pixels (never enlarged), and what the file is. One ffmpeg run:
    its description of the input says what was delivered, of the output the frames' size."""
    import numpy as np

    long_side = f"trunc(min({side},max(iw,ih))/2)*2"
    scale = f"scale='if(gte(iw,ih),{long_side},-2)':'if(gte(iw,ih),-2,{long_side})'"
    cmd = [
        _ffmpeg(), "-hide_banner", "-nostdin", "-nostats", "-i", os.fspath(path),
        "-an", "-sn", "-dn", "-vf", f"{scale}:flags=area,format=gray",
        "-f", "rawvideo", "-pix_fmt", "gray", "-",
    ]  # fmt: skip
    result = _run(cmd, path)
    text = result.stderr.decode("utf-8", "replace")
    delivered = parse_header(text, path)  # first: "not a video" says more than a failed decode
    if result.returncode != 0:
        raise MeasureError(path, "ffmpeg could not decode it: " + _tail(text))
    output = text.partition("Output #")[2]
    stream = next((ln for ln in output.splitlines() if " Video: " in ln), "")
    size = _size(stream)
    if size is None:
        raise MeasureError(path, "ffmpeg did not say the decoded frames' size: " + _tail(text))
    w, h = size
    count = len(result.stdout) // (w * h)
    if count == 0:
        raise MeasureError(path, "the video has no frames")
    frames = np.frombuffer(result.stdout, np.uint8, count * w * h).reshape(count, h, w)
    return frames, delivered


def parse_header(text: str, path: str | os.PathLike[str] = "video") -> Delivered:
    """What was delivered, from the input part of ffmpeg's description of a file
    (``Input #0 ... Duration: ... Stream #0:0: Video: ... 1280x720 ..., 24 fps``)."""
    inputs = text.split("Output #", 1)[0].split("Stream mapping:", 1)[0]
    streams = [line for line in inputs.splitlines() if line.lstrip().startswith("Stream #")]
    video = next((line for line in streams if " Video: " in line), None)
    if video is None or "Input #" not in inputs:
        raise MeasureError(path, "not a video (ffmpeg found no video stream): " + _tail(text))
    size = _size(video)
    if size is None:
        raise MeasureError(path, f"ffmpeg did not say the video's size: {video.strip()}")
    rate = re.search(r"([\d.]+)(k?) fps", video) or re.search(r"([\d.]+)(k?) tbr", video)
    fps = float(rate.group(1)) * (1000 if rate.group(2) else 1) if rate else 0.0
    length = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", inputs)
    duration = (
        int(length.group(1)) * 3600 + int(length.group(2)) * 60 + float(length.group(3))
        if length
        else 0.0
    )
    return Delivered(
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        width=size[0],
        height=size[1],
        has_audio=any(" Audio: " in line for line in streams),
    )


def _size(stream: str) -> tuple[int, int] | None:
    """``(width, height)`` from a ``Stream #...: Video: ...`` line, if it says."""
    found = re.search(r"[ ,](\d{1,5})x(\d{1,5})[ ,\]]", stream.partition(" Video: ")[2] + " ")
    return (int(found.group(1)), int(found.group(2))) if found else None


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _run(cmd: list[str], path: str | os.PathLike[str]) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise MeasureError(path, f"ffmpeg took over {DECODE_TIMEOUT_S} s") from None
    except OSError as exc:
        raise MeasureError(path, f"cannot run ffmpeg: {exc}") from None


def _tail(stderr: bytes | str) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][-300:] if lines else "no message"


# -- the measures ----------------------------------------------------------------------------
def motion(frames: np.ndarray, fps: float) -> float | None:
    """Mean Farneback flow magnitude in frame widths per second (``FORMULAS["motion"]``).

    Flow is computed between *consecutive* frames (small displacements, which Farneback
    follows accurately even in a fast pan), for about ``FLOW_FPS`` such pairs per second of
    video spread evenly over the clip (the cost stays fixed per second whatever the fps)."""
    import cv2
    import numpy as np

    pairs = len(frames) - 1
    if pairs < 1 or fps <= 0:
        return None
    count = min(pairs, max(1, int(round(pairs * FLOW_FPS / fps))))
    starts = np.unique(np.round(np.linspace(0, pairs - 1, count)).astype(int))
    pyr_scale, levels, window, iterations, poly_n, poly_sigma = FARNEBACK
    means = []
    flow = np.zeros((*frames.shape[1:], 2), np.float32)  # written by each call (flags 0)
    for t in starts.tolist():
        flow = cv2.calcOpticalFlowFarneback(
            frames[t], frames[t + 1], flow, pyr_scale, levels, window, iterations, poly_n,
            poly_sigma, 0,
        )  # fmt: skip
        means.append(float(np.mean(np.hypot(flow[..., 0], flow[..., 1]))))
    return round(float(np.mean(means)) / frames.shape[2] * fps, 5)


def flicker(frames: np.ndarray) -> float | None:
    """Brightness jumps beyond a smooth change, 0..1 (``FORMULAS["flicker"]``)."""
    import numpy as np

    if len(frames) < 3:
        return None
    levels = frames.reshape(len(frames), -1).mean(axis=1, dtype=np.float64)
    second = levels[:-2] - 2 * levels[1:-1] + levels[2:]
    return round(float(np.mean(np.abs(second))) / 2 / 255, 6)


def first_frame_ssim(frame: np.ndarray, image: np.ndarray) -> float:
    """SSIM of the first frame and the start image fitted to it (``FORMULAS[...]``)."""
    return round(ssim(frame, fit(image, frame.shape[1], frame.shape[0])), 4)


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """A grey image centre-cropped to ``width:height`` and scaled to that size (area)."""
    import cv2

    ih, iw = image.shape[:2]
    if iw * height > ih * width:  # wider than the video: cut the sides
        cw = max(1, int(round(ih * width / height)))
        image = image[:, (iw - cw) // 2 : (iw - cw) // 2 + cw]
    else:  # taller: cut top and bottom
        ch = max(1, int(round(iw * height / width)))
        image = image[(ih - ch) // 2 : (ih - ch) // 2 + ch, :]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of two grey images of one size (Gaussian window 11, sigma 1.5)."""
    import cv2
    import numpy as np

    if a.shape != b.shape:
        raise ValidationError("images", f"{a.shape} and {b.shape}", "must have the same size")
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(img, (11, 11), 1.5)

    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    score = ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(np.mean(score))


def _grey_image(image: str | os.PathLike[str] | bytes | Image.Image) -> np.ndarray:
    """The start image as grey ``uint8`` (BT.601 luma, as ffmpeg's grey frames), upright."""
    import numpy as np
    from PIL import Image, ImageOps

    if isinstance(image, Image.Image):
        im = image
    elif isinstance(image, (bytes, bytearray)):
        im = Image.open(io.BytesIO(image))
    elif isinstance(image, (str, os.PathLike)):
        try:
            im = Image.open(image)
        except (OSError, ValueError) as exc:
            raise ValidationError(
                "start_image", str(image), f"must be a readable image ({exc})"
            ) from None
    else:
        raise ValidationError("start_image", image, "must be a path, bytes or a PIL image")
    try:
        # A JPEG decodes at 1/2, 1/4 or 1/8 size when that is still twice the analysis size,
        # several times faster (a no-op for other formats).
        im.draft("L", (2 * ANALYSIS_SIDE, 2 * ANALYSIS_SIDE))
        upright = ImageOps.exif_transpose(im)
        return np.asarray((upright or im).convert("L"))
    except (OSError, ValueError) as exc:
        raise ValidationError("start_image", "image", f"must be a readable image ({exc})") from None
