"""The simulator's own statement of the Vidu API contract, written from the API pages.

The simulator is a witness: tests of the client are worth something only when the simulator
checks requests against the documentation itself. If it shared the client's model table,
limits or signing, a mistake there would be made twice and pass every test. So this module
restates the pages (the img2video reference, the tasks page, the account page): models and
their durations and resolutions, field types, limits, enums, image rules, task states, list
and credit defaults, and credit rates of its own. Nothing here is imported from the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# -- request fields -------------------------------------------------------------------------
#: JSON type of every field a generation endpoint accepts (``images`` per endpoint).
FIELD_TYPES: Mapping[str, type] = MappingProxyType(
    {
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
        # in the official Chinese pages, not in the English img2video reference
        "watermark": bool,
        "wm_position": int,
        "wm_url": str,
        "meta_data": str,
    }
)

MAX_PROMPT_CHARS = 5000
MAX_PAYLOAD_CHARS = 1_048_576
#: The pages give no range for ``seed``; the simulator takes an unsigned 32-bit value.
MAX_SEED = 2**32 - 1
AUDIO_TYPES = ("all", "speech_only", "sound_effect_only")
#: The reference's prose spells one value ``sound-effect_only``; accepted as the enum value.
AUDIO_TYPE_ALIASES: Mapping[str, str] = MappingProxyType({"sound-effect_only": "sound_effect_only"})
MOVEMENT_AMPLITUDES = ("auto", "small", "medium", "large")
WM_POSITIONS = (1, 2, 3, 4)  # 1 top left, 2 top right, 3 bottom right, 4 bottom left
DEFAULT_WM_POSITION = 3

# -- images and bodies ----------------------------------------------------------------------
#: Declared formats in a ``data:image/<fmt>;base64,`` URI.
IMAGE_FORMATS = ("png", "jpeg", "jpg", "webp")
#: "one image at most 50 MB; the whole HTTP body at most 20 MB", read as binary megabytes.
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_BODY_BYTES = 20 * 1024 * 1024
MIN_RATIO, MAX_RATIO = 1 / 4, 4.0  # width / height, from 1:4 to 4:1


def sniff_image(data: bytes) -> str | None:
    """The image format from its magic bytes (png, jpeg, webp), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def ratio_ok(width: int, height: int) -> bool:
    return height > 0 and MIN_RATIO <= width / height <= MAX_RATIO


# -- task states ----------------------------------------------------------------------------
STATES = ("created", "queueing", "processing", "success", "failed")
FINAL_STATES = ("success", "failed")
#: Spellings the service's texts use besides the documented five (reported raw on demand).
UNDOCUMENTED_STATES = ("scheduled", "scheduling", "preparation", "canceled", "cancelled")
CANCELLED_STATES = ("canceled", "cancelled")  # final, like success and failed

# -- account endpoints ----------------------------------------------------------------------
LIST_WINDOW_DAYS = 7
LIST_PAGE_SIZE = 10
LIST_MAX_PAGE_SIZE = 100
PACKAGE_TYPES = ("test", "metered", "concurrent")
#: The credits answer names its array ``remains`` in the example, ``remaining_credits`` in
#: the field table.
CREDITS_FIELDS = ("remains", "remaining_credits")
#: Cancel succeeds with ``{}`` in the example and "returns null" in the prose.
CANCEL_ANSWERS = ("{}", "null", "")

# -- credits --------------------------------------------------------------------------------
IS_REC_CREDITS = 10
OFF_PEAK_FACTOR = 0.5


# -- models ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Model:
    """One row of the tasks page's model table.

    ``version`` is the short name the task list filters by (``model_versions``); ``q3`` says
    whether audio may be combined with off-peak (Q3 models only); ``amplitude`` whether
    ``movement_amplitude`` has an effect (the img2video page: none on q2 and q3 models).
    ``rates`` are credits per
    second at normal priority: only viduq3-pro's are published for the current denomination,
    the others are the simulator's stand-ins (the service's ``credits`` field is the truth).
    """

    name: str
    version: str
    durations: tuple[int, ...]
    default_duration: int
    resolutions: tuple[str, ...]
    default_resolution: str
    rates: Mapping[str, float]
    audio_default: bool = False
    q3: bool = False
    by_duration: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    amplitude: bool = True

    def resolutions_at(self, duration: int) -> tuple[str, ...]:
        return self.by_duration.get(duration, self.resolutions)

    def default_resolution_at(self, duration: int) -> str:
        allowed = self.resolutions_at(duration)
        return self.default_resolution if self.default_resolution in allowed else allowed[0]

    def durations_text(self) -> str:
        d = self.durations
        if len(d) > 2 and d == tuple(range(d[0], d[-1] + 1)):
            return f"{d[0]}-{d[-1]} s"
        return " or ".join(str(x) for x in d) + " s"


_ALL3 = ("540p", "720p", "1080p")
_FAST = ("720p", "1080p")
_Q3_DURATIONS = tuple(range(1, 17))
_Q2_DURATIONS = tuple(range(1, 11))


def _q3(name: str, version: str, resolutions: tuple[str, ...], rates: dict[str, float]) -> Model:
    return Model(
        name, version, _Q3_DURATIONS, 5, resolutions, "720p", rates, True, True, amplitude=False
    )


def _q2(name: str, version: str, resolutions: tuple[str, ...], rates: dict[str, float]) -> Model:
    return Model(name, version, _Q2_DURATIONS, 5, resolutions, "720p", rates, amplitude=False)


MODELS: Mapping[str, Model] = MappingProxyType(
    {
        m.name: m
        for m in (
            _q3("viduq3-pro", "q3-pro", _ALL3, {"540p": 14, "720p": 30, "1080p": 32}),
            _q3("viduq3-turbo", "q3", _ALL3, {"540p": 7, "720p": 15, "1080p": 16}),
            _q3("viduq3-pro-fast", "q3-pro-fast", _FAST, {"720p": 15, "1080p": 16}),
            _q2("viduq2-pro", "q2-pro", _ALL3, {"540p": 1, "720p": 2, "1080p": 4}),
            _q2("viduq2-turbo", "q2", _ALL3, {"540p": 1, "720p": 1, "1080p": 2}),
            _q2("viduq2-pro-fast", "q2-pro-fast", _FAST, {"720p": 1, "1080p": 2}),
            Model("viduq1", "q1", (5,), 5, ("1080p",), "1080p", {"1080p": 8 / 5}),
            Model("viduq1-classic", "q1", (5,), 5, ("1080p",), "1080p", {"1080p": 8 / 5}),
            Model(
                "vidu2.0",
                "2.0",
                (4, 8),
                4,
                ("360p", "720p", "1080p"),
                "360p",
                {"360p": 1, "720p": 2, "1080p": 4},
                by_duration={8: ("720p",)},
            ),  # fmt: skip
        )
    }
)

#: Short names of ``model_versions`` in the task list, each with the models it covers.
VERSIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        v: tuple(m.name for m in MODELS.values() if m.version == v)
        for v in dict.fromkeys(m.version for m in MODELS.values())
    }
)
#: Every resolution some model takes (the task list's ``resolutions`` filter).
RESOLUTIONS = ("360p", "540p", "720p", "1080p")


def credits_for(model: str, resolution: str, duration: int, off_peak: bool, is_rec: bool) -> int:
    """What the simulated service charges: rate per second times duration (off-peak at half
    rate), rounded up, plus 10 for ``is_rec``."""
    rate = MODELS[model].rates[resolution] * (OFF_PEAK_FACTOR if off_peak else 1.0)
    return math.ceil(round(rate * duration, 6)) + (IS_REC_CREDITS if is_rec else 0)
