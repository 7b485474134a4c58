"""The API surface of the simulator: endpoint table, request checks and response bodies.

Checks mirror the service's documented errors (``FieldLacking``, ``FieldInvalid``,
``FieldUnwanted``, ``FieldItemCountOutOfRange``, ``PageSizeOutOfRange``, ``ImageFormatInvalid``,
``ImageDownloadFailure``) with the same body shape. A new generation endpoint is one more
``Endpoint`` row in ``ENDPOINTS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import ipaddress
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from ..errors import ImageError
from ..images import MAX_IMAGE_BYTES, check_ratio, sniff_format
from ..models import MODELS
from ..spec import AUDIO_TYPES, MAX_PAYLOAD_CHARS, MAX_PROMPT_CHARS, MAX_SEED, MOVEMENT_AMPLITUDES
from .engine import SimTask


class Reject(Exception):
    """An error answer: HTTP status, the API's ``reason`` and a message naming field and limit."""

    def __init__(
        self, status: int, reason: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}


#: Fields every generation endpoint accepts, with their JSON type.
COMMON_FIELDS: dict[str, type] = {
    "model": str,
    "prompt": str,
    "duration": int,
    "seed": int,
    "resolution": str,
    "movement_amplitude": str,
    "payload": str,
    "off_peak": bool,
    "callback_url": str,
    "bgm": bool,
    "audio": bool,
    "audio_type": str,
    "voice_id": str,
    "is_rec": bool,
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    images: tuple[int, int] | None  # allowed count of ``images`` items; None = field unwanted
    required: tuple[str, ...]

    @property
    def fields(self) -> dict[str, type]:
        extra: dict[str, type] = {"images": list} if self.images else {}
        return {**COMMON_FIELDS, **extra}


ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in [
        Endpoint("img2video", (1, 1), ("model", "images")),
        Endpoint("text2video", None, ("model", "prompt")),
        Endpoint("start-end2video", (2, 2), ("model", "images")),
        # per-model reference counts are not in the contract: the widest published range
        Endpoint("reference2video", (1, 7), ("model", "images", "prompt")),
    ]
}

_DATA_URI = re.compile(r"^data:image/(?P<fmt>[a-zA-Z0-9.+-]+);base64,(?P<data>.*)$", re.S)
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "an array",
}


def check_submit(endpoint: Endpoint, body: Any, rng_seed: int) -> tuple[dict[str, Any], bytes]:
    """Checked, defaulted fields and the start-frame bytes; raises ``Reject``."""
    if not isinstance(body, dict):
        raise Reject(400, "BadRequest", "the request body must be a JSON object")
    allowed = endpoint.fields
    for name in body:
        if name not in allowed:
            raise Reject(400, "FieldUnwanted", f"field {name!r} is not accepted by {endpoint.name}")
    for name in endpoint.required:
        if body.get(name) in (None, "", []):
            raise Reject(400, "FieldLacking", f"field {name!r} is required")
    for name, value in body.items():
        kind = allowed[name]
        if value is not None and (type(value) is not kind):
            raise Reject(400, "FieldInvalid", f"field {name!r} must be {_TYPE_NAMES[kind]}")
    spec = MODELS.get(body["model"])
    if spec is None:
        raise Reject(
            400, "FieldInvalid", f"model {body['model']!r} is not one of {', '.join(MODELS)}"
        )
    duration = body.get("duration")
    if duration is None:  # null means "not set", as for every other optional field
        duration = spec.default_duration
    if duration not in spec.durations:
        raise Reject(
            400,
            "FieldInvalid",
            f"duration {duration} is not supported by {spec.name} ({spec.describe_durations()})",
        )
    resolution = body.get("resolution") or spec.default_resolution_for(duration)
    if resolution not in spec.resolutions_for(duration):
        allowed_res = ", ".join(spec.resolutions_for(duration))
        raise Reject(
            400,
            "FieldInvalid",
            f"resolution {resolution!r} is not supported by {spec.name} at {duration} s "
            f"({allowed_res})",
        )
    _limit(body, "prompt", MAX_PROMPT_CHARS)
    _limit(body, "payload", MAX_PAYLOAD_CHARS)
    seed = body.get("seed")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise Reject(400, "FieldInvalid", f"seed {seed} is outside 0..{MAX_SEED}")
    audio_type = body.get("audio_type")
    if audio_type == "sound-effect_only":  # the reference's prose spelling of the enum value
        audio_type = "sound_effect_only"
    _enum("audio_type", audio_type, AUDIO_TYPES)
    _enum("movement_amplitude", body.get("movement_amplitude"), MOVEMENT_AMPLITUDES)
    callback = body.get("callback_url")
    if callback and urlsplit(callback).scheme not in ("http", "https"):
        raise Reject(400, "FieldInvalid", f"callback_url {callback!r} must be an http(s) URL")
    image = _start_frame(endpoint, body.get("images"), body.get("prompt") or "")
    audio = body.get("audio")
    fields = {
        "model": spec.name,
        "prompt": body.get("prompt") or "",
        "images": body.get("images") or [],
        "duration": duration,
        "audio": spec.audio_default if audio is None else audio,
        "audio_type": audio_type or "all",
        "seed": seed if seed is not None else rng_seed,
        "seed_given": seed is not None,  # a drawn seed is not captioned (see simulator.video)
        "resolution": resolution,
        "movement_amplitude": body.get("movement_amplitude") or "auto",
        "payload": body.get("payload") or "",
        "off_peak": bool(body.get("off_peak")),
        "bgm": bool(body.get("bgm")),
        "is_rec": bool(body.get("is_rec")),
        "callback_url": callback or "",
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return fields, image


def _limit(body: dict[str, Any], name: str, limit: int) -> None:
    value = body.get(name)
    if value is not None and len(value) > limit:
        raise Reject(400, "FieldInvalid", f"{name} is {len(value)} characters; at most {limit:,}")


def _enum(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise Reject(400, "FieldInvalid", f"{name} {value!r} is not one of {', '.join(allowed)}")


def _start_frame(endpoint: Endpoint, images: list[Any] | None, prompt: str) -> bytes:
    if endpoint.images is None:
        return placeholder_frame(prompt)  # text to video: a frame that depends on the prompt
    low, high = endpoint.images
    if not images or not low <= len(images) <= high:
        want = str(low) if low == high else f"{low} to {high}"
        raise Reject(
            400,
            "FieldItemCountOutOfRange",
            f"images must hold {want} item(s), got {len(images or [])}",
        )
    frames = [_load(i, item) for i, item in enumerate(images)]
    return frames[0]


def _load(index: int, item: Any) -> bytes:
    where = f"images[{index}]"
    if not isinstance(item, str) or not item:
        raise Reject(400, "FieldInvalid", f"{where} must be a URL or a data URI string")
    if item.startswith("data:"):
        match = _DATA_URI.match(item)
        if not match:
            raise Reject(400, "ImageFormatInvalid", f"{where}: not a data:image/<fmt>;base64 URI")
        if match["fmt"].lower() not in ("png", "jpeg", "jpg", "webp"):
            raise Reject(
                400, "ImageFormatInvalid", f"{where}: format {match['fmt']!r}; use png, jpeg, webp"
            )
        try:
            data = base64.b64decode(match["data"], validate=True)
        except (binascii.Error, ValueError):
            raise Reject(400, "ImageFormatInvalid", f"{where}: invalid base64") from None
    elif urlsplit(item).scheme in ("http", "https"):
        data = _fetch(where, item)
    else:
        raise Reject(400, "FieldInvalid", f"{where} must be an http(s) URL or a data URI")
    return check_image(where, data)


def check_image(where: str, data: bytes) -> bytes:
    """The API's image checks: size, real format, decodable, aspect ratio."""
    if len(data) > MAX_IMAGE_BYTES:
        raise Reject(400, "PageSizeOutOfRange", f"{where} is {len(data):,} bytes; at most 50 MB")
    if sniff_format(data) is None:
        raise Reject(400, "ImageFormatInvalid", f"{where}: not a png, jpeg or webp image")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            width, height = im.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Reject(400, "ImageFormatInvalid", f"{where}: corrupt or truncated image") from None
    try:
        check_ratio(width, height, where, where)
    except ImageError as exc:
        raise Reject(400, "PageSizeOutOfRange", f"{where}: {exc.limit}") from None
    return data


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class _LoopbackRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only while they stay on this machine."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if not is_loopback(urlsplit(newurl).hostname):
            raise urllib.error.HTTPError(
                newurl, code, "redirect off the machine refused", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def loopback_opener() -> urllib.request.OpenerDirector:
    """An opener for loopback URLs: never through the environment's proxy (``http_proxy``
    would carry the request, signed callbacks included, off the machine), and never
    redirected to another host."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _LoopbackRedirects())


def _fetch(where: str, url: str) -> bytes:
    """Loopback URLs are fetched; any other host gets a generated frame (no internet here)."""
    if not is_loopback(urlsplit(url).hostname):
        return placeholder_frame(url)
    try:
        with loopback_opener().open(url, timeout=5) as resp:
            return resp.read(MAX_IMAGE_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise Reject(400, "ImageDownloadFailure", f"{where}: cannot download ({exc})") from None


def placeholder_frame(text: str, size: tuple[int, int] = (640, 360)) -> bytes:
    """A 16:9 gradient whose colours derive from ``text``, standing in for a remote image."""
    digest = hashlib.sha256(text.encode()).digest()
    a, b = digest[:3], digest[3:6]
    w, h = size
    im = Image.linear_gradient("L").resize((w, h)).convert("L")
    colour = Image.merge(
        "RGB", [im.point(lambda v, i=i: (a[i] * (255 - v) + b[i] * v) // 255) for i in range(3)]
    )
    out = io.BytesIO()
    colour.save(out, "PNG")
    return out.getvalue()


def submit_body(task: SimTask) -> dict[str, Any]:
    """The submit response: the request echoed with defaults applied."""
    f = task.fields
    keys = ("model", "prompt", "images", "duration", "audio", "audio_type", "seed", "resolution")
    body: dict[str, Any] = {"task_id": task.id, "state": "created"}
    body.update({k: f[k] for k in keys})
    body.update(
        movement_amplitude=f["movement_amplitude"],
        payload=f["payload"],
        off_peak=f["off_peak"],
        credits=task.credits,
        created_at=f["created_at"],
    )
    return body


def query_body(task: SimTask, state: str, creations: list[dict[str, str]]) -> dict[str, Any]:
    """The Get Generation response (also the callback body)."""
    return {
        "id": task.id,
        "state": state,
        "err_code": task.err_code if state == "failed" else "",
        "credits": task.credits,
        "payload": task.fields["payload"],
        "bgm": task.fields["bgm"],
        "off_peak": task.fields["off_peak"],
        "creations": creations if state == "success" else [],
    }


def error_body(status: int, reason: str, message: str, trace_id: str) -> dict[str, Any]:
    return {
        "code": status,
        "reason": reason,
        "message": message,
        "metadata": {"trace_id": trace_id},
    }
