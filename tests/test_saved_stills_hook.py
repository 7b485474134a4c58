"""The pre-save hook: each of our widget outputs carrying a still is saved as two outputs (the
widget's view, then the still), everything else (other libraries' widgets, with HTML of their
own or not) as it was, and saving again changes nothing. (``test_jupyter_extension`` saves
through a plain ``jupyter server`` of an environment vidu-nb is installed in,
``test_cli_frontends`` through ``vidu-nb lab``; the browser tests reopen such a notebook in
JupyterLab.)"""

from __future__ import annotations

import copy
import json
import logging
import types

import pytest

from vidu_nb.cli import frontends
from vidu_nb.cli.saved_stills import MARK, pre_save, split_stills, switched_on
from vidu_nb.ui.static import OWN, with_still

VIEW = "application/vnd.jupyter.widget-view+json"


def widget_output(kind: str = "display_data", html: object = "<b>sheet</b>") -> dict:
    data = {VIEW: {"model_id": "m1", "version_major": 2}, "text/plain": ["Grid\n", "- seed 1"]}
    if html is not None:
        data["text/html"] = html
    out = {"output_type": kind, "metadata": {OWN: {"still": True}}, "data": data}
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
    ours_closed = widget_output(html=None)  # nothing to set apart
    html_only = {"output_type": "display_data", "metadata": {}, "data": {"text/html": "<p>"}}
    error = {"output_type": "error", "ename": "E", "evalue": "v", "traceback": []}
    nb = notebook(ours_closed, html_only, error)
    before = copy.deepcopy(nb)
    assert split_stills(nb) == 0 and nb == before
    nb = notebook(widget_output())
    split_stills(nb)
    once = copy.deepcopy(nb)
    assert split_stills(nb) == 0 and nb == once  # a reopened notebook saved again


def other_widgets() -> list[dict]:
    """Widget outputs of other libraries: an ipywidgets slider (view and text), and a widget
    whose library puts HTML of its own beside the view (with output metadata of its own)."""
    slider = {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            VIEW: {"version_major": 2, "version_minor": 0, "model_id": "s1"},
            "text/plain": "IntSlider(value=3)",
        },
    }
    with_html = {
        "output_type": "execute_result",
        "execution_count": 4,
        "metadata": {"text/html": {"isolated": True}, "other_lib": {"still": True}},
        "data": {
            VIEW: {"version_major": 2, "version_minor": 0, "model_id": "o1"},
            "text/html": ["<div class='map'>\n", "fallback</div>"],
            "text/plain": "Map(center=(0, 0))",
        },
    }
    return [slider, with_html]


def test_other_libraries_widget_outputs_are_saved_as_they_came():
    nb = notebook(*other_widgets(), widget_output())
    before = json.dumps(nb["cells"][1]["outputs"][:2], sort_keys=True)
    assert split_stills(nb) == 1  # ours only
    outputs = nb["cells"][1]["outputs"]
    assert json.dumps(outputs[:2], sort_keys=True) == before
    assert MARK in outputs[3]["data"]["text/html"] and len(outputs) == 4


def test_our_views_mark_their_outputs_as_ours():
    view = {VIEW: {"model_id": "m"}, "text/plain": "Grid"}
    assert with_still(view, "<b>", "Grid\n- 1") == (
        {**view, "text/html": "<b>", "text/plain": "Grid\n- 1"},
        {OWN: {"still": True}},
    )
    data, meta = with_still((view, {"x": 1}), "<b>", "t")
    assert meta == {"x": 1, OWN: {"still": True}}
    assert with_still({}, "<b>", "t") == {}  # a closed widget shows nothing


def test_the_hook_is_switched_off_by_its_variable_only():
    assert switched_on({}) and switched_on({"VIDU_NB_SAVED_STILLS": "1"})
    for off in ("0", "false", "No", " off "):
        assert not switched_on({"VIDU_NB_SAVED_STILLS": off})


def test_the_hook_takes_notebook_models_only():
    nb = notebook(widget_output())
    pre_save(model={"type": "notebook", "content": nb}, path="a.ipynb", contents_manager=None)
    assert len(nb["cells"][1]["outputs"]) == 2
    text = {"type": "file", "format": "text", "content": "not a notebook"}
    pre_save(model=text, path="a.txt", contents_manager=None)
    assert text["content"] == "not a notebook"
    pre_save(model={"type": "notebook", "content": None}, path="a.ipynb")  # a rename: no content


def test_the_project_settings_turn_widget_state_saving_on_and_enable_the_extension(tmp_path):
    """``vidu-nb lab`` gives its server the file the package installs in the environment only
    when the environment has none (run from a checkout): else the environment's file rules."""
    extension = frontends.EXTENSION_DIR / "jupyter_server_config.d" / "vidu_nb.json"
    assert json.loads(extension.read_text()) == {
        "ServerApp": {"jpserver_extensions": {"vidu_nb": True}}
    }
    assert not list(frontends.CONFIG_DIR.glob("jupyter_server_config*"))
    overrides = frontends.CONFIG_DIR / "labconfig" / "default_setting_overrides.json"
    plugin = json.loads(overrides.read_text())["@jupyter-widgets/jupyterlab-manager:plugin"]
    assert plugin == {"saveState": True}
    assert frontends.config_dirs(str(tmp_path)) == [frontends.CONFIG_DIR, frontends.EXTENSION_DIR]
    installed = tmp_path / frontends.ENABLING
    installed.parent.mkdir(parents=True)
    installed.write_text('{"ServerApp": {"jpserver_extensions": {"vidu_nb": false}}}')
    assert frontends.config_dirs(str(tmp_path)) == [frontends.CONFIG_DIR]


def test_loaded_by_jupyter_the_hook_joins_the_users_and_runs_once(tmp_path, monkeypatch):
    """Registered beside a user's ``pre_save_hook``, not over it; not twice when the user
    named ours as theirs; not at all when switched off (a real contents manager)."""
    manager_module = pytest.importorskip("jupyter_server.services.contents.filemanager")
    from vidu_nb.cli.saved_stills import _load_jupyter_server_extension

    def theirs(model, **_kwargs):
        model["content"]["metadata"]["theirs"] = True

    def load(hook) -> list:
        manager = manager_module.FileContentsManager(root_dir=str(tmp_path))
        if hook is not None:
            manager.pre_save_hook = hook
        app = types.SimpleNamespace(contents_manager=manager, log=logging.getLogger("test"))
        _load_jupyter_server_extension(app)
        return manager

    manager = load(theirs)
    assert manager.pre_save_hook is theirs and manager._pre_save_hooks == [pre_save]
    model = {"type": "notebook", "content": notebook(widget_output())}
    manager.run_pre_save_hooks(model=model, path="a.ipynb")
    assert model["content"]["metadata"] == {"theirs": True}
    assert len(model["content"]["cells"][1]["outputs"]) == 2  # both ran
    assert load(pre_save)._pre_save_hooks == []  # named as theirs: it runs once
    monkeypatch.setenv("VIDU_NB_SAVED_STILLS", "0")
    assert load(None)._pre_save_hooks == []
