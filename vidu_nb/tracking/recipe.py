"""Videos that carry their recipe: how a video was made, written into the file and beside it.

A video found later in a downloads folder, a shared drive or a report says nothing about the
prompt, model or seed that made it. So every video the video cache downloads and every video a
report exports gets its *recipe* (model, prompt, seed, duration, resolution, the other request
fields, task id, experiment) twice: in the MP4's own metadata, and in a JSON sidecar next to it
(``clip.mp4`` -> ``clip.json``), for tools that read JSON but not MP4 atoms.

In the MP4 the prompt is the ``title``, the whole recipe (as JSON) the ``comment`` that players
and file browsers show, and each field a ``vidu_<field>`` tag of its own. The file is remuxed
with the bundled ffmpeg (``-codec copy``: no re-encoding, a few milliseconds) into a temporary
file that replaces the original only when complete, so a reader never sees a half-written one.
``read_recipe`` reads it back with the same ffmpeg.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import ViduError

log = logging.getLogger(__name__)

#: The fields of a recipe, in the order the sidecar and reports list them. Only request fields
#: and identity: never ``payload`` or ``callback_url`` (a caller's tokens may be in them).
RECIPE_FIELDS = (
    "task_id",
    "experiment",
    "model",
    "prompt",
    "seed",
    "duration",
    "resolution",
    "movement_amplitude",
    "audio",
    "audio_type",
    "voice_id",
    "bgm",
    "is_rec",
    "off_peak",
    "watermark",
    "wm_position",
    "wm_url",
    "meta_data",
    "image_sha256",
    "image_width",
    "image_height",
    "credits",
    "created_at",
    "finished_at",
    "tags",
)
#: Tags ``vidu_<field>`` carry the fields one by one; ``vidu_recipe`` the whole recipe as JSON.
PREFIX = "vidu_"
RECIPE_TAG = "vidu_recipe"
#: Brand atoms the MP4 muxer writes itself: copied as tags too they would read "isom;isom".
_BRAND_TAGS = ("major_brand", "minor_version", "compatible_brands")


class RecipeError(ViduError):
    """The recipe could not be written into (or read from) a video file."""


def recipe_of(row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The recipe of a task from its task-log row (a dict, a DataFrame row's ``to_dict()``, a
    ``TaskView.row``): the ``RECIPE_FIELDS`` it has a value for, as JSON values (times in ISO
    8601 UTC, tags as a list). ``seed`` is the one used, else the one asked for."""
    if not row:
        return {}
    values = dict(row)
    if json_value(values.get("seed")) is None:
        values["seed"] = values.get("seed_requested")
    out: dict[str, Any] = {}
    for name in RECIPE_FIELDS:
        value = json_value(values.get(name))
        if name == "tags" and isinstance(value, str):
            value = [t for t in value.split(",") if t]
        if value is None or value == "" or value == []:
            continue
        out[name] = value
    return out


def json_value(value: Any) -> Any:
    """A JSON value: numpy scalars as Python ones, pandas' missing values as ``None``, times
    as ISO 8601 UTC text to the millisecond."""
    if value is None or isinstance(value, (list, tuple)):
        return None if value is None else [json_value(v) for v in value]
    try:
        if value != value:  # NaN and NaT are not equal to themselves; pd.NA cannot say
            return None
    except (TypeError, ValueError):
        return None
    if isinstance(value, datetime):  # a pandas Timestamp too
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # To the millisecond: a log row (microseconds) and the DataFrame (nanoseconds from the
        # same float seconds) then give the same text.
        moment = datetime.fromtimestamp(round(value.timestamp(), 3), tz=timezone.utc)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()  # numpy scalar -> Python
        except (ValueError, AttributeError):
            pass
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def sidecar_path(video: str | os.PathLike[str]) -> Path:
    """Where a video's JSON sidecar goes: ``clip.mp4`` -> ``clip.json``."""
    return Path(video).with_suffix(".json")


def write_sidecar(video: str | os.PathLike[str], recipe: Mapping[str, Any]) -> Path:
    """Write ``recipe`` as ``<video>.json`` (whole or not at all); returns its path."""
    path = sidecar_path(video)
    text = json.dumps(dict(recipe), indent=2, ensure_ascii=False) + "\n"
    _atomic_write(path, text.encode("utf-8"))
    return path


def read_sidecar(video: str | os.PathLike[str]) -> dict[str, Any]:
    """The recipe in a video's sidecar (``{}`` when it has none)."""
    path = sidecar_path(video)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def is_mp4(path: str | os.PathLike[str]) -> bool:
    """An ISO media file (MP4/MOV): its first box is ``ftyp``."""
    try:
        with open(path, "rb") as fh:
            return fh.read(12)[4:8] == b"ftyp"
    except OSError:
        return False


def tag_video(
    video: str | os.PathLike[str],
    recipe: Mapping[str, Any],
    out: str | os.PathLike[str] | None = None,
    *,
    sidecar: bool = True,
) -> Path:
    """Write ``recipe`` into the MP4 ``video`` (in place, or into a copy at ``out``) and, with
    ``sidecar``, as JSON next to the result. Returns the tagged video's path.

    Raises ``RecipeError`` when the file is not an MP4 or ffmpeg cannot remux it; the original
    is then untouched (and ``out`` not created).
    """
    src = Path(video)
    dst = Path(out) if out is not None else src
    if not is_mp4(src):
        raise RecipeError(f"{src.name}: not an MP4 file; its recipe can only go in a sidecar")
    if out is not None and dst.exists() and dst.samefile(src):
        raise RecipeError(f"{dst}: out= is the video itself; leave out= to tag in place")
    tmp = _new_temp(dst.parent, dst.stem, ".mp4")
    try:
        _remux(src, tmp, recipe)
        if out is None:
            os.chmod(tmp, src.stat().st_mode & 0o777)
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sidecar:
        write_sidecar(dst, recipe)
    return dst


def _remux(src: Path, dst: Path, recipe: Mapping[str, Any]) -> None:
    tags: dict[str, str] = {name: "" for name in _BRAND_TAGS}
    data = json.dumps(dict(recipe), ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    tags.update(title=str(recipe.get("prompt", "")), comment=data)
    tags[RECIPE_TAG] = data
    for name, value in recipe.items():
        tags[PREFIX + name] = value if isinstance(value, str) else json.dumps(value)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(src),
        "-map", "0:v?", "-map", "0:a?", "-codec", "copy", "-map_metadata", "0",
    ]  # fmt: skip
    for name, value in tags.items():
        cmd += ["-metadata", f"{name}={_no_nul(value)}"]
    cmd += ["-movflags", "+faststart+use_metadata_tags", "-f", "mp4", str(dst)]
    try:
        result = subprocess.run(cmd, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RecipeError(f"{src.name}: ffmpeg could not run ({exc})") from None
    if result.returncode != 0:
        why = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise RecipeError(f"{src.name}: ffmpeg could not write its metadata ({why[0]})")


def _no_nul(text: str) -> str:
    """Command-line arguments cannot hold NUL; nothing a person writes needs one."""
    return text.replace("\x00", "")


def read_metadata(video: str | os.PathLike[str]) -> dict[str, str]:
    """Every global metadata tag of a video as ffmpeg reads it (``ffmpeg -i V -f ffmetadata``)."""
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(video),
        "-f", "ffmetadata", "-",
    ]  # fmt: skip
    try:
        result = subprocess.run(cmd, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RecipeError(f"{Path(video).name}: ffmpeg could not run ({exc})") from None
    if result.returncode != 0:
        why = result.stderr.decode("utf-8", "replace").strip()[-300:]
        raise RecipeError(f"{Path(video).name}: ffmpeg could not read it ({why})")
    return parse_ffmetadata(result.stdout.decode("utf-8", "replace"))


def parse_ffmetadata(text: str) -> dict[str, str]:
    """The global section of an FFMETADATA1 text: ``key=value`` lines where ``\\`` escapes the
    next character (``=``, ``;``, ``#``, ``\\`` or a newline that continues the value)."""
    out: dict[str, str] = {}
    entries: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for ch in chars:
        if ch == "\\":
            current.append("\\" + next(chars, ""))
        elif ch == "\n":
            entries.append("".join(current))
            current = []
        else:
            current.append(ch)
    entries.append("".join(current))
    for entry in entries:
        if not entry or entry[0] in ";#":
            continue
        if entry.startswith("["):  # a [STREAM] or [CHAPTER] section: the global one is over
            break
        key: list[str] = []
        value: list[str] = []
        target = key
        i = 0
        while i < len(entry):
            ch = entry[i]
            if ch == "\\" and i + 1 < len(entry):
                target.append(entry[i + 1])
                i += 2
                continue
            if ch == "=" and target is key:
                target = value
            else:
                target.append(ch)
            i += 1
        if target is value:
            out["".join(key)] = "".join(value)
    return out


def read_recipe(video: str | os.PathLike[str]) -> dict[str, Any]:
    """The recipe written into a video by ``tag_video`` (``{}`` for a video without one)."""
    tags = read_metadata(video)
    text = tags.get(RECIPE_TAG) or tags.get("comment", "")
    try:
        data = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def ffmpeg_exe() -> str:
    """The ffmpeg that ``imageio-ffmpeg`` ships (the same one the simulator encodes with)."""
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # no binary for this platform, and none on PATH
        found = shutil.which("ffmpeg")
        if found:
            return found
        raise RecipeError(f"no ffmpeg to write video metadata with ({exc})") from None


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = _new_temp(path.parent, path.name, ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _new_temp(folder: Path, stem: str, suffix: str) -> Path:
    """A new empty file beside the target, with the mode any new file gets (``mkstemp``'s
    0600 would make a sidecar or a copied video unreadable to a web server or other users)."""
    for _ in range(100):
        path = folder / f".{stem}.{secrets.token_hex(6)}{suffix}"
        try:
            with open(path, "xb"):
                return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")
