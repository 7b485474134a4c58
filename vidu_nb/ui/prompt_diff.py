"""What differs between prompts, word by word: titles that show the change, not the sentence.

A grid of prompts that differ in a word or two ("a red fox runs" / "a grey fox runs") is hard to
read when every header repeats the whole sentence. ``diff_segments`` aligns the titles' words
(difflib) and marks, in each title, the words that are not matched in every other title; the
front ends draw the marked words strong and the common part faded. Segments are plain text
(``[text, differs]``): every renderer sets them with ``textContent`` or escapes them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

#: Beyond this many titles each is compared with its neighbours only (the pairwise alignment
#: grows with the square of the count).
ALL_PAIRS = 24
_TOKENS = re.compile(r"\S+|\s+")

Segment = tuple[str, bool]


def diff_segments(titles: Sequence[str]) -> list[list[Segment]]:
    """Each title as segments ``(text, differs)``, joined they give the title back.

    A word differs when some other title has no matching word at its place (a word added,
    removed or replaced); fewer than two distinct titles have no differences to show.
    """
    words = [[t for t in _TOKENS.findall(title) if not t.isspace()] for title in titles]
    if len({tuple(w) for w in words}) < 2:
        return [[(title, False)] if title else [] for title in titles]
    common = [[True] * len(w) for w in words]
    for i, mine in enumerate(words):
        for j in _others(i, len(words)):
            if words[j] == mine:
                continue
            matched = [False] * len(mine)
            matcher = difflib.SequenceMatcher(None, mine, words[j], autojunk=False)
            for block in matcher.get_matching_blocks():
                for k in range(block.a, block.a + block.size):
                    matched[k] = True
            common[i] = [c and m for c, m in zip(common[i], matched, strict=True)]
    return [_segments(title, flags) for title, flags in zip(titles, common, strict=True)]


def _others(i: int, n: int) -> list[int]:
    if n <= ALL_PAIRS:
        return [j for j in range(n) if j != i]
    return [j for j in (i - 1, i + 1) if 0 <= j < n]


def _segments(title: str, common: list[bool]) -> list[Segment]:
    """The title's tokens merged into runs; a space between two runs joins the one before."""
    out: list[Segment] = []
    word = 0
    for token in _TOKENS.findall(title):
        if token.isspace():
            differs = out[-1][1] if out else False
        else:
            differs = not common[word]
            word += 1
        if out and out[-1][1] == differs:
            out[-1] = (out[-1][0] + token, differs)
        else:
            out.append((token, differs))
    return out


def partly_shared(segments: Sequence[Sequence[Segment]]) -> bool:
    """Some title has words that differ and words shared with the others: worth showing (when
    every word differs, or none does, the plain titles say as much)."""
    return any(len({differs for _text, differs in title}) == 2 for title in segments)
