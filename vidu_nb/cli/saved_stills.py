"""A notebook saved by a Jupyter server in an environment where vidu-nb is installed shows its
stills where a widget cannot be drawn again, in JupyterLab and Notebook 7 too.

A widget output's MIME bundle carries the widget view and, for our display objects, a still
(``text/html`` with the contact sheets, ``text/plain``). JupyterLab trusts a notebook it saved
and then always takes the view part: its widget renderer never falls back to the other parts.
Reopened, that view reads "Loading widget..." for good when no kernel runs (the widget manager
starts from the kernel, and without one it never loads the saved state), and "Error displaying
widget: model not found" when a kernel runs but the notebook was saved without the widget
state (JupyterLab's default; ``vidu-nb lab`` turns saving it on).

So this server-side pre-save hook writes each such still as an output of its own, right after
the widget's, and leaves the widget output only the view and the still's first line of text.
The still's HTML holds a style sheet that decides, in the page, which of the two is shown:

- the widget drew (a kernel knows it, or the saved state had it): the still is hidden;
- the widget did not draw (no kernel, model not found, the widget output fell back to its
  text in an untrusted notebook or in nbconvert's HTML): the widget output is hidden and the
  still stands in.

Browsers without CSS ``:has()`` and pages that drop style sheets (GitHub) show both. The
notebook open in the browser is not changed (only the file is), so nothing moves while one
works; the hook is idempotent, and a cell run again gets its bundle back from the kernel.

Only our outputs are touched: those whose metadata names them ours (``ui.static.OWN``, which
every vidu-nb view with a still puts there). Another library's widget output, with HTML of its
own or not, is saved exactly as it came.

The hook is the Jupyter server extension ``vidu_nb`` (this module is its extension point),
enabled as server extensions enable themselves: the package installs
``etc/jupyter/jupyter_server_config.d/vidu_nb.json`` into its environment, so every
``jupyter lab``, ``jupyter notebook`` or ``jupyter server`` started there loads it (the servers
``vidu-nb`` starts from a checkout that is not installed get the file from ``frontends``). It
registers the hook with ``register_pre_save_hook``, beside a ``ContentsManager.pre_save_hook``
the user configured: Jupyter runs the user's first, then ours; neither replaces the other.
Off: ``VIDU_NB_SAVED_STILLS=0`` in the server's environment, or
``jupyter server extension disable vidu_nb`` (which rewrites the installed file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..ui.static import OWN

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
HTML = "text/html"
TEXT = "text/plain"
#: The class of a still written apart: what the style sheet keys on.
MARK = "vidu-saved-still"
#: Hide the still when the widget output before it holds a drawn view (the renderer's child
#: widget: ``jupyter-widgets``, or ``jupyter-widgets-disconnected`` when drawn from the saved
#: state; "Loading widget..." and "model not found" are text in the renderer itself); else
#: hide that output.
DRAWN = ":has(> .jp-OutputArea-output > .lm-Widget)"
STYLE = (
    "<style>"
    f".jp-OutputArea-child{DRAWN} + .jp-OutputArea-child:has(.{MARK}){{display:none}}"
    f".jp-OutputArea-child:not({DRAWN}):has(+ .jp-OutputArea-child .{MARK}){{display:none}}"
    "</style>"
)


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def split_output(output: dict[str, Any]) -> list[dict[str, Any]]:
    """``output`` as saved: itself, or the widget output and its still apart."""
    data = output.get("data")
    if output.get("output_type") not in ("display_data", "execute_result"):
        return [output]
    if not isinstance(data, dict) or WIDGET_VIEW not in data or HTML not in data:
        return [output]
    if not isinstance(output.get("metadata"), dict) or OWN not in output["metadata"]:
        return [output]  # another library's widget: its HTML is its own business
    text = _text(data.get(TEXT, ""))
    widget = {**output, "data": {WIDGET_VIEW: data[WIDGET_VIEW], TEXT: text.split("\n", 1)[0]}}
    html = f'{STYLE}<div class="{MARK}">{_text(data[HTML])}</div>'
    still = {
        "output_type": "display_data",
        "data": {HTML: html, TEXT: text},
        "metadata": {},
    }
    return [widget, still]


def split_stills(nb: dict[str, Any]) -> int:
    """Split each of our widget outputs carrying a still in notebook ``nb`` (nbformat 4, as a
    dict); returns how many were split."""
    count = 0
    for cell in nb.get("cells", []):
        outputs = cell.get("outputs")
        if not isinstance(outputs, list):
            continue
        new: list[dict[str, Any]] = []
        for output in outputs:
            parts = split_output(output) if isinstance(output, dict) else [output]
            count += len(parts) - 1
            new += parts
        cell["outputs"] = new
    return count


def pre_save(model: dict[str, Any], **_kwargs: Any) -> None:
    """A Jupyter server ``ContentsManager.pre_save_hook``: split the stills of a notebook."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        split_stills(model["content"])


#: The server's environment variable that turns the hook off (``0``, ``false``, ``no``, ``off``).
SWITCH = "VIDU_NB_SAVED_STILLS"


def switched_on(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(SWITCH, "1")
    return value.strip().lower() not in ("0", "false", "no", "off")


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the hook with the server's contents manager (Jupyter calls this at start)."""
    manager = serverapp.contents_manager
    if not switched_on():
        serverapp.log.info("vidu-nb: stills are not written apart on save (%s=0)", SWITCH)
        return
    if manager.pre_save_hook is pre_save:  # configured by name as well: it runs once
        return
    manager.register_pre_save_hook(pre_save)
    serverapp.log.info(
        "vidu-nb: each widget's still is saved as an output of its own (%s=0 turns it off)",
        SWITCH,
    )
