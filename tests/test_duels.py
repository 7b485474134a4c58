"""Which pairs a blind duel shows: same start image, different in what is judged, each pair
once, in a random but repeatable order with random sides."""

from __future__ import annotations

import pandas as pd
import pytest

from vidu_nb import duel_pairs
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.duels import Pair

pytestmark = pytest.mark.stores


def rows() -> pd.DataFrame:
    """Image A: prompts cat, cat, dog, dog (seeds 1, 2, 1, 2) and a failed dog; image B: cat,
    dog; a row without an image."""
    data = [
        (1, "A", "cat", 1, "success"),
        (2, "A", "cat", 2, "success"),
        (3, "A", "dog", 1, "success"),
        (4, "A", "dog", 2, "success"),
        (5, "A", "dog", 3, "failed"),
        (6, "B", "cat", 1, "success"),
        (7, "B", "dog", 1, "success"),
        (8, None, "fox", 1, "success"),
    ]
    df = pd.DataFrame(data, columns=["row_id", "image_sha256", "prompt", "seed", "state"])
    return df.set_index("row_id", drop=False)


def unordered(pairs: list[Pair]) -> set[frozenset[int]]:
    return {frozenset(p) for p in pairs}


def test_pairs_share_the_image_and_differ_in_what_is_judged():
    pairs = duel_pairs(rows(), by="prompt", seed=1)
    assert unordered(pairs) == {
        frozenset(p) for p in [(1, 3), (1, 4), (2, 3), (2, 4), (6, 7)]
    }  # never across images, never cat-cat, never the failed task or the one without an image
    assert len(pairs) == len(unordered(pairs))  # no pair twice
    by_both = duel_pairs(rows(), by=["prompt", "seed"], seed=1)
    assert len(by_both) == 6 + 1  # every pair of A's 4 succeeded tasks differs in one of them


def test_the_same_seed_gives_the_same_pairs_and_sides_vary():
    df = rows()
    assert duel_pairs(df, by="prompt", seed=7) == duel_pairs(df.iloc[::-1], by="prompt", seed=7)
    orders = {tuple(duel_pairs(df, by="prompt", seed=s)) for s in range(30)}
    assert len(orders) > 10  # shuffled
    lefts = [p.left for s in range(30) for p in duel_pairs(df, by="prompt", seed=s)]
    assert 0.3 < sum(left in (1, 2, 6) for left in lefts) / len(lefts) < 0.7  # cat left ~half


def test_pairs_already_voted_on_are_skipped_and_limit_keeps_the_first(log, png_bytes):
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=2)
    for i, prompt in enumerate(["cat", "dog", "fox"]):
        log.record_submission(request.replace(prompt=prompt), Task(id=f"t{i}"))
        log.update(Task(id=f"t{i}", state="success"))
    df = log.df
    assert len(duel_pairs(df, by="prompt")) == 3  # one image (same sha256), three prompts
    log.vote("t1", "t0", winner="t1")
    left = duel_pairs(df, by="prompt", skip=log.votes())
    assert unordered(left) == {frozenset({1, 3}), frozenset({2, 3})}
    assert unordered(duel_pairs(df, by="prompt", skip=[(3, 1)])) == {
        frozenset({1, 2}),
        frozenset({2, 3}),
    }
    assert len(duel_pairs(df, by="prompt", seed=3, limit=2)) == 2
    assert duel_pairs(df, by="prompt", seed=3, limit=2) == duel_pairs(df, by="prompt", seed=3)[:2]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"by": "promt"}, "by"),
        ({"by": []}, "by"),
        ({"by": 3}, "by"),
        ({"by": "prompt", "seed": "x"}, "seed"),
        ({"by": "prompt", "limit": 0}, "limit"),
        ({"by": "prompt", "skip": [1, 2]}, "skip"),
        ({"by": "prompt", "skip": pd.DataFrame({"a": [1]})}, "skip"),
    ],
)
def test_bad_arguments_are_named(kwargs, field):
    with pytest.raises(ValidationError) as err:
        duel_pairs(rows(), **kwargs)
    assert err.value.field == field


def test_rows_without_image_fingerprints_are_refused():
    with pytest.raises(ValidationError) as err:
        duel_pairs(rows().drop(columns="image_sha256"), by="prompt")
    assert err.value.field == "df" and "image_sha256" in str(err.value)
    with pytest.raises(ValidationError) as err:
        duel_pairs([1, 2], by="prompt")
    assert err.value.field == "df"
