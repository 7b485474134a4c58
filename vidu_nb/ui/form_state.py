"""The form's state as a plain traitlets object: every request field, validation, model rules.

No widgets here: the form links its controls to these traits, and tests set them directly.
``build()`` turns the state into a request plus every validation message at once (not only the
first), and ``inactive()`` says which controls have no effect with the chosen model and why.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any, cast

import traitlets as t

from ..errors import ValidationError
from ..request.images import StartImage, load_image
from ..request.models import DEFAULT_MODEL, MODELS, ModelSpec, get_model
from ..request.spec import DEFAULT_WM_POSITION, MAX_PROMPT_CHARS, MAX_SEED, Img2VideoRequest

#: Fields sent only when set: empty text and unchecked boxes are left out of the body.
_OPTIONAL_TEXT = ("voice_id", "payload", "callback_url", "wm_url", "meta_data")
_OPTIONAL_FLAGS = ("is_rec", "bgm", "off_peak", "watermark")
#: Fields whose message names them: their text says nothing of where it came from (a JSON
#: parser's "Expecting value: line 1 column 1").
_NAMED = ("meta_data",)


@dataclass
class FormResult:
    """What the form would submit: a request (``None`` while invalid) and messages per field."""

    request: Img2VideoRequest | None
    errors: dict[str, str] = field(default_factory=dict)
    warnings: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.request is not None and not self.errors


class FormState(t.HasTraits):
    """Every control of the form as a trait; ``None`` means "the model's default"."""

    # traitlets types ``Bytes`` as never ``None`` whatever ``allow_none`` says (no overload).
    image_data = cast("t.TraitType[bytes | None, bytes | None]", t.Bytes(None, allow_none=True))
    image_name = t.Unicode("")
    image_url = t.Unicode("")
    prompt = t.Unicode("")
    model = t.Unicode(DEFAULT_MODEL)
    duration = t.Int(None, allow_none=True)
    resolution = t.Unicode(None, allow_none=True)
    seed_mode = t.Enum(("random", "fixed"), "random")
    seed = t.Int(0)
    audio = t.Bool(None, allow_none=True)
    audio_type = t.Unicode(None, allow_none=True)
    voice_id = t.Unicode("")
    bgm = t.Bool(False)
    movement_amplitude = t.Unicode(None, allow_none=True)
    off_peak = t.Bool(False)
    is_rec = t.Bool(False)
    payload = t.Unicode("")
    callback_url = t.Unicode("")
    watermark = t.Bool(False)
    wm_position = t.Int(DEFAULT_WM_POSITION)
    wm_url = t.Unicode("")
    meta_data = t.Unicode("")

    # -- model rules ------------------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        return MODELS.get(self.model) or get_model(DEFAULT_MODEL)

    def allowed_durations(self) -> tuple[int, ...]:
        return self.spec.durations

    def allowed_resolutions(self) -> tuple[str, ...]:
        return self.spec.resolutions_for(self.effective_duration)

    @property
    def effective_duration(self) -> int:
        return self.duration if self.duration is not None else self.spec.default_duration

    @property
    def effective_audio(self) -> bool:
        return self.audio if self.audio is not None else self.spec.audio_default

    def __init__(self, **kwargs: Any) -> None:
        #: The user's own last choice of duration and resolution (``None``: the default).
        self._wanted: dict[str, Any] = {}
        #: Fields a model switch had to change from the user's choice, and what it did.
        self.adjusted: dict[str, str] = {}
        self._adjusting = False
        super().__init__(**kwargs)

    @t.observe("model", "duration", "resolution")
    def _follow_model(self, change: Any) -> None:
        """Keep duration and resolution within what the chosen model allows, without losing
        the user's choice: a model that cannot make it gets its default (and ``adjusted``
        says so), and the choice comes back with a model that can."""
        if self._adjusting:
            return
        if change.name != "model":
            self._wanted[change.name] = change.new
            self.adjusted.pop(change.name, None)
        self._adjusting = True
        try:
            duration, resolution = self._fit()
            with self.hold_trait_notifications():  # observers see both changes at once
                self.duration, self.resolution = duration, resolution
        finally:
            self._adjusting = False

    def _fit(self) -> tuple[int | None, str | None]:
        """The duration and resolution to use with the chosen model; ``adjusted`` updated."""
        spec = self.spec
        duration = self._wanted.get("duration", self.duration)
        if duration is None or duration in spec.durations or not spec.durations:
            self.adjusted.pop("duration", None)
        else:
            wanted, duration = duration, spec.default_duration
            self.adjusted["duration"] = (
                f"{spec.name} makes {spec.describe_durations()}: {duration} s instead of "
                f"your {wanted} s (back to {wanted} s with a model that allows it)"
            )
        effective = duration if duration is not None else spec.default_duration
        allowed = spec.resolutions_for(effective)
        resolution = self._wanted.get("resolution", self.resolution)
        if resolution is None or resolution in allowed or not allowed:
            self.adjusted.pop("resolution", None)
        else:
            wanted, resolution = resolution, spec.default_resolution_for(effective)
            at = f" at {effective} s" if spec.resolutions_by_duration else ""
            self.adjusted["resolution"] = (
                f"{spec.name} makes {' or '.join(allowed)}{at}: {resolution} instead of "
                f"your {wanted} (back to {wanted} with a model that allows it)"
            )
        return duration, resolution

    def inactive(self) -> dict[str, str]:
        """Fields with no effect under the current settings, with the reason (controls greyed)."""
        spec = self.spec
        out = dict(spec.ignored)
        if not self.effective_audio:
            for name in ("voice_id", "audio_type"):
                out.setdefault(name, f"{name} takes effect only when audio is on")
        if self.effective_duration in spec.bgm_ignored_durations:
            out.setdefault("bgm", f"{spec.name} does not add bgm at {self.effective_duration} s")
        if not self.watermark:
            for name in ("wm_position", "wm_url"):
                out.setdefault(name, f"{name} takes effect only when watermark is on")
        return out

    def reuse_seed(self, seed: int) -> None:
        """Fix the seed to the one a finished task used, to vary something else against it."""
        self.seed = int(seed)
        self.seed_mode = "fixed"

    def set_upload(self, value: Any) -> None:
        """Take the first file of an ``ipywidgets.FileUpload`` value (ipywidgets 8 tuple)."""
        files = list(value or ())
        if not files:
            self.image_data = None
            self.image_name = ""
            return
        first = files[0]
        self.image_name = str(first.get("name", "upload"))
        self.image_data = bytes(first["content"])

    # -- derived text ------------------------------------------------------------------------
    def prompt_counter(self) -> tuple[str, bool]:
        n = len(self.prompt)
        return f"{n:,} / {MAX_PROMPT_CHARS:,}", n > MAX_PROMPT_CHARS

    def start_image(self) -> StartImage | None:
        """The chosen image (upload wins over URL); raises ``ValidationError`` when bad.

        Decoding is cached per image, since the form asks on every keystroke.
        """
        key = (hash(self.image_data), self.image_url)  # bytes cache their hash
        if getattr(self, "_image_key", None) != key:
            try:
                self._image_value: Any = self._load_image()
            except ValidationError as exc:
                self._image_value = exc
            self._image_key = key
        if isinstance(self._image_value, ValidationError):
            raise self._image_value
        return self._image_value

    def _load_image(self) -> StartImage | None:
        if self.image_data:
            return load_image(self.image_data)
        return self._load_url()

    def _load_url(self) -> StartImage | None:
        if self.image_url.strip():
            url = self.image_url.strip()
            if not url.lower().startswith(("http://", "https://", "data:")):
                raise ValidationError("image", url, "a URL must start with http:// or https://")
            return load_image(url)
        return None

    def unused_url(self) -> dict[str, str]:
        """With both a file and a URL the file is used: what to say next to each (and what is
        wrong with the URL, which would otherwise go unnoticed)."""
        url = self.image_url.strip()
        if not (self.image_data and url):
            return {}
        if getattr(self, "_url_checked", ("",))[0] != url:  # asked on every keystroke
            try:
                self._load_url()
                problem = ""
            except ValidationError as exc:
                problem = f"{exc.limit}; "
            self._url_checked = (url, problem)
        problem = self._url_checked[1]
        name = self.image_name or "the chosen file"
        return {
            "image": f"{name} is used, not the URL below",
            "image_url": f"{problem}not used: {name} (chosen above) is; remove it to use a URL",
        }

    # -- the request -------------------------------------------------------------------------
    def kwargs(self) -> dict[str, Any]:
        """The request's keyword arguments (image excluded), inactive fields left out."""
        kw: dict[str, Any] = {"model": self.model}
        if self.prompt:
            kw["prompt"] = self.prompt
        for name in ("duration", "resolution", "audio", "audio_type", "movement_amplitude"):
            if getattr(self, name) is not None:
                kw[name] = getattr(self, name)
        if self.seed_mode == "fixed":
            kw["seed"] = self.seed
        for name in _OPTIONAL_TEXT:
            if getattr(self, name).strip():
                kw[name] = getattr(self, name).strip()
        for name in _OPTIONAL_FLAGS:
            if getattr(self, name):
                kw[name] = True
        if self.watermark:
            kw["wm_position"] = self.wm_position
        for name in self.inactive():
            kw.pop(name, None)
        return kw

    def build(self) -> FormResult:
        """The request and every validation message (checks run field by field)."""
        errors: dict[str, str] = {}
        try:
            image: Any = self.start_image()
        except ValidationError as exc:
            errors["image"] = exc.limit
            image = None
        if image is None:
            errors.setdefault("image", "choose an image file or give its URL")
            image = _placeholder()
        kw = self.kwargs()
        if self.seed_mode == "fixed" and not 0 <= self.seed <= MAX_SEED:
            errors["seed"] = f"must be from 0 to {MAX_SEED:,}"
            kw.pop("seed", None)
        request = None
        for _ in range(len(kw) + 1):
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    request = Img2VideoRequest(image=image, **kw)
                break
            except ValidationError as exc:
                name = "image" if exc.field == "images" else exc.field
                errors.setdefault(name, self._message(name, exc.limit))
                if name not in kw or name == "model":
                    break
                kw.pop(name)
        notes = self.unused_url()
        if request is not None:
            messages = [str(w.message) for w in caught]
            notes.update(zip(request.ignored, messages, strict=False))
        if errors:
            return FormResult(None, errors, notes)
        return FormResult(request, {}, notes)

    def _message(self, name: str, limit: str) -> str:
        """The message next to a field: a text that is too long also says how long it is."""
        if name == "payload" and not limit.startswith("is "):
            return f"is {len(self.payload.strip()):,} characters; {limit}"
        if name in _NAMED:
            return f"{name} {limit}"
        return limit


_PLACEHOLDER: StartImage | None = None


def _placeholder() -> StartImage:
    """A tiny valid frame, so the other fields can be checked before an image is chosen."""
    global _PLACEHOLDER
    if _PLACEHOLDER is None:
        from PIL import Image

        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, "PNG")
        _PLACEHOLDER = load_image(out.getvalue())
    return _PLACEHOLDER
