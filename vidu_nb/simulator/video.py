"""Real, playable result videos: a slow pan and zoom over the start frame, H.264 in MP4.

Encoding runs in a small worker pool with ffmpeg from imageio-ffmpeg, never in an HTTP thread.
Results are cached by (image hash, duration, height, fps): a batch of 200 tasks with one image
encodes once. Each result is three files: the video, a "watermarked" variant (a mark drawn in
the corner, encoded in the same ffmpeg run) and a JPEG cover (the first frame).
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tempfile
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ZOOM = 0.12  # how far the camera moves in over the whole clip


@dataclass(frozen=True)
class VideoFiles:
    video: Path
    watermarked: Path
    cover: Path
    width: int
    height: int


def frame_size(width: int, height: int, target_height: int) -> tuple[int, int]:
    """Even output dimensions with the image's aspect ratio (clamped to 1:4..4:1)."""
    ratio = min(4.0, max(0.25, width / height if height else 1.0))
    h = max(2, target_height - target_height % 2)
    w = max(2, int(round(h * ratio / 2)) * 2)
    return w, h


def _names(out: Path) -> tuple[Path, Path, Path]:
    return (
        out.with_name(out.name + ".mp4"),
        out.with_name(out.name + "-wm.mp4"),
        out.with_name(out.name + ".jpg"),
    )


def encode(image: bytes, duration: float, height: int, fps: int, out: Path) -> VideoFiles:
    """Encode the clip for ``image`` into files named after ``out`` (``.mp4``, ``-wm.mp4``, ``.jpg``)."""
    import imageio_ffmpeg

    with Image.open(io.BytesIO(image)) as im:
        frame = im.convert("RGB")
    w, h = frame_size(frame.width, frame.height, height)
    frames = max(1, int(round(duration * fps)))
    out.parent.mkdir(parents=True, exist_ok=True)
    video, marked, cover = _names(out)
    with tempfile.TemporaryDirectory(prefix="vidu-sim-") as tmp:
        src = Path(tmp) / "frame.png"
        # Twice the output size so the zoom does not shimmer.
        frame.resize((2 * w, 2 * h), Image.LANCZOS).save(src)
        frame.resize((w, h), Image.LANCZOS).save(Path(tmp) / "cover.jpg", "JPEG", quality=85)
        # One decoded still, zoompan emits all frames from it (d=frames): fast at any length.
        zoom = f"1+{ZOOM}*on/{frames}"
        graph = (
            f"[0:v]zoompan=z='{zoom}':x='(iw-iw/zoom)*on/{frames}':y='(ih-ih/zoom)/2'"
            f":d={frames}:s={w}x{h}:fps={fps},format=yuv420p,split[a][b];"
            f"[b]drawbox=x=iw*3/4-8:y=ih*9/10-8:w=iw/4:h=ih/10:color=white@0.6:t=fill[m]"
        )
        tmp_video, tmp_marked = Path(tmp) / "v.mp4", Path(tmp) / "m.mp4"
        common = [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "28",
            "-pix_fmt",
            "yuv420p",
            "-r",
            str(fps),
            "-frames:v",
            str(frames),
            "-movflags",
            "+faststart",
        ]
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-i", str(src),
            "-filter_complex", graph,
            "-map", "[a]", *common, str(tmp_video),
            "-map", "[m]", *common, str(tmp_marked),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError("ffmpeg failed: " + result.stderr.decode(errors="replace")[-500:])
        os.replace(tmp_video, video)
        os.replace(tmp_marked, marked)
        os.replace(Path(tmp) / "cover.jpg", cover)
    return VideoFiles(video, marked, cover, w, h)


class VideoMaker:
    """Encodes in the background and caches by content; ``request`` returns a Future."""

    def __init__(self, directory: Path, *, height: int = 240, fps: int = 12, workers: int = 2):
        self.directory = Path(directory)
        self.height = height
        self.fps = fps
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidu-sim-encode")
        self._lock = threading.Lock()
        self._futures: dict[str, Future[VideoFiles]] = {}
        self.encodes = 0  # how many ffmpeg runs happened (tests check the cache works)

    def key(self, image: bytes, duration: float) -> str:
        digest = hashlib.sha256(image).hexdigest()[:20]
        return f"{digest}-{duration:g}s-{self.height}p-{self.fps}fps"

    def request(self, image: bytes, duration: float) -> Future[VideoFiles]:
        key = self.key(image, duration)
        with self._lock:
            future = self._futures.get(key)
            if future is not None and not (future.done() and future.exception()):
                return future
            out = self.directory / key
            existing = self._existing(out)
            if existing is not None:
                future = Future()
                future.set_result(existing)
            else:
                future = self._pool.submit(self._encode, image, duration, out)
            self._futures[key] = future
            return future

    def _encode(self, image: bytes, duration: float, out: Path) -> VideoFiles:
        with self._lock:
            self.encodes += 1
        return encode(image, duration, self.height, self.fps, out)

    def _existing(self, out: Path) -> VideoFiles | None:
        """Files left by an earlier run in a persistent ``data_dir`` are reused."""
        video, marked, cover = _names(out)
        if not (video.exists() and marked.exists() and cover.exists()):
            return None
        with Image.open(cover) as im:
            w, h = im.size
        return VideoFiles(video, marked, cover, w, h)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
