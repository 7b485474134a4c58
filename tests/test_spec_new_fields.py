"""watermark, wm_position, wm_url and meta_data (official docs; not on the seed page): checked
like every other field, carried into options, settings, the body, the preview, the curl
command, the task log and what goes over the wire."""

from __future__ import annotations

import json
import shlex
import warnings
from http.server import BaseHTTPRequestHandler

import numpy as np
import pandas as pd
import pytest
from simhelpers import serving

from vidu_nb import IgnoredFieldWarning, Img2VideoRequest, ValidationError, ViduClient
from vidu_nb.client.task import Task
from vidu_nb.tracking.tasklog import TaskLog

MARKED = {
    "watermark": True,
    "wm_position": 1,
    "wm_url": "https://example.org/mark.png",
    "meta_data": '{"labels": ["ai-generated"], "n": 1}',
}


def req(png_bytes, **kw):
    return Img2VideoRequest(image=png_bytes, **kw)


def test_the_fields_reach_options_settings_body_preview_and_curl(png_bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all four have an effect together: no note
        r = req(png_bytes, **MARKED)
    assert r.options() == {"model": "viduq3-pro", **MARKED}
    body = r.to_body()
    assert {k: body[k] for k in MARKED} == MARKED
    assert json.loads(body["meta_data"]) == {"labels": ["ai-generated"], "n": 1}
    assert {k: r.preview()[k] for k in MARKED} == MARKED
    settings = r.resolved()
    assert {k: settings[k] for k in MARKED} == MARKED
    # The curl command's -d argument is the preview, quoting and all.
    words = shlex.split(r.to_curl().replace("\\\n", " "))
    assert json.loads(words[words.index("-d") + 1]) == r.preview()


def test_defaults_unset_fields_stay_out_of_the_body(png_bytes):
    r = req(png_bytes)
    assert not set(MARKED) & set(r.to_body())
    settings = r.resolved()
    assert (settings["watermark"], settings["wm_position"], settings["wm_url"]) == (
        False,
        None,
        None,
    )
    assert settings["meta_data"] is None
    # With a watermark and no position, the service puts it bottom right (3).
    assert req(png_bytes, watermark=True).resolved()["wm_position"] == 3
    assert "wm_position" not in req(png_bytes, watermark=True).to_body()


@pytest.mark.parametrize("position", [1, 2, 3, 4, np.int64(4)])
def test_each_corner_is_accepted(png_bytes, position):
    r = req(png_bytes, watermark=True, wm_position=position)
    assert r.to_body()["wm_position"] == int(position) and type(r.wm_position) is int


@pytest.mark.parametrize(
    ("kw", "field", "limit"),
    [
        ({"wm_position": 0}, "wm_position", "1 top left"),
        ({"wm_position": 5}, "wm_position", "4 bottom left"),
        ({"wm_position": True}, "wm_position", "integer"),
        ({"wm_position": np.True_}, "wm_position", "integer"),
        ({"wm_position": "3"}, "wm_position", "integer"),
        ({"wm_position": 3.0}, "wm_position", "integer"),
        ({"watermark": 1}, "watermark", "bool"),
        ({"watermark": "true"}, "watermark", "bool"),
        ({"wm_url": "ftp://example.org/m.png"}, "wm_url", "http"),
        ({"wm_url": "mark.png"}, "wm_url", "http"),
        ({"wm_url": 5}, "wm_url", "str"),
        ({"meta_data": 5}, "meta_data", "dict"),
        ({"meta_data": b"{}"}, "meta_data", "dict"),
        ({"meta_data": ""}, "meta_data", "line 1 column 1 (char 0)"),
        ({"meta_data": '{"a": 1,}'}, "meta_data", "line 1 column 9 (char 8)"),
        ({"meta_data": '{"a":\n  tru}'}, "meta_data", "line 2 column 3"),
        ({"meta_data": "NaN"}, "meta_data", "NaN is not JSON"),
        ({"meta_data": {"a": float("nan")}}, "meta_data", "JSON"),
        ({"meta_data": {"a": object()}}, "meta_data", "object is not JSON"),
        ({"meta_data": '{"a": "\ud83e"}'}, "meta_data", "surrogate"),
    ],
)
def test_bad_values_name_the_field_and_the_limit(png_bytes, kw, field, limit):
    with pytest.raises(ValidationError) as exc:
        req(png_bytes, watermark=True, **kw) if field != "watermark" else req(png_bytes, **kw)
    assert exc.value.field == field
    assert limit in exc.value.limit
    assert str(exc.value).startswith(f"{field}=")


def test_meta_data_as_a_dict_or_list_is_kept_as_compact_json(png_bytes):
    r = req(png_bytes, meta_data={"label": "café", "tags": [np.int64(1), np.True_, None]})
    assert r.meta_data == '{"label":"café","tags":[1,true,null]}'
    assert req(png_bytes, meta_data=["a", 2]).meta_data == '["a",2]'
    assert req(png_bytes, meta_data=(1,)).meta_data == "[1]"
    # Text is kept as written: it only has to be JSON.
    text = '{ "label" : "x" }'
    assert req(png_bytes, meta_data=text).to_body()["meta_data"] == text


@pytest.mark.parametrize(
    ("kw", "note"),
    [
        ({"wm_position": 2}, "wm_position"),
        ({"wm_url": "https://example.org/m.png"}, "wm_url"),
        ({"watermark": False, "wm_position": 4}, "wm_position"),
    ],
)
def test_watermark_settings_without_a_watermark_are_noted(png_bytes, kw, note):
    with pytest.warns(IgnoredFieldWarning, match=f"{note} is set but takes effect only when"):
        r = req(png_bytes, **kw)
    assert note in r.ignored
    assert r.to_body()[note] == kw[note]  # still sent: the service decides


def test_cells_of_a_dataframe_row(png_bytes):
    """A row of a frame (numpy ints and bools, missing cells) means plain values."""
    frame = pd.DataFrame(
        {
            "watermark": pd.array([True, None], dtype="boolean"),
            "wm_position": pd.array([2, None], dtype="Int64"),
            "wm_url": ["https://example.org/m.png", None],
            "meta_data": ['{"k": 1}', pd.NA],
        }
    )
    first, second = (frame.iloc[i] for i in range(2))
    r = req(png_bytes, **{k: first[k] for k in frame.columns})
    assert (type(r.watermark), type(r.wm_position)) == (bool, int)
    json.dumps(r.to_body())
    r = req(png_bytes, **{k: second[k] for k in frame.columns})
    assert (r.watermark, r.wm_position, r.wm_url, r.meta_data) == (None, None, None, None)
    assert r.wm_url is None and not set(MARKED) & set(r.to_body())
    stripped = req(png_bytes, watermark=np.True_, wm_url="  https://example.org/m.png \n")
    assert stripped.wm_url == "https://example.org/m.png" and stripped.watermark is True


class _Recorder(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        _Recorder.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        data = json.dumps({"task_id": "t-1", "state": "created", "credits": 150}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_what_goes_over_the_wire_and_into_the_log(png_bytes, tmp_path):
    _Recorder.bodies = []
    r = req(png_bytes, **MARKED)
    with serving(_Recorder) as url, ViduClient("k-123", url, max_retries=0) as client:
        task = client.submit(r)
    [sent] = _Recorder.bodies
    assert {k: sent[k] for k in MARKED} == MARKED
    assert "allow_unknown_model" not in sent
    with TaskLog(tmp_path / "t.db") as log:
        log.record_submission(r, Task(id=task.id, credits=task.credits))
        stored = json.loads(log.df.iloc[-1]["options"])
    assert {k: stored[k] for k in MARKED} == MARKED
