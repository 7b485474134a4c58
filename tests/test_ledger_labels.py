"""Estimate labels: every figure says where it comes from (tasks.md "Credits"). Credits were
re-denominated x10 on 2025-11-03; rates published before then are "unverified" and scaled x10,
guesses are "placeholder", and what the log learned from real charges always wins."""

from __future__ import annotations

import math

import pytest

from vidu_nb import Img2VideoRequest, UnknownModelWarning, ValidationError
from vidu_nb.client.task import Task
from vidu_nb.request.models import MODELS, ModelSpec, get_model
from vidu_nb.tracking.ledger import estimate, rate_estimate, settings_key

pytestmark = pytest.mark.stores

#: The basis each model's rate has, from the contract: only viduq3-pro's figures are
#: published in today's credits; q2-pro, q2-turbo and q1 were published before 2025-11-03.
BASIS = {
    "viduq3-pro": "published",
    "viduq3-turbo": "placeholder",
    "viduq3-pro-fast": "placeholder",
    "viduq2-pro": "unverified",
    "viduq2-turbo": "unverified",
    "viduq2-pro-fast": "placeholder",
    "viduq1": "unverified",
    "viduq1-classic": "placeholder",
    "vidu2.0": "placeholder",
}


def test_every_model_has_the_contract_basis():
    assert {name: spec.rate_basis for name, spec in MODELS.items()} == BASIS
    for spec in MODELS.values():
        assert spec.rate_note  # a short reason, shown with the estimate
        assert spec.rates_published == (spec.rate_basis == "published")


@pytest.mark.parametrize("model", BASIS)
def test_the_estimate_label_names_the_basis(model):
    e = estimate({"model": model})
    assert e.source == f"{BASIS[model]} rate"
    assert str(e).endswith(f"({BASIS[model]} rate)") and not e.learned
    assert get_model(model).rate_note in e.detail
    if BASIS[model] == "unverified":
        assert "unverified" in e.detail and "2025-11-03" in e.detail and "x10" in e.detail
    if BASIS[model] == "placeholder":
        assert "guess" in e.detail


@pytest.mark.parametrize(
    ("settings", "credits"),
    [
        # Old figures x10: viduq2-turbo 1/s (720p), 2/s (1080p); viduq1 8 per 5 s task.
        ({"model": "viduq2-turbo", "duration": 5, "resolution": "720p"}, 50),
        ({"model": "viduq2-turbo", "duration": 5, "resolution": "1080p"}, 100),
        ({"model": "viduq2-pro", "duration": 4, "resolution": "1080p", "off_peak": True}, 80),
        ({"model": "viduq1"}, 80),
        ({"model": "vidu2.0", "duration": 8}, 160),
        ({"model": "viduq2-pro-fast", "duration": 3}, 30),
        # Today's figures are not scaled.
        ({"model": "viduq3-pro", "duration": 5, "resolution": "1080p"}, 160),
        ({"model": "viduq3-turbo", "duration": 2, "resolution": "540p", "is_rec": True}, 24),
    ],
)
def test_figures(settings, credits):
    assert estimate(settings).credits == credits


def test_the_listed_figure_and_the_estimate_rate():
    q2 = get_model("viduq2-turbo")
    assert (q2.rate("720p"), q2.estimate_rate("720p"), q2.rate_scale) == (1, 10, 10)
    q3 = get_model("viduq3-pro")
    assert q3.rate("1080p") == q3.estimate_rate("1080p") == 32
    with pytest.raises(ValueError, match="rate_basis"):
        ModelSpec("x", "x", (5,), 5, ("720p",), "720p", rate_basis="guessed")  # type: ignore[arg-type]


def test_learned_charges_win_over_an_unverified_rate(log, png_bytes):
    settings = {"model": "viduq2-turbo", "duration": 2, "resolution": "720p"}
    assert estimate(settings, log).source == "unverified rate"
    req = Img2VideoRequest(image=png_bytes, **settings)
    for task_id, credits in (("a", 20), ("b", 22)):
        log.record_submission(req, Task(id=task_id, credits=credits))
        log.update(Task(id=task_id, state="success", credits=credits))
    e = estimate(req, log)
    assert (e.credits, e.source) == (21, "learned from 2 tasks") and e.learned
    assert "the unverified rate gives 20" in e.detail


def test_an_allowed_unknown_model_is_priced_high_and_labelled(png_bytes):
    with pytest.warns(UnknownModelWarning):
        req = Img2VideoRequest(
            image=png_bytes, model="viduq3-mix", allow_unknown_model=True, resolution="1080p"
        )
    e = estimate(req)
    assert e.source == "placeholder rate" and "not in the model table" in e.detail
    dearest = max(s.estimate_rate("1080p") for s in MODELS.values() if "1080p" in s.rates)
    assert e.credits == math.ceil(dearest * 5)
    assert settings_key(req) == ("viduq3-mix", "1080p", 5, False, False)
    mapping = {"model": "viduq3-mix", "allow_unknown_model": True, "resolution": "1080p"}
    assert estimate(mapping).credits == e.credits
    with pytest.raises(ValidationError) as exc:
        estimate({"model": "viduq3-mix"})
    assert exc.value.field == "model"
    with pytest.raises(ValidationError):
        rate_estimate(("viduq3-mix", "1080p", 5, False, False))  # the table has no such row
