"""The pre-save hook of the servers ``vidu-nb`` starts: each widget output carrying a still is
saved as two outputs (the widget's view, then the still), everything else as it was, and saving
again changes nothing. (``test_cli_frontends`` saves through a real ``vidu-nb lab``, the browser
tests reopen such a notebook in JupyterLab.)"""

from __future__ import annotations

import copy
import json

from vidu_nb.cli import frontends
from vidu_nb.cli.saved_stills import MARK, pre_save, split_stills

VIEW = "application/vnd.jupyter.widget-view+json"


def widget_output(kind: str = "display_data", html: object = "<b>sheet</b>") -> dict:
    data = {VIEW: {"model_id": "m1", "version_major": 2}, "text/plain": ["Grid\n", "- seed 1"]}
    if html is not None:
        data["text/html"] = html
    out = {"output_type": kind, "metadata": {}, "data": data}
    if kind == "execute_result":
        out["execution_count"] = 3
    return out


def notebook(*outputs: dict) -> dict:
    return {
        "nbformat": 4,
        "metadata": {},
        "cells": [
            {"cell_type": "markdown", "source": "# title", "metadata": {}},
            {"cell_type": "code", "source": "x", "metadata": {}, "outputs": list(outputs)},
        ],
    }


def test_a_widget_output_with_a_still_is_saved_as_the_view_then_the_still():
    nb = notebook({"output_type": "stream", "name": "stdout", "text": "hi\n"}, widget_output())
    assert split_stills(nb) == 1
    stream, widget, still = nb["cells"][1]["outputs"]
    assert stream == {"output_type": "stream", "name": "stdout", "text": "hi\n"}
    assert widget["data"] == {VIEW: {"model_id": "m1", "version_major": 2}, "text/plain": "Grid"}
    assert still["output_type"] == "display_data"
    html = still["data"]["text/html"]
    assert html.startswith("<style>") and f'<div class="{MARK}"><b>sheet</b></div>' in html
    assert still["data"]["text/plain"] == "Grid\n- seed 1"


def test_an_execute_result_keeps_its_count_and_html_given_as_lines_is_joined():
    nb = notebook(widget_output("execute_result", html=["<b>a</b>\n", "<i>b</i>"]))
    split_stills(nb)
    widget, still = nb["cells"][1]["outputs"]
    assert widget["output_type"] == "execute_result" and widget["execution_count"] == 3
    assert f'<div class="{MARK}"><b>a</b>\n<i>b</i></div>' in still["data"]["text/html"]


def test_outputs_without_a_still_and_saving_again_are_left_alone():
    plain_widget = widget_output(html=None)  # a widget of another library: no fallback to show
    html_only = {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<p>"}}
    error = {"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}
    nb = notebook(plain_widget, html_only, error)
    before = copy.deepcopy(nb)
    assert split_stills(nb) == 0 and nb == before
    nb = notebook(widget_output())
    split_stills(nb)
    once = copy.deepcopy(nb)
    assert split_stills(nb) == 0 and nb == once  # a reopened notebook saved again


def test_the_hook_takes_notebook_models_only():
    nb = notebook(widget_output())
    pre_save(model={"type": "notebook", "content": nb}, path="a.ipynb", contents_manager=None)
    assert len(nb["cells"][1]["outputs"]) == 2
    text = {"type": "file", "format": "text", "content": "not a notebook"}
    pre_save(model=text, path="a.txt", contents_manager=None)
    assert text["content"] == "not a notebook"
    pre_save(model={"type": "notebook", "content": None}, path="a.ipynb")  # a rename: no content


def test_the_project_settings_name_the_hook_and_turn_widget_state_saving_on():
    server = json.loads((frontends.CONFIG_DIR / "jupyter_server_config.json").read_text())
    assert server["ContentsManager"]["pre_save_hook"] == f"{pre_save.__module__}.pre_save"
    overrides = frontends.CONFIG_DIR / "labconfig" / "default_setting_overrides.json"
    plugin = json.loads(overrides.read_text())["@jupyter-widgets/jupyterlab-manager:plugin"]
    assert plugin == {"saveState": True}
