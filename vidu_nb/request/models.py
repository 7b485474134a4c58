"""The model capability table: what each Vidu model accepts, its defaults and its rates.

One row per model drives validation, form controls and credit estimates, so a new model is one
entry here. Models absent from the table are refused with the list, unless a request opts in
with ``allow_unknown_model``: then ``unknown_model()`` gives a permissive row whose limits are
not checked on this side (the service still checks them).

Rates are credits per second of video at normal (not off-peak) priority, as they were listed.
Credits were re-denominated x10 on 2025-11-03, so a figure listed before that is multiplied by
``rate_scale`` for estimates (``estimate_rate``): over-estimating before spending is the safe
side, and what the task log learns from real charges replaces it. ``rate_basis`` says how far
to trust a row's figures and estimates carry it as their label:

- ``"published"``: a published price list in today's credits;
- ``"unverified"``: published, but not confirmed for today's denomination;
- ``"placeholder"``: nothing published; a guess from a related model.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

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

RateBasis = Literal["published", "unverified", "placeholder"]
RATE_BASES: tuple[RateBasis, ...] = ("published", "unverified", "placeholder")
#: Credits were re-denominated on this day: one new credit is a tenth of an old one.
REDENOMINATED_ON = "2025-11-03"
REDENOMINATION_FACTOR = 10


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
    #: Credits per second per resolution, as listed (see ``rate_scale``).
    rates: Mapping[str, float] = field(default_factory=dict)
    rate_basis: RateBasis = "placeholder"
    #: Where the figures come from, in a few words (shown with estimates).
    rate_note: str = ""
    #: Multiplies the listed figures into today's credits (10 for pre-2025-11-03 figures).
    rate_scale: float = 1.0
    #: Some models allow fewer resolutions at some durations (vidu2.0: 8 s is 720p only).
    resolutions_by_duration: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: Durations at which ``bgm`` is silently not applied (q2 at 9 and 10 s).
    bgm_ignored_durations: tuple[int, ...] = ()
    #: ``audio`` together with ``off_peak`` (documented for Q3 models only).
    audio_with_off_peak: bool = False
    #: False for the permissive row of a model absent from the table: nothing is checked.
    known: bool = True

    def __post_init__(self) -> None:
        if self.rate_basis not in RATE_BASES:
            raise ValueError(f"rate_basis must be one of {', '.join(RATE_BASES)}")

    @property
    def rates_published(self) -> bool:
        """Compatibility: true only for rates published in today's credits."""
        return self.rate_basis == "published"

    def resolutions_for(self, duration: int | None) -> tuple[str, ...]:
        if duration is not None and duration in self.resolutions_by_duration:
            return self.resolutions_by_duration[duration]
        return self.resolutions

    def default_resolution_for(self, duration: int | None) -> str:
        allowed = self.resolutions_for(duration)
        if not allowed or self.default_resolution in allowed:
            return self.default_resolution
        return allowed[0]

    def rate(self, resolution: str, off_peak: bool = False) -> float:
        """Credits per second for a resolution as listed (the nearest known one when not
        listed), before ``rate_scale``; estimates use ``estimate_rate``."""
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

    def estimate_rate(self, resolution: str, off_peak: bool = False) -> float:
        """Credits per second in today's credits, for estimates."""
        return self.rate(resolution, off_peak) * self.rate_scale

    def describe_durations(self) -> str:
        d = self.durations
        if not d:
            return "any duration (not checked)"
        if len(d) > 2 and d == tuple(range(d[0], d[-1] + 1)):
            return f"{d[0]}-{d[-1]} s"
        return " or ".join(str(x) for x in d) + " s"


def _pixels(resolution: str) -> int:
    try:
        return int(resolution.rstrip("p"))
    except ValueError:
        return 0


_Q3_RES = ("540p", "720p", "1080p")
_OLD = (
    f"figures from before credits were re-denominated x{REDENOMINATION_FACTOR} on "
    f"{REDENOMINATED_ON}, scaled x{REDENOMINATION_FACTOR}"
)
_GUESS_Q3 = "no published rate: guessed at half of viduq3-pro's"


def _q3(name: str, resolutions: tuple[str, ...], rates: dict[str, float], **kw: Any) -> ModelSpec:
    """1-16 s, default 5 s at 720p, audio on by default and allowed off-peak."""
    durations = tuple(range(1, 17))
    return ModelSpec(
        name, "q3", durations, 5, resolutions, "720p", True, Q3_IGNORED, rates,
        audio_with_off_peak=True, **kw,
    )  # fmt: skip


def _q2(name: str, resolutions: tuple[str, ...], rates: dict[str, float], **kw: Any) -> ModelSpec:
    """1-10 s (img2video), default 5 s at 720p; figures listed in old credits."""
    durations = tuple(range(1, 11))
    return ModelSpec(
        name, "q2", durations, 5, resolutions, "720p", False, Q2_IGNORED, rates,
        rate_scale=REDENOMINATION_FACTOR, bgm_ignored_durations=(9, 10), **kw,
    )  # fmt: skip


def _q1(name: str, **kw: Any) -> ModelSpec:
    """5 s at 1080p only; figures listed in old credits."""
    return ModelSpec(
        name, "q1", (5,), 5, ("1080p",), "1080p", rates={"1080p": 8 / 5},
        rate_scale=REDENOMINATION_FACTOR, **kw,
    )  # fmt: skip


MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        m.name: m
        for m in [
            _q3(
                "viduq3-pro",
                _Q3_RES,
                {"540p": 14, "720p": 30, "1080p": 32},
                rate_basis="published",
                rate_note="reseller price list, in today's credits",
            ),
            _q3("viduq3-turbo", _Q3_RES, {"540p": 7, "720p": 15, "1080p": 16}, rate_note=_GUESS_Q3),
            _q3(
                "viduq3-pro-fast", ("720p", "1080p"), {"720p": 15, "1080p": 16}, rate_note=_GUESS_Q3
            ),
            _q2(
                "viduq2-pro",
                _Q3_RES,
                {"540p": 1, "720p": 2, "1080p": 4},
                rate_basis="unverified",
                rate_note=f"published rate; {_OLD}",
            ),
            _q2(
                "viduq2-turbo",
                _Q3_RES,
                {"540p": 1, "720p": 1, "1080p": 2},
                rate_basis="unverified",
                rate_note=f"published rate; {_OLD}",
            ),
            _q2(
                "viduq2-pro-fast",
                ("720p", "1080p"),
                {"720p": 1, "1080p": 2},
                rate_note=f"no published rate: viduq2-turbo's; {_OLD}",
            ),
            _q1(
                "viduq1", rate_basis="unverified", rate_note=f"published as 8 per 5 s task; {_OLD}"
            ),
            _q1("viduq1-classic", rate_note=f"no published rate: viduq1's; {_OLD}"),
            ModelSpec(
                "vidu2.0",
                "2.0",
                (4, 8),
                4,
                ("360p", "720p", "1080p"),
                "360p",
                rates={"360p": 1, "720p": 2, "1080p": 4},
                rate_note=f"no published rate: viduq2-pro's; {_OLD}",
                rate_scale=REDENOMINATION_FACTOR,
                resolutions_by_duration={8: ("720p",)},
            ),
        ]
    }
)

DEFAULT_MODEL = "viduq3-pro"


def get_model(name: str) -> ModelSpec:
    """The capability row of a model; names absent from the table raise ``ValidationError``."""
    from ..errors import ValidationError

    key = name.strip().lower() if isinstance(name, str) else name  # "ViduQ3-Pro " is meant
    try:
        return MODELS[key]
    except (KeyError, TypeError):
        raise ValidationError(
            "model",
            name,
            "must be one of "
            + ", ".join(MODELS)
            + " (or pass allow_unknown_model=True to skip the client-side model limits)",
        ) from None


def lookup_model(name: str, allow_unknown: bool = False) -> ModelSpec:
    """``get_model``, or with ``allow_unknown`` the permissive row of a model not in the table."""
    if not allow_unknown or (isinstance(name, str) and name.strip().lower() in MODELS):
        return get_model(name)
    return unknown_model(name)


def unknown_model(name: str) -> ModelSpec:
    """A permissive row for a model absent from the table: any duration and resolution pass
    here and the service decides. Defaults are the API's documented ones (5 s, 720p; audio on
    for a ``viduq3`` name, as on Q3 models); the estimate takes the dearest rate of the table
    at each resolution, so that it errs on the high side before spending."""
    from ..errors import ValidationError

    if not isinstance(name, str) or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValidationError("model", name, "must be a model name (text without spaces)")
    key = name.strip().lower()
    return ModelSpec(
        key,
        "unknown",
        durations=(),
        default_duration=5,
        resolutions=(),
        default_resolution="720p",
        audio_default=key.startswith("viduq3"),
        rates=_DEAREST,
        rate_note=f"{key} is not in the model table: the dearest rate of the table",
        audio_with_off_peak=True,
        known=False,
    )


def _dearest() -> Mapping[str, float]:
    out: dict[str, float] = {}
    for spec in MODELS.values():
        for res in spec.rates:
            out[res] = max(out.get(res, 0.0), spec.estimate_rate(res))
    return MappingProxyType(out)


_DEAREST = _dearest()
