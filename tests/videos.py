"""Real H.264 videos for tests, made with the ffmpeg imageio-ffmpeg bundles (~0.1 s each)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg


def encode(path: Path, source: str) -> Path:
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", source,
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


def ramp_video(path: Path, seconds: int = 5, size: str = "160x90") -> Path:
    """A video whose red level tells the time: 255 * t / seconds (green 128, blue 0)."""
    graph = f"color=c=black:s={size}:d={seconds}:r=24,geq=r='255*T/{seconds}':g='128':b='0'"
    return encode(path, graph)


def noise_video(path: Path, seconds: int = 3, size: str = "640x360") -> Path:
    """Fresh noise in every frame: the worst case for JPEG (what no budget should overflow)."""
    return encode(path, f"color=c=gray:s={size}:d={seconds}:r=24,noise=alls=100:allf=t+u")
