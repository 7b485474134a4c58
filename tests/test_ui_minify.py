"""The comment/whitespace stripper for the player's JS and CSS keeps programs intact."""

from __future__ import annotations

import pytest

from vidu_nb.ui.minify import minify_css, minify_js, tokens


def test_strings_templates_and_comments():
    src = (
        "// a comment\n"
        "const a = 'x // not a comment', b = \"y /* nor this */\";  /* block\n comment */\n"
        "const c = `t ${ a + `${b}` } // kept`;\n"
    )
    out = minify_js(src)
    assert out == (
        "const a='x // not a comment',b=\"y /* nor this */\";const c=`t ${ a + `${b}` } // kept`;"
    )


def test_tokens_that_would_merge_keep_a_space_and_line_breaks_that_matter_stay():
    assert minify_js("x = a - -b; y = a + +b; z = a / b;") == "x=a- -b;y=a+ +b;z=a/b;"
    assert minify_js("function f() {\n  return\n  1\n}\nlet q = 1\nlet r = 2") == (
        "function f(){return\n1}\nlet q=1\nlet r=2"
    )
    assert minify_js("for (const v of list()) v.muted = m;") == "for(const v of list())v.muted=m;"


def test_regular_expressions_are_refused_not_mangled():
    with pytest.raises(ValueError, match="regular expression"):
        tokens("const r = /a\\/b/g;")


def test_css():
    src = '/* c */\n.a .b::after {\n  content: "x  y";\n  font: 12px/1.4 var(--f, sans-serif);\n}\n'
    assert minify_css(src) == '.a .b::after{content:"x  y";font:12px/1.4 var(--f,sans-serif)}'
