"""sweep(): arguments that are not lists are refused naming the argument, and every field of
the base request (watermark, meta_data, the unknown-model opt-in) reaches each request."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_image

from vidu_nb import Img2VideoRequest, UnknownModelWarning, ValidationError
from vidu_nb.request.sweep import LABEL_FIELDS, sweep, varying_keys

ARGS = {
    "prompts": "a fox",
    "seeds": 7,
    "durations": 5,
    "resolutions": "720p",
    "models": "viduq2-pro",
}


@pytest.fixture(scope="module")
def base():
    return Img2VideoRequest(image=make_image(), model="viduq2-turbo", duration=2)


@pytest.mark.parametrize("arg", ARGS)
@pytest.mark.parametrize("kind", ["bare", "text", "dict", "bytes", "frame", "0-d"])
def test_not_a_list_names_the_argument(base, arg, kind):
    values = {
        "bare": ARGS[arg],
        "text": "540p, 720p",
        "dict": {ARGS[arg]: 1},
        "bytes": b"12",
        "frame": pd.DataFrame({arg: [ARGS[arg]]}),
        "0-d": np.array(ARGS[arg]),
    }[kind]
    with pytest.raises(ValidationError) as exc:
        sweep(base, **{arg: values})
    assert exc.value.field == arg and "list" in exc.value.limit
    assert str(exc.value).startswith(f"{arg}=")


@pytest.mark.parametrize("arg", ARGS)
def test_an_empty_list_names_the_argument(base, arg):
    with pytest.raises(ValidationError) as exc:
        sweep(base, **{arg: []})
    assert exc.value.field == arg


def test_collections_of_any_kind_are_lists(base):
    assert len(sweep(base, seeds=(s for s in (1, 2)))) == 2  # a generator
    assert len(sweep(base, seeds=pd.Series([1, 2]), prompts=np.array(["a", "b"]))) == 4
    assert len(sweep(base, resolutions={"540p", "720p"})) == 2


def test_the_base_and_the_flag_are_checked(base):
    with pytest.raises(ValidationError) as exc:
        sweep({"model": "viduq2-turbo"}, seeds=[1])  # type: ignore[arg-type]
    assert exc.value.field == "base"
    with pytest.raises(ValidationError) as exc:
        sweep(base, seeds=[1], skip_invalid="yes")  # type: ignore[arg-type]
    assert exc.value.field == "skip_invalid"


def test_watermark_and_meta_data_are_carried_into_every_request():
    marked = Img2VideoRequest(
        image=make_image(),
        model="viduq2-turbo",
        duration=2,
        watermark=True,
        wm_position=4,
        wm_url="https://example.org/m.png",
        meta_data={"run": 1},
    )
    plan = sweep(marked, seeds=[1, 2], models=["viduq2-turbo", "viduq3-pro"])
    assert len(plan) == 4
    for r in plan:
        body = r.to_body()
        assert (body["watermark"], body["wm_position"], body["wm_url"], body["meta_data"]) == (
            True,
            4,
            "https://example.org/m.png",
            '{"run":1}',
        )


def test_rows_differing_by_watermark_are_labelled_by_it():
    assert {"watermark", "wm_position"} <= set(LABEL_FIELDS)
    rows = [{"seed": 1, "watermark": True}, {"seed": 1, "watermark": False}]
    assert varying_keys(rows) == ["watermark"]


def test_a_sweep_over_models_reports_the_unknown_and_the_audio_off_peak_combinations():
    q3 = Img2VideoRequest(image=make_image(), audio=True, off_peak=True, duration=2)
    with pytest.raises(ValidationError) as exc:
        sweep(q3, models=["viduq3-pro", "viduq2-turbo", "vidu1.5"])
    assert "model='viduq2-turbo'" in exc.value.limit and "off_peak" in exc.value.limit
    assert "model='vidu1.5'" in exc.value.limit and "allow_unknown_model" in exc.value.limit
    plan = sweep(q3, models=["viduq3-pro", "viduq2-turbo", "vidu1.5"], skip_invalid=True)
    assert [r.model for r in plan] == ["viduq3-pro"]
    assert [c["model"] for c, _ in plan.skipped] == ["viduq2-turbo", "vidu1.5"]


def test_the_unknown_model_opt_in_is_carried_through_a_sweep():
    with pytest.warns(UnknownModelWarning):
        base = Img2VideoRequest(image=make_image(), model="viduq3-mix", allow_unknown_model=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownModelWarning)
        plan = sweep(
            base, durations=[12, 20], models=["viduq3-mix", "viduq2-pro"], skip_invalid=True
        )
    # The unknown model is not held to a table; the known one still is (1-10 s).
    assert [(r.model, r.duration) for r in plan] == [("viduq3-mix", 12), ("viduq3-mix", 20)]
    assert all(r.allow_unknown_model for r in plan)
    assert len(plan.skipped) == 2 and all("1-10 s" in why for _, why in plan.skipped)
