"""The form's and cards' look: one small ``<style>`` block shipped inside the form.

ipywidgets has no stylesheet hook, but an ``HTML`` widget's ``<style>`` applies in JupyterLab,
Notebook 7 and Voila alike. Every rule is scoped by our own ``vidu-`` classes. The grid's CSS
travels with its anywidget code instead (see ``player.css``).

A form drawn from saved widget state with no kernel behind it has every view marked
``jupyter-widgets-disconnected``, which ipywidgets shows as a red broken-link icon before each
one (some 60 in a form): here one line says it once, and the dead controls take no clicks.
"""

from __future__ import annotations

import ipywidgets as w

from .minify import minify_css

_CSS = """
.vidu-form .vidu-upload { font-size: 0 !important; width: auto; min-width: 148px; }
.vidu-form .vidu-upload i.fa { font-size: var(--jp-widgets-font-size, 13px); margin-right: 6px; }
.vidu-form .vidu-upload::after {
  content: "Choose image\\2026"; font-size: var(--jp-widgets-font-size, 13px);
}
.vidu-form { max-width: 900px; }
.vidu-form .jupyter-widgets-disconnected::before { content: none; }
.vidu-form.jupyter-widgets-disconnected::before {
  content: "A saved copy of the form: run its cell to use it."; display: block;
  font: italic 12px var(--jp-ui-font-family, sans-serif); color: #a15c00; padding: 0 0 6px;
}
.vidu-form.jupyter-widgets-disconnected > * { pointer-events: none; }
.vidu-form .vidu-hidden { display: none !important; }
.vidu-form-sections { margin-top: 6px; }
.vidu-form-sections .jupyter-widget-Collapse-contents { padding: 8px 0; }
.vidu-form-sections .widget-checkbox { margin-left: 0; }
.vidu-preview-json pre, .vidu-preview-curl pre {
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto;
  margin: 2px 0; font-size: 12px;
}
.vidu-sweep-buttons { margin-left: 112px; }
.vidu-sweep-summary { margin: 4px 0 0 118px; }
.vidu-row { align-items: center; }
.vidu-row .vidu-row-label { width: 110px; flex: none; text-align: right; margin-right: 6px; }
.vidu-image-info { color: var(--jp-ui-font-color2, #555); margin-left: 8px; }
.vidu-thumbnail { margin: 2px 0 6px 120px; border-radius: 3px; }
.vidu-field-msg { margin-left: 8px; align-self: center; }
.vidu-field-msg .widget-html-content { line-height: 1.35; }
.vidu-error { color: #c62828; }
.vidu-warning { color: #a15c00; }
.vidu-inactive { color: var(--jp-ui-font-color3, #888); font-style: italic; }
.vidu-counter { color: var(--jp-ui-font-color2, #777); }
.vidu-prompt-counter { margin-left: 120px; }
.vidu-form-footer { align-items: center; margin-top: 6px; }
.vidu-form-footer .widget-html { margin-left: 8px; }
.vidu-card {
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 4px;
  padding: 6px 8px; margin: 6px 0; max-width: 640px; box-sizing: border-box;
}
.vidu-card-state-failed { border-color: #e0a0a0; }
.vidu-card-badge {
  display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11px;
  line-height: 18px; background: #e8eaf0; color: #334;
}
.vidu-card-badge-success { background: #e3f3e4; color: #1b5e20; }
.vidu-card-badge-failed, .vidu-card-badge-uncertain { background: #fbe4e4; color: #b71c1c; }
.vidu-card-badge-processing, .vidu-card-badge-queueing { background: #e3effb; color: #0d47a1; }
.vidu-card-elapsed, .vidu-card-steps { color: var(--jp-ui-font-color2, #666); }
.vidu-card-error-text { color: #c62828; }
.vidu-card-todo { color: var(--jp-ui-font-color3, #999); }
"""

#: The stylesheet, minified (it is widget state, saved with the notebook once per form).
CSS = minify_css(_CSS)


def style_widget() -> w.HTML:
    """An ``HTML`` widget that carries the stylesheet (it renders nothing visible)."""
    html = w.HTML(f"<style>{CSS}</style>")
    html.add_class("vidu-style")
    return html
