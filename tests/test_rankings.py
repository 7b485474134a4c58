"""The Bradley-Terry fit behind ``log.rankings``, checked against answers worked out without it:
closed forms (a tree of duels decouples into one log-odds per edge; the Fisher information of
two groups is ``n p (1 - p)``) and a brute-force grid over the likelihood written here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vidu_nb.errors import ValidationError
from vidu_nb.tracking.rankings import Z95, fit, rank

pytestmark = pytest.mark.stores


def wins(k: int, duels: list[tuple[int, int | None, int]]) -> np.ndarray:
    """``wins[i, j]`` from ``(i, winner or None for a tie, j)``."""
    w = np.zeros((k, k))
    for a, winner, b in duels:
        if winner is None:
            w[a, b] += 0.5
            w[b, a] += 0.5
        elif winner == a:
            w[a, b] += 1
        else:
            w[b, a] += 1
    return w


def test_a_chain_of_duels_has_the_closed_form_log_odds():
    """a-b and b-c only (no a-c duel): the likelihood splits into one factor per duelled pair,
    so the maximum is where each difference is the log of that pair's win ratio; a tie counts
    half for each side (a: 1 win + 1 tie vs b: 1 tie -> 1.5 : 0.5 -> log 3)."""
    w = wins(3, [(0, 0, 1), (0, None, 1), (1, 1, 2), (1, 1, 2), (1, 2, 2)])
    result = fit(w, prior=0)
    s = result.scores
    assert s[0] - s[1] == pytest.approx(math.log(3), abs=1e-9)
    assert s[1] - s[2] == pytest.approx(math.log(2), abs=1e-9)
    assert s.sum() == pytest.approx(0, abs=1e-12)  # reported centred


def test_two_groups_standard_error_is_the_inverse_fisher_information():
    """3 wins to 1: d = log 3; Var(d) = 1 / (n p (1 - p)) with p = 3/4, n = 4; centred scores
    are +-d/2, so each has half that standard deviation."""
    result = fit(wins(2, [(0, 0, 1)] * 3 + [(0, 1, 1)]), prior=0)
    d = result.scores[0] - result.scores[1]
    assert d == pytest.approx(math.log(3), abs=1e-9)
    var_d = 1 / (4 * 0.75 * 0.25)
    assert result.se == pytest.approx([0.5 * math.sqrt(var_d)] * 2, rel=1e-9)
    assert result.cov[0, 1] == pytest.approx(-var_d / 4, rel=1e-9)


def grid_maximum(w: np.ndarray, prior: float, span: float = 4.0) -> np.ndarray:
    """The maximum of the log-posterior of three groups by brute force: every point of a grid
    (the third score fixed at 0 when ``prior`` is 0, since then only differences count),
    refined three times around the best point."""
    center = np.zeros(3)
    step = span / 40

    def loglik(t: np.ndarray) -> np.ndarray:  # t: (..., 3)
        total = np.zeros(t.shape[:-1])
        for i in range(3):
            for j in range(3):
                if w[i, j]:
                    total += w[i, j] * np.log(1 / (1 + np.exp(-(t[..., i] - t[..., j]))))
        for i in range(3):  # prior/2 virtual wins and losses against a score of 0
            p = 1 / (1 + np.exp(-t[..., i]))
            total += prior * 0.5 * (np.log(p) + np.log(1 - p))
        return total

    for _ in range(4):
        axis = np.arange(-40, 41) * step
        free = 2 if prior == 0 else 3
        mesh = np.stack(np.meshgrid(*[axis] * free, indexing="ij"), axis=-1)
        if prior == 0:
            mesh = np.concatenate([mesh, np.zeros((*mesh.shape[:-1], 1))], axis=-1)
        points = mesh + center
        best = np.unravel_index(np.argmax(loglik(points)), points.shape[:-1])
        center = points[best]
        step /= 20
    return center - center.mean()


CYCLE = [(0, 0, 1)] * 3 + [(0, 1, 1)] + [(1, 1, 2)] * 2 + [(1, 2, 2)] + [(2, 2, 0)]
CYCLE += [(2, 0, 0)] * 2 + [(0, None, 2)]


@pytest.mark.parametrize("prior", [0.0, 1.0, 3.0])
def test_scores_match_a_brute_force_maximum_of_the_likelihood(prior):
    w = wins(3, CYCLE)
    expected = grid_maximum(w, prior)
    assert fit(w, prior=prior).scores == pytest.approx(expected, abs=2e-4)


def test_a_group_that_never_lost_has_a_finite_score_with_the_prior_only():
    w = wins(3, [(0, 0, 1)] * 4 + [(1, 1, 2), (1, 2, 2)])
    with pytest.raises(ValidationError) as err:
        fit(w, prior=0)
    assert err.value.field == "prior" and "prior > 0" in str(err.value)
    result = fit(w, prior=1)
    assert np.isfinite(result.scores).all() and np.isfinite(result.se).all()
    assert result.scores[0] == result.scores.max() > 1  # first, by a finite margin
    assert result.scores == pytest.approx(grid_maximum(w, 1.0), abs=2e-4)
    assert result.iterations < 50


def test_more_votes_shrink_the_standard_errors():
    few = fit(wins(3, CYCLE), prior=1)
    many = fit(wins(3, CYCLE * 10), prior=1)
    assert (many.se < few.se / 2).all()


@pytest.mark.parametrize("prior", [-1, float("nan"), "1", True, None])
def test_a_bad_prior_is_named(prior):
    with pytest.raises(ValidationError) as err:
        fit(np.zeros((2, 2)), prior=prior)
    assert err.value.field == "prior"


def test_rank_groups_tasks_and_counts_wins_losses_ties():
    groups = pd.DataFrame(
        {"prompt": ["cat", "cat", "dog", "dog", "fox"], "seed": [1, 2, 1, 2, 1]},
        index=[1, 2, 3, 4, 5],
    )
    votes = pd.DataFrame(
        {
            "left_row_id": [1, 3, 2, 5, 1, 4],
            "right_row_id": [3, 2, 5, 1, 2, 5],
            "winner_row_id": pd.array([1, 2, None, 1, 1, 4], dtype="Int64"),
        }
    )
    out = rank(votes, groups, ["prompt"], prior=1.0)
    assert list(out.columns) == [
        "prompt", "score", "se", "ci_low", "ci_high", "strength", "wins", "losses", "ties", "n",
    ]  # fmt: skip
    # cat beat dog twice, tied fox once, beat fox once; dog beat fox once; 1 vs 2 is cat-cat.
    table = out.set_index("prompt")[["wins", "losses", "ties", "n"]].to_dict("index")
    assert table == {
        "cat": {"wins": 3, "losses": 0, "ties": 1, "n": 4},
        "dog": {"wins": 1, "losses": 2, "ties": 0, "n": 3},
        "fox": {"wins": 0, "losses": 2, "ties": 1, "n": 3},
    }
    assert list(out["prompt"]) == ["cat", "dog", "fox"]  # best first
    assert out.attrs["same_group"] == 1 and out.attrs["duels"] == 5
    assert out.attrs["model"].startswith("bradley-terry")
    w = np.zeros((3, 3))  # cat, dog, fox
    w[0, 1], w[0, 2], w[2, 0], w[1, 2] = 2, 1.5, 0.5, 1
    expected = fit(w, prior=1.0)
    by_name = out.set_index("prompt")
    assert list(by_name.loc[["cat", "dog", "fox"], "score"]) == pytest.approx(expected.scores)
    assert (by_name["ci_high"] - by_name["score"]).to_numpy() == pytest.approx(
        Z95 * by_name["se"].to_numpy()
    )
    assert by_name["strength"].to_numpy() == pytest.approx(np.exp(by_name["score"].to_numpy()))
    both = rank(votes, groups, ["prompt", "seed"], prior=1.0)
    assert len(both) == 5 and both.attrs["same_group"] == 0  # every task its own group


def test_rank_without_votes_is_an_empty_table():
    votes = pd.DataFrame({"left_row_id": [], "right_row_id": [], "winner_row_id": []})
    out = rank(votes, pd.DataFrame({"prompt": []}), ["prompt"])
    assert len(out) == 0 and "score" in out.columns
