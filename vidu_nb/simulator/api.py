"""The API surface of the simulator: endpoint table, request checks and response bodies.

Checks follow the simulator's own ``contract`` (never the client's tables) and answer with the
service's documented errors (``FieldLacking``, ``FieldInvalid``, ``FieldUnwanted``,
``FieldItemCountOutOfRange``, ``PageSizeOutOfRange``, ``ImageFormatInvalid``,
``ImageDownloadFailure``) in the same body shape. A new generation endpoint is one more
``Endpoint`` row in ``ENDPOINTS``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from math import gcd
from typing import Any
from urllib.parse import urlsplit

from .contract import (
    AUDIO_TYPE_ALIASES,
    AUDIO_TYPES,
    DEFAULT_WM_POSITION,
    FIELD_TYPES,
    MAX_PAYLOAD_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MODELS,
    MOVEMENT_AMPLITUDES,
    WM_POSITIONS,
)
from .engine import SimTask
from .frames import Frame, start_frame
from .rejects import Reject, error_body


@dataclass(frozen=True)
class Endpoint:
    name: str
    images: tuple[int, int] | None  # allowed count of ``images`` items; None = field unwanted
    required: tuple[str, ...]

    @property
    def fields(self) -> dict[str, type]:
        extra: dict[str, type] = {"images": list} if self.images else {}
        return {**FIELD_TYPES, **extra}


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

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "a boolean",
    list: "an array",
}


def check_submit(endpoint: Endpoint, body: Any, rng_seed: int) -> tuple[dict[str, Any], Frame]:
    """Checked, defaulted fields and the start frame; raises ``Reject``."""
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
    model = MODELS.get(body["model"])
    if model is None:
        raise Reject(
            400, "FieldInvalid", f"model {body['model']!r} is not one of {', '.join(MODELS)}"
        )
    duration = body.get("duration")
    if duration is None:  # null means "not set", as for every other optional field
        duration = model.default_duration
    if duration not in model.durations:
        raise Reject(
            400,
            "FieldInvalid",
            f"duration {duration} is not supported by {model.name} ({model.durations_text()})",
        )
    resolution = body.get("resolution") or model.default_resolution_at(duration)
    if resolution not in model.resolutions_at(duration):
        allowed_res = ", ".join(model.resolutions_at(duration))
        raise Reject(
            400,
            "FieldInvalid",
            f"resolution {resolution!r} is not supported by {model.name} at {duration} s "
            f"({allowed_res})",
        )
    _limit(body, "prompt", MAX_PROMPT_CHARS)
    _limit(body, "payload", MAX_PAYLOAD_CHARS)
    seed = body.get("seed")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise Reject(400, "FieldInvalid", f"seed {seed} is outside 0..{MAX_SEED}")
    audio_type: str | None = body.get("audio_type")
    if audio_type is not None:
        audio_type = AUDIO_TYPE_ALIASES.get(audio_type, audio_type)
    _enum("audio_type", audio_type, AUDIO_TYPES)
    _enum("movement_amplitude", body.get("movement_amplitude"), MOVEMENT_AMPLITUDES)
    wm_position = body.get("wm_position")
    if wm_position is not None and wm_position not in WM_POSITIONS:
        raise Reject(400, "FieldInvalid", f"wm_position {wm_position} is outside 1..4")
    _url("wm_url", body.get("wm_url"))
    _json_text("meta_data", body.get("meta_data"))
    audio, off_peak = body.get("audio"), bool(body.get("off_peak"))
    if audio is True and off_peak and not model.q3:
        raise Reject(
            400,
            "FieldInvalid",
            f"audio cannot be true with off_peak on {model.name}: only Q3 models "
            "generate sound off-peak",
        )
    callback = body.get("callback_url")
    _url("callback_url", callback)
    frame = start_frame(endpoint.images, body.get("images"), body.get("prompt") or "")
    fields = {
        "model": model.name,
        "prompt": body.get("prompt") or "",
        "images": body.get("images") or [],
        "duration": duration,
        "audio": model.audio_default if audio is None else audio,
        "audio_type": audio_type or "all",
        "seed": seed if seed is not None else rng_seed,
        "seed_given": seed is not None,  # a drawn seed is not captioned (see simulator.video)
        "resolution": resolution,
        "movement_amplitude": body.get("movement_amplitude") or "auto",
        "payload": body.get("payload") or "",
        "off_peak": off_peak,
        "bgm": bool(body.get("bgm")),
        "is_rec": bool(body.get("is_rec")),
        "watermark": bool(body.get("watermark")),
        "wm_position": DEFAULT_WM_POSITION if wm_position is None else wm_position,
        "wm_url": body.get("wm_url") or "",
        "meta_data": body.get("meta_data") or "",
        "callback_url": callback or "",
        "aspect_ratio": aspect_ratio(frame.width, frame.height),
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    return fields, frame


def aspect_ratio(width: int, height: int) -> str:
    """``16:9`` for a 1920x1080 start frame: the image's own ratio, reduced."""
    d = gcd(width, height) or 1
    return f"{width // d}:{height // d}"


def _limit(body: dict[str, Any], name: str, limit: int) -> None:
    value = body.get(name)
    if value is not None and len(value) > limit:
        raise Reject(400, "FieldInvalid", f"{name} is {len(value)} characters; at most {limit:,}")


def _enum(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise Reject(400, "FieldInvalid", f"{name} {value!r} is not one of {', '.join(allowed)}")


def _url(name: str, value: str | None) -> None:
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise Reject(400, "FieldInvalid", f"{name} {value!r} must be an http(s) URL")


def _json_text(name: str, value: str | None) -> None:
    """``meta_data`` is a string holding JSON (the pages: "a JSON-formatted string")."""
    if value is None:
        return
    try:
        json.loads(value)
    except ValueError:
        raise Reject(400, "FieldInvalid", f"{name} must be a JSON-formatted string") from None


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


__all__ = ["ENDPOINTS", "Endpoint", "Reject", "check_submit", "error_body", "query_body"]
