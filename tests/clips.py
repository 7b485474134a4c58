"""Video clips of known content, made with the bundled ffmpeg for the measures' tests.

A textured picture (blurred noise: optical flow has something to follow everywhere) is
panned over by ``crop`` at a known speed, so the expected motion is known in frame widths per
second; brightness can alternate between frames (flicker), and a tone can be added (audio).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image, ImageFilter


def texture(width: int, height: int, seed: int = 1, grain: int = 4) -> Image.Image:
    """Smooth random texture: noise at 1/``grain`` of the size, scaled up and blurred."""
    rng = np.random.default_rng(seed)
    shape = (max(1, height // grain), max(1, width // grain), 3)
    small = rng.integers(0, 256, shape, dtype=np.uint8)
    big = Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC)
    return big.filter(ImageFilter.GaussianBlur(1.5 * grain / 4))


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def pan_clip(
    out: Path,
    source: Path,
    *,
    speed: float = 0.0,
    width: int = 320,
    height: int = 180,
    seconds: float = 2.0,
    fps: int = 24,
    y: int = 20,
    flicker: float = 0.0,
    audio: bool = False,
) -> Path:
    """A ``width`` x ``height`` window moving right over ``source`` at ``speed`` px/s (0: a
    still), its brightness alternating by ``flicker`` (ffmpeg ``eq`` units, -1..1) between
    frames, with a sine tone when ``audio``."""
    chain = f"crop={width}:{height}:x='t*{speed}':y={y}"
    if flicker:
        chain += f",eq=brightness='{flicker}*mod(n\\,2)':eval=frame"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-loop", "1", "-framerate", str(fps), "-i", str(source)]  # fmt: skip
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=f=440:r=22050:d={seconds}"]
    cmd += ["-vf", chain + ",format=yuv420p", "-t", str(seconds), "-r", str(fps),
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "20"]  # fmt: skip
    if audio:
        cmd += ["-c:a", "aac", "-b:a", "32k", "-shortest"]
    subprocess.run([*cmd, str(out)], check=True, capture_output=True, timeout=120)
    return out
