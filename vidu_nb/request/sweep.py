"""Sweeps: a grid of requests from lists of values, and labels for what varies among tasks.

Pure logic with no I/O: ``sweep()`` expands a base request into the cartesian product of the
given lists (prompts x seeds x durations x resolutions x models), reporting every invalid
combination by its values and reason, and ``varying_keys``/``label_for`` name the parameters
that differ among a set of tasks so a comparison grid shows only what matters.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from .spec import Img2VideoRequest

#: The order in which swept fields are expanded (and shown in labels).
SWEEP_FIELDS = ("model", "prompt", "seed", "duration", "resolution", "movement_amplitude")
#: Parameters worth naming in a comparison label, in display order.
LABEL_FIELDS = (
    "model",
    "prompt",
    "seed",
    "duration",
    "resolution",
    "audio",
    "audio_type",
    "movement_amplitude",
    "off_peak",
    "is_rec",
    "bgm",
    "voice_id",
    "watermark",
    "wm_position",
)
#: Above this many estimated credits a sweep must be confirmed before it is submitted.
CONFIRM_CREDITS = 200


class SweepPlan(list[Img2VideoRequest]):
    """The requests of a sweep (a list), with the swept values of each and what was skipped.

    ``combos[i]`` holds the swept values of ``self[i]``; ``skipped`` lists
    ``(values, reason)`` for combinations that the model table rejects.
    """

    def __init__(
        self,
        requests: Iterable[Img2VideoRequest] = (),
        combos: Sequence[dict[str, Any]] = (),
        skipped: Sequence[tuple[dict[str, Any], str]] = (),
    ) -> None:
        super().__init__(requests)
        self.combos: list[dict[str, Any]] = list(combos)
        self.skipped: list[tuple[dict[str, Any], str]] = list(skipped)

    @property
    def varying(self) -> list[str]:
        """The swept fields that take more than one value in this plan."""
        return varying_keys(self.combos)

    def labels(self) -> list[str]:
        keys = self.varying
        return [label_for(c, keys) for c in self.combos]

    def total_credits(self, estimate: Callable[[Img2VideoRequest], float]) -> float:
        return float(sum(estimate(r) for r in self))

    def describe(self, estimate: Callable[[Img2VideoRequest], float] | None = None) -> str:
        text = f"{len(self)} request{'s' if len(self) != 1 else ''}"
        if estimate is not None:
            text += f", about {self.total_credits(estimate):,.0f} credits"
        if self.skipped:
            text += f" ({len(self.skipped)} invalid combination(s) skipped)"
        return text


def sweep(
    base: Img2VideoRequest,
    *,
    prompts: Iterable[str | None] | None = None,
    seeds: Iterable[int | None] | None = None,
    durations: Iterable[int | None] | None = None,
    resolutions: Iterable[str | None] | None = None,
    models: Iterable[str] | None = None,
    movement_amplitudes: Iterable[str | None] | None = None,
    skip_invalid: bool = False,
) -> SweepPlan:
    """Every combination of the given lists applied to ``base`` (``None`` lists keep its value).

    An invalid combination (say 16 s on a model that stops at 10 s) raises ``ValidationError``
    listing all of them, unless ``skip_invalid`` is true: then they are left out and kept in
    ``plan.skipped`` with their reason. Every other field of ``base`` (watermark, meta_data,
    ``allow_unknown_model``...) is carried into each request.
    """
    if not isinstance(base, Img2VideoRequest):
        raise ValidationError("base", type(base).__name__, "must be an Img2VideoRequest")
    if not isinstance(skip_invalid, bool):
        raise ValidationError("skip_invalid", skip_invalid, "must be bool")
    axes: dict[str, list[Any]] = {}
    for name, values in (
        ("model", models),
        ("prompt", prompts),
        ("seed", seeds),
        ("duration", durations),
        ("resolution", resolutions),
        ("movement_amplitude", movement_amplitudes),
    ):
        if values is None:
            continue
        # Any collection will do (a list, a tuple, range, numpy array, pandas Series, set),
        # but not text, a mapping (its keys would be swept), a single value or a table.
        if (
            isinstance(values, (str, bytes, Mapping))
            or not isinstance(values, Iterable)
            or getattr(values, "ndim", 1) != 1
        ):
            raise ValidationError(f"{name}s", values, "must be a list of values")
        given = list(values)
        if not given:
            raise ValidationError(f"{name}s", given, "must hold at least one value")
        axes[name] = list(dict.fromkeys(given))  # drop duplicates, keep order
    names = list(axes)
    requests: list[Img2VideoRequest] = []
    combos: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for values in itertools.product(*(axes[n] for n in names)):
        combo = dict(zip(names, values, strict=True))
        try:
            req = base.replace(**combo)
        except ValidationError as exc:
            skipped.append((combo, str(exc)))
            continue
        requests.append(req)
        combos.append({k: getattr(req, k) for k in SWEEP_FIELDS})
    if skipped and not skip_invalid:
        listing = "; ".join(f"{_combo_text(c)} -> {why}" for c, why in skipped[:10])
        more = f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else ""
        raise ValidationError(
            "sweep",
            f"{len(skipped)} of {len(skipped) + len(requests)} combinations",
            f"are invalid: {listing}{more}; pass skip_invalid=True to leave them out",
        )
    if not requests:
        raise ValidationError("sweep", 0, "no valid combination to submit")
    return SweepPlan(requests, combos, skipped)


def needs_confirmation(total_credits: float, threshold: float = CONFIRM_CREDITS) -> bool:
    return total_credits > threshold


def varying_keys(
    rows: Iterable[Mapping[str, Any]], candidates: Sequence[str] = LABEL_FIELDS
) -> list[str]:
    """The candidate keys whose values differ among ``rows`` (missing counts as ``None``)."""
    rows = list(rows)
    out = []
    for key in candidates:
        seen = {_hashable(r.get(key)) for r in rows}
        if len(seen) > 1:
            out.append(key)
    return out


def label_for(row: Mapping[str, Any], keys: Sequence[str], prompt_chars: int = 60) -> str:
    """A short plain-text label naming the values of ``keys`` (escape it before HTML)."""
    parts = []
    for key in keys:
        value = row.get(key)
        if key == "prompt":
            text = "" if value is None else str(value)
            if len(text) > prompt_chars:
                text = text[: prompt_chars - 1] + "\u2026"
            parts.append(f"\u201c{text}\u201d" if text else "(no prompt)")
        elif value is None:
            parts.append(f"{key}: default")
        elif key == "duration":
            parts.append(f"{value} s")
        elif key in ("resolution", "model"):
            parts.append(str(value))
        else:
            parts.append(f"{key}={value}")
    return " \u00b7 ".join(parts)


def parse_list(text: str, kind: type = str) -> list[Any]:
    """Values from a text box: one per line (prompts) or comma/space separated (numbers)."""
    if kind is str:
        return [line.strip() for line in text.splitlines() if line.strip()]
    out = []
    for token in text.replace(",", " ").split():
        try:
            out.append(kind(token))
        except ValueError:
            raise ValidationError("sweep", token, f"must be a {kind.__name__}") from None
    return out


def _combo_text(combo: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in combo.items())


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    if isinstance(value, float) and value != value:  # NaN from pandas means "not set"
        return None
    return value
