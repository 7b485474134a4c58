"""Bradley-Terry rankings from blind duels: how much better one group of videos is than another.

Model: group ``i`` beats group ``j`` with probability ``sigma(s_i - s_j)`` (``sigma`` the
logistic function): the Bradley-Terry model with scores ``s`` on a log scale (the strength is
``exp(s)``; a score 1 higher wins about 73 % of duels). A tie counts as half a win for each side
(the likelihood term ``p**0.5 * (1 - p)**0.5``): a tie says "about equal" without the extra
parameter of the Davidson extension, which sparse duels could not pin down.

Prior: each group plays ``prior`` virtual tied duels against a reference of score 0. Without it a
group that won every duel has an infinite score and the fit never ends; with it (default 1, as
weak as a single duel) every fit has a finite answer and converges, and with many votes the
data dominate. ``prior=0`` gives the plain maximum-likelihood fit, which exists only when the
duels connect every group to every other both ways (Ford's condition; checked, and refused
with a ``ValidationError`` naming ``prior`` otherwise).

Fit: Newton's method on the log-posterior, which is concave, with step halving, so every step
improves it; a few iterations suffice.

Errors: the covariance of the scores is the inverse of the Fisher information (the Hessian of
the negative log-posterior; for this model the observed and the expected information are the
same). Scores are reported centred (mean 0 over the groups ranked) since only differences are
identified: the covariance is projected accordingly (``C I^-1 C`` with ``C = I - 11'/k``, the
Moore-Penrose inverse when ``prior=0``). ``se`` is the square root of its diagonal and the 95 %
interval ``score +- 1.96 se`` (Wald).

Everything here is pure (numpy and pandas, no I/O): ``TaskLog.rankings`` gives it the votes and
the grouping columns of the tasks voted on.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ValidationError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: The two-sided 95 % quantile of the normal distribution.
Z95 = 1.959963984540054
#: What ``rank`` describes in the ``attrs`` of its frame.
MODEL = "bradley-terry, ties as half wins"
RANKING_COLUMNS = ("score", "se", "ci_low", "ci_high", "strength", "wins", "losses", "ties", "n")


@dataclass(frozen=True)
class Fit:
    """Centred log-scale scores, their covariance and standard errors, and the iterations."""

    scores: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    iterations: int


def check_prior(prior: Any) -> float:
    if isinstance(prior, bool) or not isinstance(prior, (int, float)):
        raise ValidationError("prior", prior, "must be a number of virtual tied duels >= 0")
    if not math.isfinite(prior) or prior < 0:
        raise ValidationError("prior", prior, "must be a number of virtual tied duels >= 0")
    return float(prior)


def fit(wins: np.ndarray, *, prior: float = 1.0, tol: float = 1e-10, max_iter: int = 200) -> Fit:
    """Fit the scores of ``k`` groups from ``wins[i, j]``: the duels ``i`` won against ``j``
    (a tie adds 0.5 to both cells)."""
    import numpy as np

    prior = check_prior(prior)
    w = np.asarray(wins, dtype=float)
    k = w.shape[0]
    if w.shape != (k, k) or (w < 0).any() or not np.isfinite(w).all():
        raise ValidationError("wins", w.shape, "must be a square matrix of counts >= 0")
    w = w.copy()
    np.fill_diagonal(w, 0.0)
    if prior == 0 and not connected_both_ways(w):
        raise ValidationError(
            "prior",
            prior,
            "the maximum-likelihood fit does not exist: some groups never lost (or never won) "
            "against the others; use prior > 0",
        )
    n = w + w.T
    center = np.full((k, k), 1.0 / k)  # keeps the mean fixed where the objective is flat
    theta = np.zeros(k)
    current = _objective(theta, w, prior)
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        grad, info = _derivatives(theta, w, n, prior)
        step = np.linalg.solve(info + center if prior == 0 else info, grad)
        size = 1.0
        while True:  # step halving: the log-posterior never decreases
            trial = theta + size * step
            value = _objective(trial, w, prior)
            if value >= current - 1e-12 or size < 1e-9:
                break
            size /= 2
        if value < current - 1e-12:  # no step improves it: as close as arithmetic allows
            break
        theta, current = trial, value
        if float(np.max(np.abs(size * step), initial=0.0)) < tol:
            break
    _grad, info = _derivatives(theta, w, n, prior)
    if prior == 0:
        cov = np.linalg.inv(info + center) - center  # the Moore-Penrose inverse
    else:
        c = np.eye(k) - center
        cov = c @ np.linalg.inv(info) @ c
    cov = (cov + cov.T) / 2
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return Fit(theta - theta.mean(), cov, se, iterations)


def _objective(theta: np.ndarray, w: np.ndarray, prior: float) -> float:
    """The log-posterior (up to a constant)."""
    import numpy as np

    diff = theta[:, None] - theta[None, :]
    value = -float(np.sum(w * np.logaddexp(0.0, -diff)))
    if prior:
        value -= prior * 0.5 * float(np.sum(np.logaddexp(0.0, -theta) + np.logaddexp(0.0, theta)))
    return value


def _derivatives(
    theta: np.ndarray, w: np.ndarray, n: np.ndarray, prior: float
) -> tuple[np.ndarray, np.ndarray]:
    """The gradient of the log-posterior and the Fisher information (its negative Hessian)."""
    import numpy as np

    p = _sigmoid(theta[:, None] - theta[None, :])  # p[i, j]: i beats j
    grad = np.sum(w - n * p, axis=1)
    weight = n * p * (1.0 - p)
    info = -weight
    np.fill_diagonal(info, weight.sum(axis=1) - np.diag(weight))
    if prior:
        q = _sigmoid(theta)
        grad += prior * (0.5 - q)
        info[np.diag_indices_from(info)] += prior * q * (1.0 - q)
    return grad, info


def _sigmoid(x: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.exp(-np.logaddexp(0.0, -x))


def connected_both_ways(w: np.ndarray) -> bool:
    """Ford's condition: following "won at least once against", every group reaches every
    other (the graph of wins is strongly connected)."""
    import numpy as np

    beat = np.asarray(w) > 0
    k = beat.shape[0]

    def reach(graph: np.ndarray) -> int:
        seen = np.zeros(k, dtype=bool)
        seen[0] = True
        frontier = seen.copy()
        while frontier.any():
            frontier = graph[frontier].any(axis=0) & ~seen
            seen |= frontier
        return int(seen.sum())

    return k <= 1 or (reach(beat) == k and reach(beat.T) == k)


def rank(
    votes: pd.DataFrame,
    groups: pd.DataFrame,
    by: Sequence[str],
    *,
    prior: float = 1.0,
) -> pd.DataFrame:
    """The ranking of the groups of tasks by ``by`` from ``votes``.

    ``votes`` has ``left_row_id``, ``right_row_id`` and ``winner_row_id`` (missing for a tie);
    ``groups`` is indexed by row id and has the ``by`` columns of every task voted on. A vote
    between two tasks of the same group says nothing about groups: it is left out (counted in
    ``attrs["same_group"]``). Returns one row per group that took part in a duel: the ``by``
    columns, ``score`` (centred log-strength), ``se``, ``ci_low``, ``ci_high`` (95 %),
    ``strength`` (``exp(score)``), ``wins``, ``losses``, ``ties`` and ``n`` (duels), best
    first.
    """
    import numpy as np
    import pandas as pd

    prior = check_prior(prior)
    rows = groups[list(by)].itertuples(index=False, name=None)
    key_of = {int(i): _key(row) for i, row in zip(groups.index, rows, strict=True)}
    index: dict[tuple[Hashable, ...], int] = {}
    duels: list[tuple[int, int, float]] = []  # (left group, right group, left's share)
    same = 0
    for left, right, winner in zip(
        votes["left_row_id"], votes["right_row_id"], votes["winner_row_id"], strict=True
    ):
        a, b = key_of.get(int(left)), key_of.get(int(right))
        if a is None or b is None:
            continue
        if a == b:
            same += 1
            continue
        share = 0.5 if pd.isna(winner) else float(int(winner) == int(left))
        duels.append((index.setdefault(a, len(index)), index.setdefault(b, len(index)), share))
    k = len(index)
    w = np.zeros((k, k))
    tally = np.zeros((k, 3), dtype=np.int64)  # wins, losses, ties
    for i, j, share in duels:
        w[i, j] += share
        w[j, i] += 1.0 - share
        if share == 0.5:
            tally[i, 2] += 1
            tally[j, 2] += 1
        else:
            winner_, loser = (i, j) if share == 1.0 else (j, i)
            tally[winner_, 0] += 1
            tally[loser, 1] += 1
    keys = list(index)
    out = pd.DataFrame({col: [key[c] for key in keys] for c, col in enumerate(by)})
    if k:
        result = fit(w, prior=prior)
        scores, se = result.scores, result.se
    else:
        scores = se = np.zeros(0)
    out["score"] = scores
    out["se"] = se
    out["ci_low"] = scores - Z95 * se
    out["ci_high"] = scores + Z95 * se
    out["strength"] = np.exp(scores)
    out["wins"], out["losses"], out["ties"] = tally[:, 0], tally[:, 1], tally[:, 2]
    out["n"] = tally.sum(axis=1)
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    out.attrs.update(model=MODEL, prior=prior, same_group=same, duels=len(duels))
    return out


def _key(values: tuple[Any, ...]) -> tuple[Hashable, ...]:
    """A group's key: missing values (NaN, NA, None) are one value, ``None``."""
    import pandas as pd

    out: list[Hashable] = []
    for v in values:
        if v is None or (not isinstance(v, (str, bytes)) and bool(pd.isna(v))):
            out.append(None)
        else:
            out.append(v.item() if hasattr(v, "item") else v)
    return tuple(out)
