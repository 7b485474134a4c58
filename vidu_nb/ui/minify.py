"""Comment and whitespace stripping for the form's stylesheet and the players' code.

The stylesheet travels in an ``HTML`` widget's state, saved with the notebook once per form;
the players' code and stylesheet once per notebook (``player.PlayerCode``). Both are stripped
once at import: the files keep their comments, saved notebooks do not pay for them.
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


def compact_js(src: str) -> str:
    """JavaScript without indentation, blank lines and whole-line ``//`` comments; statements
    stay on their lines, so no semicolon is ever needed. A line with an odd number of
    backquotes (a template literal across lines, whose spacing is its text) is refused."""
    lines = src.splitlines()
    if any(line.count("`") % 2 for line in lines):
        raise ValueError("compact_js supports template literals on one line only")
    kept = (line.strip() for line in lines)
    return "\n".join(line for line in kept if line and not line.startswith("//"))
