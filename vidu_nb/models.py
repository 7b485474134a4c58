"""The model capability table: what each Vidu model accepts, its defaults and its rates.

One row per model drives validation, form controls, the simulator and credit estimates, so a
new model is one entry here. Rates are credits per second of video at normal (not off-peak)
priority; ``rates_published`` says whether they come from published price lists or are a
placeholder guess (estimates must say which).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

#: Fields that can be set on a request and may have no effect on some models.
Q3_IGNORED = MappingProxyType(
    {
        "bgm": "background music is not available on Q3 models",
        "movement_amplitude": "movement_amplitude has no effect on Q3 models",
        "voice_id": "voice_id is not effective on Q3 models",
        "audio_type": "audio_type splitting applies only to q2, q1 and 2.0 models",
    }
)
Q2_IGNORED = MappingProxyType(
    {"movement_amplitude": "movement_amplitude has no effect on q2 models"}
)

OFF_PEAK_FACTOR = 0.5
IS_REC_CREDITS = 10


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    durations: tuple[int, ...]
    default_duration: int
    resolutions: tuple[str, ...]
    default_resolution: str
    audio_default: bool = False
    ignored: Mapping[str, str] = field(default_factory=dict)
    rates: Mapping[str, float] = field(default_factory=dict)
    rates_published: bool = False
    #: Some models allow fewer resolutions at some durations (vidu2.0: 8 s is 720p only).
    resolutions_by_duration: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: Durations at which ``bgm`` is silently not applied (q2 at 9 and 10 s).
    bgm_ignored_durations: tuple[int, ...] = ()

    def resolutions_for(self, duration: int | None) -> tuple[str, ...]:
        if duration is not None and duration in self.resolutions_by_duration:
            return self.resolutions_by_duration[duration]
        return self.resolutions

    def default_resolution_for(self, duration: int | None) -> str:
        allowed = self.resolutions_for(duration)
        return self.default_resolution if self.default_resolution in allowed else allowed[0]

    def rate(self, resolution: str, off_peak: bool = False) -> float:
        """Credits per second for a resolution (the nearest known one when not listed)."""
        if resolution in self.rates:
            base = self.rates[resolution]
        else:
            known = sorted(self.rates.items(), key=lambda kv: _pixels(kv[0]))
            base = known[-1][1] if known else 0.0
            for res, value in known:
                if _pixels(res) >= _pixels(resolution):
                    base = value
                    break
        return base * (OFF_PEAK_FACTOR if off_peak else 1.0)

    def describe_durations(self) -> str:
        d = self.durations
        if len(d) > 2 and d == tuple(range(d[0], d[-1] + 1)):
            return f"{d[0]}-{d[-1]} s"
        return " or ".join(str(x) for x in d) + " s"


def _pixels(resolution: str) -> int:
    try:
        return int(resolution.rstrip("p"))
    except ValueError:
        return 0


_Q3_RES = ("540p", "720p", "1080p")
_Q3_RATES = {"540p": 14, "720p": 30, "1080p": 32}

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        m.name: m
        for m in [
            ModelSpec(
                "viduq3-pro",
                "q3",
                tuple(range(1, 17)),
                5,
                _Q3_RES,
                "720p",
                True,
                Q3_IGNORED,
                _Q3_RATES,
                rates_published=True,
            ),
            ModelSpec(
                "viduq3-turbo",
                "q3",
                tuple(range(1, 17)),
                5,
                _Q3_RES,
                "720p",
                True,
                Q3_IGNORED,
                {"540p": 7, "720p": 15, "1080p": 16},
            ),
            ModelSpec(
                "viduq3-pro-fast",
                "q3",
                tuple(range(1, 17)),
                5,
                ("720p", "1080p"),
                "720p",
                True,
                Q3_IGNORED,
                {"720p": 15, "1080p": 16},
            ),
            ModelSpec(
                "viduq2-pro",
                "q2",
                tuple(range(1, 11)),
                5,
                _Q3_RES,
                "720p",
                False,
                Q2_IGNORED,
                {"540p": 1, "720p": 2, "1080p": 4},
                rates_published=True,
                bgm_ignored_durations=(9, 10),
            ),
            ModelSpec(
                "viduq2-turbo",
                "q2",
                tuple(range(1, 11)),
                5,
                _Q3_RES,
                "720p",
                False,
                Q2_IGNORED,
                {"540p": 1, "720p": 1, "1080p": 2},
                rates_published=True,
                bgm_ignored_durations=(9, 10),
            ),
            ModelSpec(
                "viduq2-pro-fast",
                "q2",
                tuple(range(1, 11)),
                5,
                _Q3_RES,
                "720p",
                False,
                Q2_IGNORED,
                {"540p": 1, "720p": 1, "1080p": 2},
                bgm_ignored_durations=(9, 10),
            ),
            ModelSpec(
                "viduq1",
                "q1",
                (5,),
                5,
                ("1080p",),
                "1080p",
                False,
                {},
                {"1080p": 8 / 5},
                rates_published=True,
            ),
            ModelSpec(
                "viduq1-classic", "q1", (5,), 5, ("1080p",), "1080p", False, {}, {"1080p": 8 / 5}
            ),
            ModelSpec(
                "vidu2.0",
                "2.0",
                (4, 8),
                4,
                ("360p", "720p", "1080p"),
                "360p",
                False,
                {},
                {"360p": 1, "720p": 2, "1080p": 4},
                resolutions_by_duration={8: ("720p",)},
            ),
            ModelSpec(
                "vidu1.5",
                "2.0",
                (4, 8),
                4,
                ("360p", "720p", "1080p"),
                "360p",
                False,
                {},
                {"360p": 1, "720p": 2, "1080p": 4},
                resolutions_by_duration={8: ("720p",)},
            ),
        ]
    }
)

DEFAULT_MODEL = "viduq3-pro"


def get_model(name: str) -> ModelSpec:
    """The capability row of a model; unknown names raise ``ValidationError``."""
    from .errors import ValidationError

    key = name.strip().lower() if isinstance(name, str) else name  # "ViduQ3-Pro " is meant
    try:
        return MODELS[key]
    except (KeyError, TypeError):
        raise ValidationError("model", name, "must be one of " + ", ".join(MODELS)) from None
