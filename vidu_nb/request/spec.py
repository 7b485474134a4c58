"""``Img2VideoRequest``: the img2video request as a typed, checked object.

Every field of the API is here with its limits. Checks are model-aware (durations, resolutions,
fields a model ignores) and run when the request is built, so bad input fails with the field,
value and limit before anything goes over the network. Unset optional fields stay ``None`` and
are left out of the body, so the service applies its own defaults.

A model absent from the table is refused, unless ``allow_unknown_model=True``: then only the
checks that do not depend on the model run (types, prompt and payload lengths, URLs, JSON),
and an ``UnknownModelWarning`` says the model's limits were not checked.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
import shlex
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlparse

from ..errors import ValidationError
from .images import MAX_BODY_BYTES, ImageSource, StartImage, fit_image, load_image
from .json_text import json_text
from .models import DEFAULT_MODEL, ModelSpec, lookup_model

#: Counted in Unicode code points (Python ``len``), as "characters" reads and as a Go
#: ``utf8.RuneCountInString`` or Python service counts; an emoji is one character, not two
#: UTF-16 units or four bytes.
MAX_PROMPT_CHARS = 5000
MAX_PAYLOAD_CHARS = 1_048_576
MAX_SEED = 2**32 - 1
AUDIO_TYPES = ("all", "speech_only", "sound_effect_only")
MOVEMENT_AMPLITUDES = ("auto", "small", "medium", "large")
_AUDIO_TYPE_ALIASES = {"sound-effect_only": "sound_effect_only"}
#: Watermark corners: the service's default is 3.
WM_POSITIONS = {1: "top left", 2: "top right", 3: "bottom right", 4: "bottom left"}
DEFAULT_WM_POSITION = 3


class IgnoredFieldWarning(UserWarning):
    """A field was set that has no effect with this model or these settings."""


class ImageFittedWarning(UserWarning):
    """A local image was re-encoded or downscaled to fit the request-body limit."""


class UnknownModelWarning(UserWarning):
    """The model is not in the table (``allow_unknown_model``): its limits were not checked."""


@dataclass(frozen=True)
class Img2VideoRequest:
    """One image-to-video generation request; checked on construction.

    ``image`` takes a path, bytes, a PIL image, an http(s) URL or a data URI (``images=[x]``
    is accepted too, as in the API). ``ignored`` lists the set fields the model will not use.
    ``meta_data`` is JSON text; a dict or list is accepted and kept as compact JSON text.
    ``allow_unknown_model`` lets a model absent from the table through (its limits are then
    left to the service); it is a client-side switch, never sent.
    """

    endpoint: ClassVar[str] = "/ent/v2/img2video"

    image: ImageSource = None
    model: str = DEFAULT_MODEL
    prompt: str | None = None
    duration: int | None = None
    seed: int | None = None
    resolution: str | None = None
    audio: bool | None = None
    audio_type: str | None = None
    voice_id: str | None = None
    is_rec: bool | None = None
    bgm: bool | None = None
    movement_amplitude: str | None = None
    payload: str | None = None
    off_peak: bool | None = None
    callback_url: str | None = None
    watermark: bool | None = None
    wm_position: int | None = None
    wm_url: str | None = None
    meta_data: str | None = None
    allow_unknown_model: bool = False
    images: list[Any] | None = field(default=None, repr=False)
    ignored: tuple[str, ...] = field(default=(), init=False, compare=False)

    def __post_init__(self) -> None:
        if self.images is not None:
            if self.image is not None:
                raise ValidationError("images", "...", "give image or images, not both")
            if not isinstance(self.images, (list, tuple)) or len(self.images) != 1:
                count = len(self.images) if isinstance(self.images, (list, tuple)) else "?"
                raise ValidationError("images", count, "must hold exactly 1 item")
            object.__setattr__(self, "image", self.images[0])
            object.__setattr__(self, "images", None)
        if self.image is None:
            raise ValidationError("image", None, "a start image is required")
        object.__setattr__(self, "image", load_image(self.image))
        _normalise(self)
        if self.audio_type in _AUDIO_TYPE_ALIASES:
            object.__setattr__(self, "audio_type", _AUDIO_TYPE_ALIASES[self.audio_type])
        if self.allow_unknown_model is None:  # an unset cell or argument: the default
            object.__setattr__(self, "allow_unknown_model", False)
        _check_type(self.allow_unknown_model, "allow_unknown_model", bool)
        object.__setattr__(self, "meta_data", json_text(self.meta_data, "meta_data"))
        spec = lookup_model(self.model, self.allow_unknown_model)
        _check_fields(self, spec)
        notes = _ignored_fields(self, spec)
        object.__setattr__(self, "ignored", tuple(notes))
        if not spec.known:
            warnings.warn(
                f"{spec.name} is not in the model table: its durations, resolutions and field "
                "rules were not checked here (the service checks them)",
                UnknownModelWarning,
                stacklevel=3,
            )
        for note in notes.values():
            warnings.warn(note, IgnoredFieldWarning, stacklevel=3)

    # -- derived views -------------------------------------------------------------------
    @property
    def start_image(self) -> StartImage:
        assert isinstance(self.image, StartImage)
        return self.image

    @property
    def model_spec(self) -> ModelSpec:
        """The model's row of the table (a permissive one for an allowed unknown model)."""
        return lookup_model(self.model, self.allow_unknown_model)

    def replace(self, **changes: Any) -> Img2VideoRequest:
        """A copy with some fields changed (checked again), e.g. for seed or prompt sweeps.

        Its notes are not warned again, nor is an unknown model that this request already
        warned about (a sweep of 50 seeds says it once)."""
        if changes.get("images") is not None and "image" not in changes:
            changes["image"] = None  # a new start image replaces the current one
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", IgnoredFieldWarning)
            if changes.get("model", self.model) == self.model:
                warnings.simplefilter("ignore", UnknownModelWarning)
            return dataclasses.replace(self, **changes)

    def options(self) -> dict[str, Any]:
        """The fields that were set, without the image (for logs, labels and previews)."""
        out: dict[str, Any] = {"model": self.model}
        for f in dataclasses.fields(self):
            if f.name in _NOT_OPTIONS or f.name == "model":
                continue
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = value
        return out

    def resolved(self) -> dict[str, Any]:
        """The settings the service will use, with the model's defaults filled in."""
        spec = self.model_spec
        duration = self.duration if self.duration is not None else spec.default_duration
        audio = self.audio if self.audio is not None else spec.audio_default
        watermark = bool(self.watermark)
        return {
            "model": self.model,
            "duration": duration,
            "resolution": self.resolution or spec.default_resolution_for(duration),
            "audio": audio,
            "audio_type": (self.audio_type or "all") if audio else None,
            "off_peak": bool(self.off_peak),
            "is_rec": bool(self.is_rec),
            "bgm": bool(self.bgm),
            "movement_amplitude": self.movement_amplitude or "auto",
            "seed": self.seed,
            "watermark": watermark,
            "wm_position": (self.wm_position or DEFAULT_WM_POSITION) if watermark else None,
            "wm_url": self.wm_url if watermark else None,
            "meta_data": self.meta_data,
        }

    # -- serialisation -------------------------------------------------------------------
    def fitted_body(
        self, max_body_bytes: int = MAX_BODY_BYTES, *, default_payload: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The JSON body and, when the image had to be shrunk to fit, a note saying how.

        ``default_payload`` fills ``payload`` when the request has none (the client puts its
        reference there); it is part of the body before the image is sized to fit.
        """
        body = {"model": self.model, "images": [""], **_without_model(self.options())}
        if default_payload and not body.get("payload"):
            body["payload"] = default_payload
        overhead = len(json.dumps(body).encode())
        image, note = fit_image(self.start_image, max_body_bytes - overhead)
        body["images"] = [image.to_data_uri()]
        return body, note

    def to_body(self, max_body_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
        body, note = self.fitted_body(max_body_bytes)
        if note:
            warnings.warn(note, ImageFittedWarning, stacklevel=2)
        return body

    def preview(self) -> dict[str, Any]:
        """The body as it will be sent, with the image elided (cheap, no encoding)."""
        img = self.start_image
        shown = (
            img.url
            if img.is_remote
            else (f"data:image/{img.format};base64,<{img.size_bytes:,} bytes elided>")
        )
        return {"model": self.model, "images": [shown], **_without_model(self.options())}

    def to_curl(self, base_url: str = "https://api.vidu.com", auth_scheme: str = "Token") -> str:
        """An equivalent curl command; the key is a shell variable, never its value."""
        body = json.dumps(self.preview(), ensure_ascii=False)
        return (
            f"curl -X POST {shlex.quote(base_url.rstrip('/') + self.endpoint)} \\\n"
            f'  -H "Authorization: {auth_scheme} $VIDU_API_KEY" \\\n'
            f"  -H 'Content-Type: application/json' \\\n"
            f"  -d {shlex.quote(body)}"
        )


#: Fields of the dataclass that are not request options (never in the body).
_NOT_OPTIONS = ("image", "images", "ignored", "allow_unknown_model")
_INT_FIELDS = ("duration", "seed", "wm_position")
_BOOL_FIELDS = ("audio", "is_rec", "bgm", "off_peak", "watermark", "allow_unknown_model")
_STR_FIELDS = (
    "model",
    "prompt",
    "resolution",
    "audio_type",
    "voice_id",
    "movement_amplitude",
    "payload",
    "callback_url",
    "wm_url",
    "meta_data",
)
_URL_FIELDS = ("callback_url", "wm_url")
#: Enumerated text fields: matched after trimming and lower-casing ("1080P " -> "1080p").
_FOLDED_FIELDS = ("model", "resolution", "audio_type", "movement_amplitude")


def _normalise(req: Img2VideoRequest) -> None:
    """Plain Python values for the values a DataFrame row hands over.

    Re-running a row of the task log passes numpy integers and bools, ``pd.NA`` (or NaN) for
    unset cells and ``str`` subclasses; they mean the same as ``int``, ``bool``, ``None`` and
    ``str`` and must reach the JSON body and SQLite as those. A Python or numpy bool is still
    not an integer and an integer is still not a bool: those fail the checks below.
    """
    for f in dataclasses.fields(req):
        if f.name in ("image", "images", "ignored"):
            continue
        value = getattr(req, f.name)
        new = value
        if _is_missing(value) and f.name != "model":
            new = None
        elif f.name in _INT_FIELDS:
            if isinstance(value, numbers.Integral) and not _is_bool(value):
                new = int(value)
        elif f.name in _BOOL_FIELDS:
            if _is_bool(value):
                new = bool(value)
        elif f.name in _STR_FIELDS and isinstance(value, str):
            new = str(value)
            if f.name in _FOLDED_FIELDS:
                new = new.strip().lower()
            elif f.name in _URL_FIELDS:
                new = new.strip()
        if new is not value:
            object.__setattr__(req, f.name, new)


def _is_missing(value: Any) -> bool:
    pandas = sys.modules.get("pandas")
    if pandas is not None and value is getattr(pandas, "NA", object()):
        return True
    return isinstance(value, float) and math.isnan(value)


def _is_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


def _without_model(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k != "model"}


def _check_fields(req: Img2VideoRequest, spec: ModelSpec) -> None:
    _check_type(req.prompt, "prompt", str)
    if req.prompt is not None and len(req.prompt) > MAX_PROMPT_CHARS:
        raise ValidationError(
            "prompt", req.prompt, f"is {len(req.prompt)} characters; at most {MAX_PROMPT_CHARS}"
        )
    for name in ("audio", "is_rec", "bgm", "off_peak", "watermark"):
        _check_type(getattr(req, name), name, bool)
    _check_type(req.voice_id, "voice_id", str)
    for name in ("prompt", "voice_id", "payload", "callback_url", "wm_url", "meta_data"):
        _check_text(getattr(req, name), name)
    if req.duration is not None:
        if type(req.duration) is not int:
            raise ValidationError("duration", req.duration, "must be an integer number of seconds")
        if not spec.known and req.duration < 1:
            raise ValidationError("duration", req.duration, "must be at least 1 s")
        if spec.known and req.duration not in spec.durations:
            raise ValidationError(
                "duration", req.duration, f"{spec.name} allows {spec.describe_durations()}"
            )
    if req.resolution is not None:
        _check_type(req.resolution, "resolution", str)
        allowed = spec.resolutions_for(req.duration)
        if not spec.known and not req.resolution:
            raise ValidationError("resolution", req.resolution, "must not be empty")
        if spec.known and req.resolution not in allowed:
            at = f" at {req.duration} s" if req.duration in spec.resolutions_by_duration else ""
            raise ValidationError(
                "resolution", req.resolution, f"{spec.name}{at} allows {', '.join(allowed)}"
            )
    if req.seed is not None:
        if type(req.seed) is not int or not 0 <= req.seed <= MAX_SEED:
            raise ValidationError("seed", req.seed, f"must be an integer from 0 to {MAX_SEED}")
    _check_enum(req.audio_type, "audio_type", AUDIO_TYPES)
    _check_enum(req.movement_amplitude, "movement_amplitude", MOVEMENT_AMPLITUDES)
    _check_type(req.payload, "payload", str)
    if req.payload is not None and len(req.payload) > MAX_PAYLOAD_CHARS:
        raise ValidationError(
            "payload", f"<{len(req.payload)} chars>", f"at most {MAX_PAYLOAD_CHARS:,} characters"
        )
    for name in _URL_FIELDS:
        _check_url(getattr(req, name), name)
    if req.wm_position is not None and (
        type(req.wm_position) is not int or req.wm_position not in WM_POSITIONS
    ):
        corners = ", ".join(f"{k} {v}" for k, v in WM_POSITIONS.items())
        raise ValidationError("wm_position", req.wm_position, f"must be an integer: {corners}")
    audio = req.audio if req.audio is not None else spec.audio_default
    if audio and req.off_peak and not spec.audio_with_off_peak:
        raise ValidationError(
            "audio",
            audio,
            f"cannot be true together with off_peak=True on {spec.name} (only Q3 models "
            "generate sound off-peak): set audio=False or off_peak=False",
        )


def _check_url(value: Any, name: str) -> None:
    if value is None:
        return
    _check_type(value, name, str)
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValidationError(name, value, "must be an http:// or https:// URL with a host")


def _check_type(value: Any, name: str, kind: type) -> None:
    if value is not None and type(value) is not kind:
        raise ValidationError(name, value, f"must be {kind.__name__}")


def _check_text(value: Any, name: str) -> None:
    """Text must be valid Unicode: a lone surrogate (half an emoji, cut by a JavaScript-side
    slice) cannot be encoded as UTF-8 for the service or the task log."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                name, value, f"holds an unpaired surrogate at position {exc.start}"
            ) from None


def _check_enum(value: Any, name: str, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValidationError(name, value, "must be one of " + ", ".join(allowed))


def _ignored_fields(req: Img2VideoRequest, spec: ModelSpec) -> dict[str, str]:
    """Set fields that will have no effect, with the reason (shown as warnings and in the UI)."""
    notes: dict[str, str] = {}
    for name, reason in spec.ignored.items():
        value = getattr(req, name)
        if value is not None and value is not False:
            notes[name] = f"{name} is set but {reason}"
    duration = req.duration if req.duration is not None else spec.default_duration
    if req.bgm and "bgm" not in notes and duration in spec.bgm_ignored_durations:
        notes["bgm"] = f"bgm is set but {spec.name} does not apply it at {duration} s"
    audio = req.audio if req.audio is not None else spec.audio_default
    if req.voice_id is not None and "voice_id" not in notes and not audio:
        notes["voice_id"] = "voice_id is set but takes effect only when audio is true"
    if req.audio_type is not None and "audio_type" not in notes and not audio:
        notes["audio_type"] = "audio_type is set but takes effect only when audio is true"
    if req.is_rec and req.prompt:
        notes["prompt"] = "prompt is set but is ignored when is_rec is true"
    for name in ("wm_position", "wm_url"):
        if getattr(req, name) is not None and not req.watermark:
            notes[name] = f"{name} is set but takes effect only when watermark is true"
    return notes
