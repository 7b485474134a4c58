"""Blind duels: which pairs of videos to show side by side, so a vote compares one thing.

Two videos made from different start images differ in everything; two from the same image that
differ in the parameter being judged (``by``: the prompt, the model, the seed...) make a vote
about that parameter. ``duel_pairs`` lists such pairs from the log's rows: the same start image
(``image_sha256``), different values of ``by``, only succeeded tasks, every unordered pair at
most once (and none already voted on, with ``skip=log.votes()``), in a random order with a
random side for each, so neither the order nor the side gives away which is which. The same
``seed`` gives the same pairs. Pure: the duel widget shows them and calls ``log.vote``.
"""

from __future__ import annotations

import numbers
import random
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from .. import states
from ..errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd


class Pair(NamedTuple):
    """A duel: the row ids of the task shown left and of the one shown right."""

    left: int
    right: int


def duel_pairs(
    df: pd.DataFrame,
    by: str | Iterable[str],
    *,
    seed: int | None = None,
    skip: Any = None,
    limit: int | None = None,
) -> list[Pair]:
    """Pairs of tasks of ``df`` (rows of ``log.df``) with the same start image that differ in
    ``by`` (a column or several: any of them differing), shuffled with ``seed``.

    ``skip`` leaves out pairs already judged: ``log.votes()`` or ``(row id, row id)`` pairs, in
    either order. ``limit`` keeps the first so many. Rows whose ``state`` is not a success are
    left out, and so are rows without an image fingerprint.
    """
    keys = _check(df, by, seed, limit)
    ids = df["row_id"] if "row_id" in df.columns else df.index.to_series()
    seen_pairs = _skipped(skip)
    images: dict[Hashable, list[tuple[int, tuple[Hashable, ...]]]] = {}
    done: set[int] = set()
    columns = [ids, df["image_sha256"], df.get("state", [None] * len(df)), *(df[k] for k in keys)]
    for row_id, image, state, *values in zip(*columns, strict=True):
        if _missing(image) or _missing(row_id) or (state is not None and _unsuccessful(state)):
            continue
        rid = int(row_id)
        if rid in done:  # the same row twice: one task
            continue
        done.add(rid)
        images.setdefault(image, []).append(
            (rid, tuple(None if _missing(v) else v for v in values))
        )
    found: list[tuple[int, int]] = []
    for members in images.values():
        members.sort()
        for i, (a, va) in enumerate(members):
            for b, vb in members[i + 1 :]:
                if va != vb and (a, b) not in seen_pairs:
                    found.append((a, b))
    found.sort()
    rng = random.Random(seed)
    rng.shuffle(found)
    if limit is not None:
        found = found[:limit]
    return [Pair(a, b) if rng.random() < 0.5 else Pair(b, a) for a, b in found]


def _check(df: Any, by: Any, seed: Any, limit: Any) -> list[str]:
    if not hasattr(df, "columns") or not hasattr(df, "index"):
        raise ValidationError("df", df, "must be a DataFrame of the task log's rows (log.df)")
    if "image_sha256" not in df.columns:
        why = "has no image_sha256 column: give rows of log.df (the start image's fingerprint)"
        raise ValidationError("df", list(df.columns)[:8], why)
    keys = [by] if isinstance(by, str) else list(by) if isinstance(by, Iterable) else None
    if not keys:
        raise ValidationError("by", by, "must name a column or several, e.g. 'prompt'")
    unknown = [k for k in keys if k not in df.columns]
    if unknown:
        raise ValidationError("by", by, f"no such column: {', '.join(map(str, unknown))}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ValidationError("seed", seed, "must be a whole number or None")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 1
    ):
        raise ValidationError("limit", limit, "must be a whole number >= 1 or None")
    return keys


def _skipped(skip: Any) -> set[tuple[int, int]]:
    """The unordered pairs to leave out, as ``(smaller, larger)`` row ids."""
    if skip is None:
        return set()
    if hasattr(skip, "columns"):
        if not {"left_row_id", "right_row_id"} <= set(skip.columns):
            raise ValidationError("skip", list(skip.columns)[:8], "must be log.votes() or pairs")
        skip = zip(skip["left_row_id"], skip["right_row_id"], strict=True)
    out = set()
    try:
        for a, b in skip:
            out.add((min(int(a), int(b)), max(int(a), int(b))))
    except (TypeError, ValueError):
        raise ValidationError(
            "skip", skip, "must be log.votes() or (row id, row id) pairs"
        ) from None
    return out


def _unsuccessful(state: Any) -> bool:
    return _missing(state) or not states.is_success(str(state))


def _missing(value: Any) -> bool:
    import pandas as pd

    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or another value pandas cannot test
        return False
