"""How the UI looks: no glyph that needs an emoji font (the layout in a real Chromium is
checked in ``tests/browser/test_ui_look.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import vidu_nb.ui

UI = Path(vidu_nb.ui.__file__).parent
#: Pictographs and symbols that render as empty boxes without an emoji font (headless
#: Chromium, many Linux desktops): arrows, technical, geometric shapes, misc symbols, dingbats,
#: the supplementary planes, and the emoji variation selector.
EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff]"
    "|[\ud800-\udfff]"
)
_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}|\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")


def decoded(text: str) -> str:
    """The text with ``\\uXXXX``, ``\\u{X}`` and ``\\UXXXXXXXX`` escapes turned into characters."""
    return _ESCAPE.sub(lambda m: chr(int(next(g for g in m.groups() if g), 16)), text)


def test_decoded_finds_escaped_emoji():
    assert EMOJI.search(decoded('"\\u25B6 Play"')) and EMOJI.search(decoded('"\\uD83D\\uDD07"'))
    assert not EMOJI.search(decoded('"a \\u00b7 b \\u2014 c \\u2026 \\u2248"'))


@pytest.mark.parametrize(
    "path", sorted(p.name for p in UI.iterdir() if p.suffix in (".py", ".js", ".css"))
)
def test_no_emoji_glyphs_in_the_ui(path):
    text = decoded((UI / path).read_text(encoding="utf-8"))
    found = {f"U+{ord(c):04X}" for c in EMOJI.findall(text)}
    assert not found, f"{path} uses {sorted(found)}: draw icons in CSS or use words"
