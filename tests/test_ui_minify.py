"""The comment/whitespace strippers for the stylesheets and the players' code keep them intact."""

from __future__ import annotations

import pytest

from vidu_nb.ui.minify import compact_js, minify_css


def test_css():
    src = '/* c */\n.a .b::after {\n  content: "x  y";\n  font: 12px/1.4 var(--f, sans-serif);\n}\n'
    assert minify_css(src) == '.a .b::after{content:"x  y";font:12px/1.4 var(--f,sans-serif)}'


def test_css_with_quotes_it_cannot_keep_is_refused():
    with pytest.raises(ValueError, match="double-quoted"):
        minify_css(".a::after { content: 'x'; }")


def test_js_keeps_statements_on_their_lines():
    src = '// a comment\nfunction f(a) {\n  // inside\n  const u = "http://x//y";\n\n  return `${a} //`;\n}\n'
    assert compact_js(src) == 'function f(a) {\nconst u = "http://x//y";\nreturn `${a} //`;\n}'
    with pytest.raises(ValueError, match="template literals"):
        compact_js("const t = `a\n  b`;")


def test_the_players_code_is_stored_compact():
    from vidu_nb.ui.player import PlayerCode

    assert "\n  " not in PlayerCode._esm and "\n//" not in PlayerCode._esm
    assert "function judgeBar(" in PlayerCode._esm and "/*" not in PlayerCode._css
