"""Comment and whitespace stripping for the form's stylesheet (``style.CSS``).

The stylesheet travels in an ``HTML`` widget's state, saved with the notebook once per form, so
it is stripped once at import. The players' code needs none of this: it is saved once per
notebook (see ``player.PlayerCode``).
"""

from __future__ import annotations

import re

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_SPACE = re.compile(r"\s+")
_CSS_PUNCT = re.compile(r"\s*([{};,>])\s*")
_CSS_COLON = re.compile(r":\s+")


def minify_css(src: str) -> str:
    """CSS without comments and spaces around punctuation (strings must not need them)."""
    if "'" in src or src.count('"') % 2:
        raise ValueError("minify_css supports double-quoted strings without quotes inside")
    pieces = re.split(r'("[^"\n]*")', _CSS_COMMENT.sub("", src))
    for k in range(0, len(pieces), 2):  # outside strings
        text = _CSS_SPACE.sub(" ", pieces[k])
        text = _CSS_PUNCT.sub(r"\1", text)
        pieces[k] = _CSS_COLON.sub(":", text)
    return "".join(pieces).replace(";}", "}").strip()
