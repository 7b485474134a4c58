"""Comment and whitespace stripping for code that travels in widget state.

The form's stylesheet (``style.CSS``) is in an ``HTML`` widget's state, saved with the notebook
once per form. The players' code and stylesheet (``player.PlayerCode``) are saved once per
notebook, but every notebook with a player pays for them: their comments and indentation, which
keep the source files readable, are left out of what is saved. Both are stripped once at import.
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


_JS_COMMENT_LINE = re.compile(r"^\s*//.*$")
_QUOTES = ('"', "'", "`")


def minify_js(src: str) -> str:
    """The module without ``//`` comments, indentation and blank lines.

    A line's end is dropped from `` // `` on only when no quote is open before it (so a string
    holding ``//`` is kept), and only leading spaces go, so nothing a statement means changes;
    that holds while no string, template literal or regular expression holds `` // `` after an
    open quote or spans lines (a template literal across lines is refused).
    """
    kept = []
    for number, line in enumerate(src.splitlines(), 1):
        if line.count("`") % 2:
            raise ValueError(f"line {number}: a template literal spanning lines is not supported")
        if _JS_COMMENT_LINE.match(line):
            continue
        cut = line.find(" // ")
        while cut > 0 and any(line[:cut].count(q) % 2 for q in _QUOTES):
            cut = line.find(" // ", cut + 1)
        if cut > 0:
            line = line[:cut]
        if line.strip():
            kept.append(line.strip())
    return "\n".join(kept) + "\n"
