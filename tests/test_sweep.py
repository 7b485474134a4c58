"""Sweep expansion, invalid combinations, labels of varying parameters."""

from __future__ import annotations

import pytest

from vidu_nb import Img2VideoRequest, ValidationError
from vidu_nb.request.sweep import label_for, needs_confirmation, parse_list, sweep, varying_keys


@pytest.fixture
def base(png_bytes):
    return Img2VideoRequest(image=png_bytes, model="viduq2-pro", prompt="base", duration=5)


def test_three_prompts_by_two_seeds_is_six_requests(base):
    plan = sweep(base, prompts=["a", "b", "c"], seeds=[1, 2])
    assert len(plan) == 6
    assert [(r.prompt, r.seed) for r in plan] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("b", 2),
        ("c", 1),
        ("c", 2),
    ]
    assert all(r.model == "viduq2-pro" and r.duration == 5 for r in plan)
    assert plan.varying == ["prompt", "seed"]
    assert plan.labels()[0] == "\u201ca\u201d \u00b7 seed=1"


def test_duplicates_are_dropped_and_unset_lists_keep_base(base):
    plan = sweep(base, seeds=[7, 7, 8])
    assert [r.seed for r in plan] == [7, 8]
    assert {r.prompt for r in plan} == {"base"}


def test_invalid_combinations_are_reported_by_value(base):
    with pytest.raises(ValidationError) as info:
        sweep(base, models=["viduq2-pro", "viduq1"], durations=[5, 8])
    text = str(info.value)
    assert "model='viduq1', duration=8" in text
    assert "skip_invalid=True" in text
    plan = sweep(base, models=["viduq2-pro", "viduq1"], durations=[5, 8], skip_invalid=True)
    assert len(plan) == 3 and len(plan.skipped) == 1
    assert plan.skipped[0][0] == {"model": "viduq1", "duration": 8}
    assert "1 invalid combination" in plan.describe()


def test_bad_list_arguments(base):
    with pytest.raises(ValidationError, match="prompts"):
        sweep(base, prompts="just one string")
    with pytest.raises(ValidationError, match="at least one"):
        sweep(base, seeds=[])


def test_total_credits_and_confirmation(base):
    plan = sweep(base, seeds=[1, 2, 3])
    assert plan.total_credits(lambda r: 10) == 30
    assert "about 30 credits" in plan.describe(lambda r: 10)
    assert needs_confirmation(201) and not needs_confirmation(200)


def test_varying_keys_and_labels():
    rows = [
        {"model": "m", "prompt": "x" * 100, "seed": 1, "duration": 5},
        {"model": "m", "prompt": "y", "seed": 1, "duration": 8, "resolution": "720p"},
    ]
    keys = varying_keys(rows)
    assert keys == ["prompt", "duration", "resolution"]
    label = label_for(rows[0], keys)
    assert label.endswith("5 s \u00b7 resolution: default") and "\u2026" in label
    assert varying_keys([{"seed": float("nan")}, {"seed": None}]) == []


def test_parse_list():
    assert parse_list("a cat\n\n a dog \n") == ["a cat", "a dog"]
    assert parse_list("1, 2 3", int) == [1, 2, 3]
    with pytest.raises(ValidationError, match="int"):
        parse_list("1, x", int)
