"""Real, playable result videos: a pan and zoom over the start frame, H.264 in MP4.

The clip depends on the request, so a comparison grid shows different videos: the seed picks
one of ``MOTIONS`` (push in and drift right, pull out and drift left, ...), the request's
``movement_amplitude`` how far it goes (``AMPLITUDES``: a slow pan for ``small``, a fast one for
``large``, or no move at all for the simulator's ``still`` clips), so a sweep over the amplitude
gives clips whose measured motion differs, and a caption band names the prompt (and the seed,
when the request set one). Encoding runs in a small worker pool with ffmpeg from
imageio-ffmpeg, never in an HTTP thread. Results are cached by everything that shows (image
hash, duration, size, fps, motion, amplitude, caption): 200 tasks with one image, no prompt,
one amplitude and random seeds encode at most ``len(MOTIONS)`` times.

The size follows the request: the image's aspect, and the resolution's lines on the short side,
all scaled by one factor (``max_lines / 1080``, 360 lines for 1080p by default) so encodes stay
fast; each file's ``comment`` metadata says what was asked and what was made. Each result is three files: the
video, a "watermarked" variant (a mark drawn in the corner, encoded in the same ffmpeg run)
and a JPEG cover (the first frame). With ``audio`` the clip has a soft tone as its sound track
(pitch from the motion), so players' mute controls have something to act on.
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

from PIL import Image, ImageDraw, ImageFont


@dataclass(frozen=True)
class Motion:
    """A camera move: zoom factor and crop position (0 = left/top, 1 = right/bottom), from
    the first frame to the last."""

    zoom: tuple[float, float]
    x: tuple[float, float]
    y: tuple[float, float]

    def at(self, p: float) -> tuple[float, float, float]:
        """Zoom, x and y at ``p`` in 0..1 along the clip."""
        return tuple(a + (b - a) * p for a, b in (self.zoom, self.x, self.y))  # type: ignore[return-value]

    def scaled(self, room: float, travel: float) -> Motion:
        """This move made bigger or smaller: the zoom's excess over 1 times ``room`` (more
        room to pan, so the same 0..1 crop positions cover more of the picture), then every
        change (zoom, x, y) times ``travel`` about its middle (0: a still frame)."""

        def span(a: float, b: float) -> tuple[float, float]:
            mid, half = (a + b) / 2, (b - a) / 2 * travel
            return (round(mid - half, 4), round(mid + half, 4))

        z0, z1 = (1 + (z - 1) * room for z in self.zoom)
        return Motion(zoom=span(z0, z1), x=span(*self.x), y=span(*self.y))


#: The seed picks one (``seed % len(MOTIONS)``); few, so random seeds share encodes.
MOTIONS = (
    Motion(zoom=(1.05, 1.25), x=(0.0, 1.0), y=(0.5, 0.5)),  # push in, drift right
    Motion(zoom=(1.3, 1.08), x=(1.0, 0.0), y=(0.5, 0.5)),  # pull out, drift left
    Motion(zoom=(1.2, 1.35), x=(0.5, 0.5), y=(1.0, 0.0)),  # push in, tilt up
    Motion(zoom=(1.35, 1.15), x=(0.0, 1.0), y=(0.0, 1.0)),  # pull out, down and right
)
#: How far the move goes per ``movement_amplitude`` (``auto`` is ``medium``): (room, travel)
#: for ``Motion.scaled``. ``medium`` is the move as written; ``small`` goes a third of the
#: way (a slow pan), ``large`` zooms in 2.8 times as far so the same pan crosses about as much
#: more picture (a fast one; the deepest zoom stays under 2, the size of the still it is cut
#: from); ``still`` does not move (the simulator's ``still`` option).
AMPLITUDES: dict[str, tuple[float, float]] = {
    "still": (1.0, 0.0),
    "small": (1.0, 0.3),
    "medium": (1.0, 1.0),
    "large": (2.8, 1.0),
}
AMPLITUDE_ALIASES = {"auto": "medium"}  # the service picks; the simulator picks the middle
CAPTION_CHARS = 80  # longer prompts are cut (the band shows one line anyway)


@dataclass(frozen=True)
class Look:
    """What a clip shows besides the image: which motion, and the caption band's text."""

    motion: int = 0
    prompt: str = ""  # left in the band, cut to fit
    seed: str = ""  # right in the band, always whole
    audio: bool = False  # a sound track (the request's ``audio``)
    amplitude: str = "medium"  # a key of ``AMPLITUDES``: how far the move goes

    @property
    def caption(self) -> str:
        return "  ".join(p for p in (self.prompt, self.seed) if p)


#: Tone of the sound track per motion (Hz): soft, and different between neighbouring clips.
TONES = (220.0, 277.2, 329.6, 392.0)


def look_for(
    prompt: str = "",
    seed: int | None = None,
    *,
    show_seed: bool = True,
    audio: bool = False,
    amplitude: str = "auto",
) -> Look:
    """The clip's look for a request: motion from the seed, how far it goes from
    ``amplitude`` (``auto`` is ``medium``, so both share one encode), caption from prompt and
    seed.

    ``show_seed=False`` for a seed the server drew (it would make every clip a new encode).
    """
    amplitude = AMPLITUDE_ALIASES.get(amplitude, amplitude)
    if amplitude not in AMPLITUDES:
        raise ValueError(f"amplitude={amplitude!r}: must be one of {sorted(AMPLITUDES)} or auto")
    text = " ".join(prompt.split())
    if len(text) > CAPTION_CHARS:
        text = text[: CAPTION_CHARS - 1] + "\u2026"
    return Look(
        motion=0 if seed is None else seed % len(MOTIONS),
        prompt=f"\u201c{text}\u201d" if text else "",
        seed=f"seed {seed}" if seed is not None and show_seed else "",
        audio=audio,
        amplitude=amplitude,
    )


@dataclass(frozen=True)
class VideoFiles:
    video: Path
    watermarked: Path
    cover: Path
    width: int
    height: int


#: The lines (short side) of each resolution; a resolution not listed counts as 720p.
RESOLUTION_LINES = {"360p": 360, "540p": 540, "720p": 720, "1080p": 1080}
#: The resolution that gets ``max_lines``: every other one is scaled by the same factor.
TOP_LINES = 1080
#: Lines of a 1080p clip unless the simulator is told otherwise (``video_height``).
DEFAULT_MAX_LINES = 360


def lines_for(resolution: str, max_lines: int = DEFAULT_MAX_LINES) -> int:
    """The short side of a clip for ``resolution``: its lines times ``max_lines / 1080``
    (never enlarged, never above ``max_lines``), even, as H.264 in yuv420p needs."""
    lines = RESOLUTION_LINES.get(str(resolution).lower(), RESOLUTION_LINES["720p"])
    scaled = min(max_lines, int(round(lines * min(1.0, max_lines / TOP_LINES))))
    return max(2, scaled - scaled % 2)


def frame_size(width: int, height: int, lines: int) -> tuple[int, int]:
    """Even output dimensions with the image's aspect ratio (clamped to 1:4..4:1) and
    ``lines`` on the short side (the height of a landscape image, the width of a portrait)."""
    ratio = min(4.0, max(0.25, width / height if height else 1.0))
    short = max(2, lines - lines % 2)
    long = max(2, int(round(short * max(ratio, 1 / ratio) / 2)) * 2)
    return (long, short) if ratio >= 1 else (short, long)


def _names(out: Path) -> tuple[Path, Path, Path]:
    return (
        out.with_name(out.name + ".mp4"),
        out.with_name(out.name + "-wm.mp4"),
        out.with_name(out.name + ".jpg"),
    )


def caption_band(look: Look, width: int, height: int) -> Image.Image:
    """A translucent band across the top of the frame: the prompt (cut to fit), the seed."""
    size = max(8, height // 16)
    font = ImageFont.load_default(size=size)
    band = Image.new("RGBA", (width, size + size // 2 + 4), (0, 0, 0, 150))
    draw = ImageDraw.Draw(band)
    pad, middle, white = size // 2, band.height // 2, (255, 255, 255, 235)
    room = width - 2 * pad
    if look.seed:
        draw.text((width - pad, middle), look.seed, font=font, fill=white, anchor="rm")
        room -= int(draw.textlength(look.seed, font=font)) + size
    text = look.prompt
    if draw.textlength(text, font=font) > room:
        while text and draw.textlength(text + "\u2026", font=font) > room:
            text = text[:-1]
        text = text.rstrip() + "\u2026"
    draw.text((pad, middle), text, font=font, fill=white, anchor="lm")
    return band


def _first_frame(big: Image.Image, motion: Motion, size: tuple[int, int]) -> Image.Image:
    """The clip's first frame, cropped as zoompan crops it (the cover matches the video)."""
    zoom, fx, fy = motion.at(0.0)
    cw, ch = big.width / zoom, big.height / zoom
    x, y = (big.width - cw) * fx, (big.height - ch) * fy
    return big.crop((int(x), int(y), int(x + cw), int(y + ch))).resize(
        size, Image.Resampling.LANCZOS
    )


def encode(
    image: bytes,
    duration: float,
    lines: int,
    fps: int,
    out: Path,
    look: Look = Look(),
    *,
    requested: str = "",
) -> VideoFiles:
    """Encode the clip for ``image`` into files named after ``out`` (``.mp4``, ``-wm.mp4``,
    ``.jpg``), ``lines`` on its short side; ``requested`` (a resolution) goes into the
    videos' ``comment`` with the size made."""
    import imageio_ffmpeg

    with Image.open(io.BytesIO(image)) as im:
        frame = im.convert("RGB")
    w, h = frame_size(frame.width, frame.height, lines)
    comment = f"vidu-nb simulator: {w}x{h}"
    if requested:
        comment += f" for {requested}, scaled down to keep encoding fast"
    frames = max(1, int(round(duration * fps)))
    motion = MOTIONS[look.motion % len(MOTIONS)].scaled(*AMPLITUDES[look.amplitude])
    out.parent.mkdir(parents=True, exist_ok=True)
    video, marked, cover = _names(out)
    with tempfile.TemporaryDirectory(prefix="vidu-sim-") as tmp:
        src, band_png = Path(tmp) / "frame.png", Path(tmp) / "caption.png"
        # twice the size: no zoom shimmer
        big = frame.resize((2 * w, 2 * h), Image.Resampling.LANCZOS)
        big.save(src)
        first = _first_frame(big, motion, (w, h))
        inputs = ["-i", str(src)]
        # One decoded still, zoompan emits all frames from it (d=frames): fast at any length.
        p = f"(on/{frames})"
        (z0, z1), (x0, x1), (y0, y1) = motion.zoom, motion.x, motion.y
        graph = (
            f"[0:v]zoompan=z='{z0}+({z1 - z0:.4f})*{p}'"
            f":x='(iw-iw/zoom)*({x0}+({x1 - x0:.4f})*{p})'"
            f":y='(ih-ih/zoom)*({y0}+({y1 - y0:.4f})*{p})'"
            f":d={frames}:s={w}x{h}:fps={fps}"
        )
        if look.caption:
            band = caption_band(look, w, h)
            band.save(band_png)
            first.paste(band, (0, 0), band)
            inputs += ["-i", str(band_png)]
            graph += "[z];[z][1:v]overlay=0:0"
        graph += (
            ",format=yuv420p,split[a][b];"
            "[b]drawbox=x=iw*3/4-8:y=ih*9/10-8:w=iw/4:h=ih/10:color=white@0.6:t=fill[m]"
        )
        sound: list[str] = []
        if look.audio:
            tone = TONES[look.motion % len(TONES)]
            inputs += ["-f", "lavfi", "-t", f"{frames / fps:.3f}", "-i", f"sine=f={tone}:r=22050"]
            fade = max(0.0, frames / fps - 0.3)
            graph += (
                f";[{inputs.count('-i') - 1}:a]volume=0.12,afade=t=in:d=0.2,"
                f"afade=t=out:st={fade:.3f}:d=0.3,asplit[s1][s2]"
            )
            sound = ["-c:a", "aac", "-b:a", "32k"]
        first.save(Path(tmp) / "cover.jpg", "JPEG", quality=85)
        tmp_video, tmp_marked = Path(tmp) / "v.mp4", Path(tmp) / "m.mp4"
        common = [
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "28", "-pix_fmt", "yuv420p",
            "-r", str(fps), "-frames:v", str(frames), "-movflags", "+faststart",
            "-metadata", f"comment={comment}",
        ]  # fmt: skip
        cmd = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            *inputs,
            "-filter_complex", graph,
            "-map", "[a]", *(["-map", "[s1]", *sound] if sound else []), *common, str(tmp_video),
            "-map", "[m]", *(["-map", "[s2]", *sound] if sound else []), *common, str(tmp_marked),
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError("ffmpeg failed: " + result.stderr.decode(errors="replace")[-500:])
        os.replace(tmp_video, video)
        os.replace(tmp_marked, marked)
        os.replace(Path(tmp) / "cover.jpg", cover)
    return VideoFiles(video, marked, cover, w, h)


class VideoMaker:
    """Encodes in the background and caches by content; ``request`` returns a Future.

    ``max_lines`` is the short side of a 1080p clip; other resolutions get the same scale."""

    def __init__(
        self,
        directory: Path,
        *,
        max_lines: int = DEFAULT_MAX_LINES,
        fps: int = 12,
        workers: int = 2,
    ):
        self.directory = Path(directory)
        self.max_lines = max_lines
        self.fps = fps
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vidu-sim-encode")
        self._lock = threading.Lock()
        self._futures: dict[str, Future[VideoFiles]] = {}
        self.encodes = 0  # how many ffmpeg runs happened (tests check the cache works)

    def key(
        self, image: bytes, duration: float, look: Look = Look(), resolution: str = "720p"
    ) -> str:
        digest = hashlib.sha256(image).hexdigest()[:20]
        lines = lines_for(resolution, self.max_lines)
        key = f"{digest}-{duration:g}s-{lines}p-{self.fps}fps-m{look.motion}-{look.amplitude}"
        if look.caption:
            key += "-c" + hashlib.sha256(look.caption.encode()).hexdigest()[:12]
        if look.audio:
            key += "-a"
        return key

    def request(
        self, image: bytes, duration: float, look: Look = Look(), resolution: str = "720p"
    ) -> Future[VideoFiles]:
        """The clip for a request (``resolution`` as the request resolved it)."""
        key = self.key(image, duration, look, resolution)
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
                future = self._pool.submit(self._encode, image, duration, out, look, resolution)
            self._futures[key] = future
            return future

    def _encode(
        self, image: bytes, duration: float, out: Path, look: Look, resolution: str
    ) -> VideoFiles:
        with self._lock:
            self.encodes += 1
        lines = lines_for(resolution, self.max_lines)
        return encode(image, duration, lines, self.fps, out, look, requested=resolution)

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
