"""Whitespace and comment stripping for the player's JS and CSS, done once at import.

Every widget instance carries its front-end code in its state, so it is saved in the notebook
once per player. A full minifier would be a new dependency; this tokenizer removes only what
cannot change meaning: comments, indentation, and spaces between tokens that cannot merge.
A line break survives wherever automatic semicolon insertion could depend on it. String and
template literals are copied verbatim. Regular-expression literals are not supported (the
player has none; ``tokens`` raises on a ``/`` that could start one, so nothing is mangled).
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9_$\u0080-\uffff.]+")
_PUNCT: tuple[str, ...] = (">>>=", "...", "===", "!==", "**=", ">>>", "<<=", ">>=", "&&=")
_PUNCT += ("||=", "??=", "=>", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "++", "--", "+=")
_PUNCT += ("-=", "*=", "/=", "%=", "&=", "|=", "^=", "**", "<<", ">>")
#: After these a line break never ends a statement, so it can go.
_OPEN = {"{", "(", "[", ";", ",", "=>", "&&", "||", "??", "?", ":", "=", "+", "*", "<", ">"}
#: Before these a line break never matters either (ASI would insert ``;`` anyway, or not).
_CLOSE = {"}", ")", "]", ".", ";", ",", "?.", ":", "&&", "||", "?", "=>"}
#: After these a ``/`` is division; anywhere else it could start a regular expression.
_VALUE_END = {")", "]", "}"}


def tokens(src: str) -> list[tuple[str, bool]]:
    """JS tokens and whether a line break preceded each; comments and spaces dropped."""
    out: list[tuple[str, bool]] = []
    i, n, newline = 0, len(src), False
    while i < n:
        c = src[i]
        if c in " \t\r\n":
            newline |= c == "\n"
            i += 1
        elif src.startswith("//", i):
            i = src.find("\n", i) if "\n" in src[i:] else n
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise ValueError("unterminated comment")
            newline |= "\n" in src[i:end]
            i = end + 2
        else:
            if c in "'\"":
                j = _string_end(src, i, c)
            elif c == "`":
                j = _template_end(src, i)
            elif m := _WORD.match(src, i):
                j = m.end()
            else:
                j = i + next((len(p) for p in _PUNCT if src.startswith(p, i)), 1)
                if c == "/" and not _division(out):
                    raise ValueError(f"a regular expression literal at {i} is not supported")
            out.append((src[i:j], newline))
            newline = False
            i = j
    return out


def _division(out: list[tuple[str, bool]]) -> bool:
    if not out:
        return False
    prev = out[-1][0]
    return prev in _VALUE_END or bool(_WORD.fullmatch(prev)) or prev[0] in "'\"`"


def _string_end(src: str, i: int, quote: str) -> int:
    j = i + 1
    while j < len(src):
        if src[j] == "\\":
            j += 2
            continue
        if src[j] == quote:
            return j + 1
        if src[j] == "\n":
            break
        j += 1
    raise ValueError(f"unterminated string at {i}")


def _template_end(src: str, i: int) -> int:
    """End of a template literal; ``${...}`` parts are skipped by brace depth, strings aware."""
    j, depth = i + 1, 0
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if depth == 0 and c == "`":
            return j + 1
        if depth == 0 and src.startswith("${", j):
            depth, j = 1, j + 2
            continue
        if depth:
            if c in "'\"":
                j = _string_end(src, j, c)
                continue
            if c == "`":
                j = _template_end(src, j)
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
        j += 1
    raise ValueError(f"unterminated template literal at {i}")


def minify_js(src: str) -> str:
    """The same program with comments and needless whitespace removed."""
    parts: list[str] = []
    prev = ""
    for tok, newline in tokens(src):
        if prev:
            if newline and prev not in _OPEN and tok not in _CLOSE:
                parts.append("\n")
            elif _merges(prev, tok):
                parts.append(" ")
        parts.append(tok)
        prev = tok
    return "".join(parts)


def _merges(a: str, b: str) -> bool:
    """Would ``a`` and ``b`` written together read as different tokens?"""
    if _WORD.fullmatch(a[-1]) and _WORD.fullmatch(b[0]):
        return True
    pair = a[-1] + b[0]
    return pair in ("++", "--", "+-", "-+", "//", "/*", "*/", "<!", "->", "=>")


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
