"""A still of each video for the report, seen without playing it (and in print).

For now one representative frame (ffmpeg's ``thumbnail`` filter picks it among the first
frames), made with the bundled ffmpeg; a contact sheet of several frames can take its place
behind the same ``still`` function.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from ..recipe import RecipeError, ffmpeg_exe

log = logging.getLogger(__name__)

#: Width of a still in pixels (about a grid cell's width on a wide screen).
WIDTH = 480


def still(video: Path, out: Path) -> Path | None:
    """Write a JPEG still of ``video`` to ``out``; ``None`` (logged) when ffmpeg cannot."""
    try:
        cmd = [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-i", str(video), "-vf", f"thumbnail,scale='min({WIDTH},iw)':-2", "-frames:v", "1",
            "-q:v", "4", str(out),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired, RecipeError) as exc:
        log.info("%s: no still: %s", video.name, exc)
        return None
    if result.returncode != 0 or not out.is_file():
        log.info("%s: no still: %s", video.name, result.stderr.decode("utf-8", "replace")[-200:])
        out.unlink(missing_ok=True)
        return None
    return out
