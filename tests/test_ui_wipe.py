"""The A/B wipe without a browser: what ``wipe(a, b)`` and ``grid.wipe(i, j)`` take and refuse
(by name, before any request), what they send the browser (A and B's videos as binary buffers,
never in the state; expired URLs refreshed), their stills, and what a wipe costs the state."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import ipywidgets
import pytest
from simhelpers import running_stack
from waiting import until

from vidu_nb import Img2VideoRequest, ValidationError, wipe
from vidu_nb.ui.compare import compare
from vidu_nb.ui.player import LOADER, VideoGrid
from vidu_nb.ui.wipe import MODES, Wipe, WipeCode, wipe_code

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Two finished tasks (seeds 1 and 2, a hostile prompt), downloaded into the log's cache,
    and a third submitted with the same settings as the first."""
    from conftest import make_image

    folder = tmp_path_factory.mktemp("wipe")
    with running_stack(folder, speed=60, video_height=48) as (sim, client, log, poller):
        base = Img2VideoRequest(image=make_image(), model="viduq2-turbo", duration=1)
        handles = [poller.submit(base.replace(seed=s, prompt=HOSTILE)) for s in (1, 2)]
        assert poller.wait_all(60)
        ids = [h.task_id() for h in handles]
        assert all(log.get(i)["video_path"] for i in ids)
        yield sim, client, log, ids, handles


def videos(log, ids):
    return [Path(log.get(i)["video_path"]).read_bytes() for i in ids]


def fetched(widget, key, *, retry=False):
    """What the kernel sends when the browser asks for ``key``'s video."""
    before = len(widget.comm.sent)
    widget.comm.from_browser({"type": "fetch", "key": key, "what": "video", "retry": retry})
    assert until(lambda: len(widget.comm.sent) > before, 20), "the kernel never answered"
    return widget.comm.sent[before]


def test_two_task_ids_become_a_and_b_each_video_sent_as_a_buffer(frontend, stack):
    _sim, _client, log, ids, _handles = stack
    w = wipe(ids[0], ids[1], log=log)
    assert isinstance(w, Wipe) and isinstance(w, VideoGrid)
    a, b = w.items
    assert (a["key"], a["label"], b["key"], b["label"]) == ("a", "seed=1", "b", "seed=2")
    assert set(a) == {"key", "label", "video_local", "video_url"}  # all the front end reads
    assert a["video_local"] and a["video_url"] == "" and b["video_local"]
    assert (w.mode, w.split, w.playing) == ("wipe", 0.5, False)
    data = videos(log, ids)
    state = json.dumps(w.get_state(), default=str)
    assert all(video[200:260].hex() not in state for video in data)  # never in the state
    for key, video in zip("ab", data, strict=True):
        msg, buffers = fetched(w, key)
        assert msg == {"type": "blob", "key": key, "what": "video", "mime": "video/mp4"}
        assert buffers == [video]
    assert set(w.posters) == {"a", "b"}
    assert all(p.startswith("data:image/jpeg;base64,") for p in w.posters.values())
    assert repr(w) == f"Wipe(A: {ids[0]}, B: {ids[1]})"


@pytest.mark.parametrize("form", ["handle", "task", "log_row", "df_row", "df_of_one", "file"])
def test_every_kind_of_task_and_a_file_path_reach_the_same_video(frontend, stack, form, tmp_path):
    _sim, client, log, ids, handles = stack
    first = {
        "handle": lambda: handles[0],
        "task": lambda: client.get(ids[0]),
        "log_row": lambda: log.get(ids[0]),
        "df_row": lambda: log.df.set_index("task_id").reset_index().iloc[0],
        "df_of_one": lambda: log.df[log.df["task_id"] == ids[0]],
        "file": lambda: Path(log.get(ids[0])["video_path"]),
    }[form]()
    w = wipe(first, ids[1], log=log)
    assert w.items[0]["video_local"]
    # From the file on disk (log.df names it relative to the log's folder, not the cwd).
    assert w.read_source("a", "video") == videos(log, ids[:1])[0]
    msg, buffers = fetched(w, "a")
    assert msg["type"] == "blob" and buffers == videos(log, ids[:1])
    if form == "file":
        assert w.items[0]["label"] == Path(log.get(ids[0])["video_path"]).name
    elif form != "task":  # a Task fetched from the service knows no seed: the log row does
        assert w.items[0]["label"] == "seed=1"


def test_the_same_task_twice_and_given_labels(frontend, stack):
    _sim, _client, log, ids, _handles = stack
    same = wipe(ids[0], ids[0], log=log)
    assert [i["label"] for i in same.items] == [ids[0], ids[0]]
    named = wipe(ids[0], ids[1], log=log, labels=(HOSTILE, "after"), mode="difference", split=0)
    assert [i["label"] for i in named.items] == [HOSTILE, "after"]  # text: set as textContent
    assert (named.mode, named.split) == ("difference", 0.0)
    html, text = named.still_parts()
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert html.count("data:image/jpeg;base64,") == 2  # A's and B's contact sheets
    assert text.startswith(f"Wipe(A: {ids[0]}, B: {ids[1]})\nA: {HOSTILE}\nB: after\n")


def test_an_expired_url_is_refreshed_through_the_client(frontend, stack):
    sim, client, _log, ids, _handles = stack
    row = {"task_id": ids[1], "state": "success", "video_url": "https://cdn.invalid/v.mp4"}
    w = wipe(row, row, client=client)
    assert w.items[0]["video_url"] == "https://cdn.invalid/v.mp4"  # the browser tries it first
    queries = sim.count("GET", f"/tasks/{ids[1]}/creations")
    msg, buffers = fetched(w, "a", retry=True)  # it failed there: the kernel asks the service
    assert msg["type"] == "blob" and buffers[0][4:8] == b"ftyp"
    assert sim.count("GET", f"/tasks/{ids[1]}/creations") == queries + 1


def test_grid_wipe_compares_two_cells_with_the_grids_sources_and_stills(frontend, stack):
    _sim, client, log, ids, _handles = stack
    grid = compare(log.df, log=log, client=client)
    w = grid.wipe(1, 0, mode="side")
    assert [i["label"] for i in w.items] == [grid.items[1]["label"], grid.items[0]["label"]]
    by_seed = compare(log.df, cols="seed", log=log, client=client)  # the headers name them
    assert [i["label"] for i in by_seed.items] == ["", ""]
    assert [i["label"] for i in by_seed.wipe(0, 1).items] == ["seed=1", "seed=2"]
    assert w.mode == "side" and w.refresher.client is client and w.refresher.log is log
    assert w.posters == {
        "a": grid.posters[grid.items[1]["key"]],
        "b": grid.posters[grid.items[0]["key"]],
    }
    msg, buffers = fetched(w, "a")
    assert buffers == videos(log, ids[1:2])
    assert grid.wipe(-1, 0).items[0]["label"] == grid.items[-1]["label"]
    # The grid judges its cells (its state carries them); a wipe of it carries no judging, no
    # frame rate or other review field: wipe.js draws none of them.
    assert grid.judgments and "fps" in grid.items[0]
    judging = {"judgments", "choices", "promoted", "title_parts"}
    assert judging <= grid.get_state().keys() and not judging & w.get_state().keys()
    assert all(set(item) == set(Wipe.ITEM_KEYS) for item in w.items)


ROW = {"task_id": "t1", "state": "success", "video_url": "https://cdn.example/a.mp4"}
RUNNING = {"task_id": "t2", "state": "processing"}
FAILED = {"task_id": "t3", "state": "failed", "err_code": "AuditFailed"}


@pytest.mark.parametrize(
    "args, kwargs, field, words",
    [
        ((None, ROW), {}, "a", "must be one task"),
        ((ROW, 3), {}, "b", "must be one task"),
        ((ROW, [ROW, ROW]), {}, "b", "must be one task"),
        ((RUNNING, ROW), {}, "a", "state is 'processing'"),
        ((ROW, FAILED), {}, "b", "state is 'failed'"),
        (("t1", ROW), {}, "a", "give log="),
        ((Path("no/such.mp4"), ROW), {}, "a", "no such video file"),
        (("no/such.mp4", ROW), {}, "a", "no such video file"),
        ((ROW, ROW), {"mode": "zoom"}, "mode", "wipe, side, difference"),
        ((ROW, ROW), {"split": 1.5}, "split", "from 0"),
        ((ROW, ROW), {"split": True}, "split", "from 0"),
        ((ROW, ROW), {"labels": ("only A",)}, "labels", "two texts"),
    ],
)
def test_bad_input_is_refused_by_name(args, kwargs, field, words):
    with pytest.raises(ValidationError) as err:
        wipe(*args, **kwargs)
    assert err.value.field == field and words in str(err.value), err.value


def test_bad_input_is_refused_before_any_request(stack):
    sim, client, log, ids, _handles = stack
    before = len(sim.requests)
    with pytest.raises(ValidationError) as err:
        wipe(ids[0], "404404", log=log, client=client)
    assert err.value.field == "b" and "no task id in log=" in str(err.value)
    with pytest.raises(ValidationError, match="mode"):
        wipe(client.get(ids[0]), ids[1], log=log, mode="x")  # get() above: one request
    assert len(sim.requests) == before + 1


def test_grid_cells_that_cannot_be_wiped_are_refused_by_name():
    grid = compare([ROW, RUNNING, {**ROW, "task_id": "t4", "seed": 2}])
    for (i, j), field, words in [
        ((0, 0), "j", "another cell"),
        ((0, 3), "j", "from 0 to 2"),
        ((True, 2), "i", "cell index"),
        (("t1", 2), "i", "cell index"),
        ((0, 1), "j", "state 'processing'"),
    ]:
        with pytest.raises(ValidationError) as err:
            grid.wipe(i, j)
        assert err.value.field == field and words in str(err.value), err.value
    holes = compare(
        [ROW, {**ROW, "task_id": "t5", "seed": 2, "prompt": "b"}], rows="prompt", cols="seed"
    )
    empty = next(k for k, item in enumerate(holes.items) if item["state"] == "empty")
    with pytest.raises(ValidationError, match="an empty cell"):
        holes.wipe(empty, 0)
    with pytest.raises(ValidationError, match="mode"):
        grid.wipe(0, 2).mode = "zoom"  # set later too


def test_wipes_share_one_code_widget_and_carry_a_loader_within_the_budget():
    long = {**ROW, "prompt": HOSTILE * 10, "credits": 10, "seed": 1}
    w = wipe(long, {**long, "task_id": "t9", "prompt": HOSTILE * 10 + "!", "seed": 2})
    other = wipe(ROW, ROW)
    assert w.code is other.code is wipe_code() and isinstance(w.code, WipeCode)
    state = w.get_state()
    assert state["code"] == f"anywidget:{w.code.model_id}" and state["_esm"] == LOADER
    state.pop("posters")  # the stills: bounded apart, as for every player
    assert len(json.dumps(state)) <= 2048, len(json.dumps(state))
    assert "innerHTML" not in WipeCode._esm and "textContent" in WipeCode._esm
    assert ".vidu-wipe-divider" in WipeCode._css and set(MODES) == {"wipe", "side", "difference"}
    ipywidgets.Widget.close_all()
    assert wipe(ROW, ROW).code is wipe_code() is not w.code  # a closed one is replaced


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_the_wipe_module_parses(tmp_path):
    (tmp_path / "wipe.mjs").write_text(WipeCode._esm)
    done = subprocess.run(["node", "--check", str(tmp_path / "wipe.mjs")], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()


def test_a_grid_of_two_cells_or_more_references_the_one_wipe_code_for_its_ab_picks():
    """The grid's A/B panel (player.js) borrows the wipe's drawing from the one ``WipeCode``: a
    grid that can pick two cells holds a reference to it (a few bytes of state); a grid of one
    cell, a wipe and a duel hold none. ``wiped`` is the pair the browser opened."""
    from vidu_nb.ui.duel import Duel
    from vidu_nb.ui.player import player_code

    grid = compare([ROW, {**ROW, "task_id": "t4", "seed": 2}])
    other = compare([ROW, {**ROW, "task_id": "t5", "seed": 3}, {**ROW, "task_id": "t6"}])
    assert grid.wipe_code is other.wipe_code is wipe_code()
    state = grid.get_state()
    assert state["wipe_code"] == f"anywidget:{wipe_code().model_id}" and state["wiped"] == []
    assert grid.code is player_code()  # its players are still drawn by the player code
    alone = compare([ROW]).get_state()  # one cell: nothing to pair, nothing saved for it
    assert "wipe_code" not in alone and "wiped" not in alone
    w = grid.wipe(0, 1)
    assert not {"wipe_code", "wiped"} & w.get_state().keys()
    assert Duel.PAIRS is False and not {"wipe_code", "wiped"} & Duel.class_traits(sync=True).keys()

    grid.set_state({"wiped": [1, 0]})  # what the browser sends when it opens B=0, A=1
    assert grid.wiped == [1, 0]
    grid.set_players([(dict(item), grid._sources[item["key"]]) for item in grid.items])
    assert grid.wiped == []  # new players: no pair open
    state.pop("posters")
    assert len(json.dumps(state)) <= 2048, len(json.dumps(state))
