"""Word-level differences between prompt titles: joined, the segments give each title back;
the words some other title lacks are marked, the shared ones not."""

from __future__ import annotations

from vidu_nb.ui.prompt_diff import ALL_PAIRS, diff_segments, partly_shared


def joined(segments) -> list[str]:
    return ["".join(text for text, _d in title) for title in segments]


def marked(segments) -> list[list[str]]:
    return [[text.strip() for text, differs in title if differs] for title in segments]


def test_the_words_that_differ_are_marked_and_the_titles_kept():
    titles = ["a red fox runs  at dawn", "a grey fox runs at dawn", "a grey fox sleeps at dawn"]
    segments = diff_segments(titles)
    assert joined(segments) == titles  # spaces as they were, two included
    assert marked(segments) == [["red", "runs"], ["grey", "runs"], ["grey", "sleeps"]]
    assert partly_shared(segments)


def test_an_added_or_removed_word_is_marked_on_the_side_that_has_it():
    segments = diff_segments(["a fox runs", "a fox runs fast", "a runs"])
    assert marked(segments) == [["fox"], ["fox", "fast"], []]


def test_nothing_to_show_when_titles_are_equal_or_share_nothing():
    same = diff_segments(["a fox", "a fox"])
    assert same == [[("a fox", False)], [("a fox", False)]] and diff_segments([""]) == [[]]
    assert not partly_shared(same)
    apart = diff_segments(["cat", "dog"])
    assert marked(apart) == [["cat"], ["dog"]] and not partly_shared(apart)


def test_many_titles_are_compared_with_their_neighbours():
    titles = [f"a fox number {i} runs" for i in range(ALL_PAIRS + 6)]
    segments = diff_segments(titles)
    assert joined(segments) == titles
    assert all(m == [str(i)] for i, m in enumerate(marked(segments)))
