"""The comment/whitespace strippers for code saved in widget state keep the code intact."""

from __future__ import annotations

import pytest

from vidu_nb.ui.minify import minify_css, minify_js
from vidu_nb.ui.player import PlayerCode


def test_css():
    src = '/* c */\n.a .b::after {\n  content: "x  y";\n  font: 12px/1.4 var(--f, sans-serif);\n}\n'
    assert minify_css(src) == '.a .b::after{content:"x  y";font:12px/1.4 var(--f,sans-serif)}'


def test_css_with_quotes_it_cannot_keep_is_refused():
    with pytest.raises(ValueError, match="double-quoted"):
        minify_css(".a::after { content: 'x'; }")


def test_js_loses_comments_indentation_and_blank_lines_only():
    src = (
        "// head\nfunction f(a) {\n  // why\n\n  const b = 1; // the task's\n"
        '  return a + " // kept"; // cut\n  return "it\'s // kept";\n}\n'
    )
    assert minify_js(src) == (
        'function f(a) {\nconst b = 1;\nreturn a + " // kept";\nreturn "it\'s // kept";\n}\n'
    )


def test_js_with_a_template_literal_across_lines_is_refused():
    with pytest.raises(ValueError, match="line 1: a template literal"):
        minify_js("const s = `a\n  b`;\n")


def test_the_shipped_player_code_is_its_source_without_comments_or_indentation():
    """What a notebook saves; ``test_ui_player`` checks that it still parses."""
    code, css = PlayerCode._esm, PlayerCode._css
    assert "\n " not in code and "\n//" not in code and "requestVideoFrameCallback" in code
    assert "/*" not in css and "\n" not in css and ".vidu-player-tools" in css
