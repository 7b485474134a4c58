"""The comment/whitespace stripper for the form's stylesheet keeps the rules intact."""

from __future__ import annotations

import pytest

from vidu_nb.ui.minify import minify_css


def test_css():
    src = '/* c */\n.a .b::after {\n  content: "x  y";\n  font: 12px/1.4 var(--f, sans-serif);\n}\n'
    assert minify_css(src) == '.a .b::after{content:"x  y";font:12px/1.4 var(--f,sans-serif)}'


def test_css_with_quotes_it_cannot_keep_is_refused():
    with pytest.raises(ValueError, match="double-quoted"):
        minify_css(".a::after { content: 'x'; }")
