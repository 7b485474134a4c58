"""Sweeps over values taken from numpy and pandas, as notebooks hand them over."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_image

from vidu_nb import Img2VideoRequest, ValidationError
from vidu_nb.request.sweep import sweep


@pytest.fixture
def base():
    return Img2VideoRequest(image=make_image(), duration=2, resolution="540p")


def test_sweep_over_numpy_and_pandas_values(base):
    seeds = pd.Series([11, 12, 11], dtype="Int64")  # a log column: numpy ints, duplicates
    plan = sweep(base, seeds=seeds, durations=np.arange(1, 3))
    assert [(r.seed, r.duration) for r in plan] == [(11, 1), (11, 2), (12, 1), (12, 2)]
    assert all(type(r.seed) is int for r in plan)
    assert plan.labels()[0] == "seed=11 \u00b7 1 s"
    assert len(sweep(base, seeds=range(3))) == 3


@pytest.mark.parametrize("values", ["12", 12, {"a": 1}, []])
def test_sweep_rejects_text_single_values_and_empty(base, values):
    with pytest.raises(ValidationError):
        sweep(base, seeds=values)


def test_sweep_over_movement_amplitude_names_it_in_labels_and_refuses_unknown_values(base):
    plan = sweep(base.replace(model="vidu2.0", duration=4, resolution="360p"),
                 movement_amplitudes=["small", "large"], seeds=[1])  # fmt: skip
    assert [r.movement_amplitude for r in plan] == ["small", "large"]
    assert plan.varying == ["movement_amplitude"]
    assert [c["movement_amplitude"] for c in plan.combos] == ["small", "large"]
    with pytest.raises(ValidationError, match="movement_amplitudes"):
        sweep(base, movement_amplitudes="large")  # text, not a list
    with pytest.raises(ValidationError, match="movement_amplitude") as caught:
        sweep(base, movement_amplitudes=["small", "huge"])
    assert "huge" in str(caught.value)
