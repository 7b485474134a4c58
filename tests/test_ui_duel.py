"""Blind duels without a browser: the widget is driven through its message handler as the comm
does, over a real task log of simulator videos. Pairs share a start image and differ in what is
judged; nothing of a pair reaches the browser; votes land in the log (seen by another process),
undo withdraws them, reopening goes on where it stopped; the end reveals which was which."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from simhelpers import running_stack
from waiting import until

from vidu_nb import Img2VideoRequest, ValidationError
from vidu_nb.client import ViduClient
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.duels import duel_pairs
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui.duel import Duel, DuelCode, duel
from vidu_nb.ui.player import LOADER, PlayerCode

HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
PROMPTS = ["a red fox runs", "calm sea at dawn", HOSTILE]
MODEL = "viduq2-turbo"


def image(color) -> bytes:
    from conftest import make_image

    return make_image(color=color)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """A task log with cached simulator videos: image A, three prompts x seeds 1 and 2 (12 pairs
    differ in the prompt); image B, two prompts (1 pair). Made once, copied for each test."""
    folder = tmp_path_factory.mktemp("duel-videos")
    with running_stack(folder, speed=60, video_height=96) as (_sim, _client, log, poller):
        a = Img2VideoRequest(image=image((200, 80, 40)), model=MODEL, duration=1)
        b = a.replace(image=image((40, 80, 200)))
        plan = [a.replace(prompt=p, seed=s) for p in PROMPTS for s in (1, 2)]
        plan += [b.replace(prompt=p, seed=1) for p in PROMPTS[:2]]
        for request in plan:
            poller.submit(request, experiment="duel")
        assert poller.wait_all(120)
        assert until(lambda: log.df["video_path"].notna().sum() == len(plan), 60)
    return folder


@pytest.fixture
def duel_log(made, tmp_path):
    folder = shutil.copytree(made, tmp_path / "copy")
    with TaskLog(folder / "log.sqlite") as log:
        yield log


def secrets_of(log: TaskLog) -> list[str]:
    """What must never reach the browser during a duel: prompts, seeds, model, ids, URLs."""
    df = log.df
    out = [*PROMPTS, "seed", MODEL, "prompt", "127.0.0.1", "localhost", "http"]
    return out + [str(t) for t in df["task_id"]] + [str(u) for u in df["video_url"]]


def test_pairs_share_an_image_and_differ_in_by_in_a_seeded_random_order(frontend, duel_log):
    df = duel_log.df
    w = duel(df, by="prompt", log=duel_log, seed=3)
    assert w.pairs == duel_pairs(df, by="prompt", seed=3)  # the same seed, the same duel
    assert w.total == len(w.pairs) == 13 and w.position == 0
    for left, right in w.pairs:
        a, b = df.loc[left], df.loc[right]
        assert a["image_sha256"] == b["image_sha256"] and a["prompt"] != b["prompt"]
    assert duel(df, by="prompt", log=duel_log, seed=4).pairs != w.pairs
    assert [p.left < p.right for p in w.pairs].count(True) not in (0, len(w.pairs))  # sides vary
    assert repr(w) == "Duel(by prompt: pair 1 of 13)"


def test_nothing_of_the_pair_reaches_the_browser_but_the_videos_bytes(frontend, duel_log):
    w = duel(duel_log.df, by="prompt", log=duel_log, seed=3)
    assert isinstance(w, Duel) and w._esm == LOADER  # the code is saved once, not per duel
    assert isinstance(w.code, DuelCode) and isinstance(w.player, PlayerCode)
    for step in range(3):  # the first pairs, and after moves
        state = json.dumps(w.get_state(), default=str)
        for secret in secrets_of(duel_log):
            assert secret not in state, (step, secret)
        assert [i["label"] for i in w.items] == ["", ""] and all(not i["meta"] for i in w.items)
        assert all(i["video_local"] and not i["video_url"] for i in w.items)
        w.comm.from_browser({"type": "vote", "choice": "tie", "pair": w.position})
    left, right = w.pairs[w.position]
    w.comm.from_browser({"type": "fetch", "key": w.items[0]["key"], "what": "video"})
    w.comm.from_browser({"type": "fetch", "key": w.items[1]["key"], "what": "video"})
    (msg, bufs), (msg2, bufs2) = w.comm.sent
    assert msg == {"type": "blob", "key": w.items[0]["key"], "what": "video", "mime": "video/mp4"}
    shown = [bufs[0], bufs2[0]]
    files = [Path(duel_log.judgments.row(r)["video_path"]).read_bytes() for r in (left, right)]
    assert shown == files  # left is left: the kernel serves each side's own file


def test_votes_from_the_browser_go_to_the_log_and_another_process_sees_them(frontend, duel_log):
    w = duel(duel_log.df, by="prompt", log=duel_log, seed=3)
    pairs = w.pairs
    for choice in ("left", "tie", "right"):
        w.comm.from_browser({"type": "vote", "choice": choice, "pair": w.position})
    w.comm.from_browser({"type": "vote", "choice": "left", "pair": 1})  # a stale press: ignored
    w.comm.from_browser({"type": "vote", "choice": "sideways", "pair": 3})  # not a choice
    assert w.position == 3 and w.can_undo and "Saved: right is better" in w.status
    votes = duel_log.votes()
    assert list(zip(votes["left_row_id"], votes["right_row_id"], strict=True)) == pairs[:3]
    assert list(votes["winner_row_id"].astype("object").where(votes["tie"] == False, None)) == [  # noqa: E712
        pairs[0].left,
        None,
        pairs[2].right,
    ]
    code = (
        "import sys; from vidu_nb.tracking.tasklog import TaskLog\n"
        "log = TaskLog(sys.argv[1]); r = log.rankings(by=['prompt'])\n"
        "print(len(log.votes()), int(r['n'].sum()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(duel_log.path)], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["3", "6"]  # three duels, each counted for both groups

    w.comm.from_browser({"type": "undo"})
    assert w.position == 2 and len(duel_log.votes()) == 2  # withdrawn from the log
    w.comm.from_browser({"type": "skip", "pair": 2})
    assert w.position == 3 and len(duel_log.votes()) == 2
    w.comm.from_browser({"type": "undo"})
    assert w.position == 2 and w.status == "Back to the skipped pair."
    w.comm.from_browser({"type": "undo"})
    w.comm.from_browser({"type": "undo"})
    assert w.position == 0 and not w.can_undo and len(duel_log.votes()) == 0
    w.comm.from_browser({"type": "undo"})
    assert w.status == "Nothing to undo."


def test_the_end_ranks_the_groups_and_reveals_which_was_which(frontend, duel_log):
    w = duel(duel_log.df, by="prompt", log=duel_log, seed=5)
    prompt = duel_log.df["prompt"]
    while not w.done:  # the fox always wins, the others tie
        left, right = w.pairs[w.position]
        choice = {PROMPTS[0]: "left"}.get(prompt[left]) or {PROMPTS[0]: "right"}.get(
            prompt[right], "tie"
        )
        assert w.results == []  # nothing revealed before the end
        w.comm.from_browser({"type": "vote", "choice": choice, "pair": w.position})
    assert w.items == [] and w.position == w.total == 13
    ranking = duel_log.rankings(by=["prompt"])
    assert ranking["prompt"].iloc[0] == PROMPTS[0] and int(ranking["n"].sum()) == 26
    standings, reveal = w.results
    assert standings["title"].startswith("Ranking by prompt") and "13" in standings["title"]
    assert standings["columns"][:3] == ["rank", "prompt", "score"]
    assert [row[1] for row in standings["rows"]][0] == PROMPTS[0]  # the fox first
    assert {row[1] for row in standings["rows"]} == set(PROMPTS)  # text: the page escapes it
    assert reveal["columns"] == ["#", "left", "right", "verdict"] and len(reveal["rows"]) == 13
    first_left = duel_log.judgments.row(w.pairs[0].left)["task_id"]
    assert first_left in reveal["rows"][0][1]  # which was which: the task ids come out now
    html = w.still_parts()[0]  # the saved still at the end: the same, escaped
    assert "<script" not in html and HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "Which was which" in html
    assert html.index("a red fox runs") < html.index("calm sea at dawn")  # ranked first
    w.comm.from_browser({"type": "undo"})  # the last vote taken back: the pair again, no reveal
    assert not w.done and w.results == [] and w.position == 12 and len(w.items) == 2


def test_the_duel_front_end_never_parses_text_as_html_or_code():
    """Results and status go in through ``textContent``: the page holds no HTML of ours."""
    import re

    sinks = r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    assert not re.search(sinks, DuelCode._esm)


def test_a_reopened_duel_goes_on_with_the_pairs_not_voted_yet(frontend, duel_log):
    first = duel(duel_log.df, by="prompt", log=duel_log, seed=3)
    for _ in range(4):
        first.vote("left")
    again = duel(duel_log.df, by="prompt", log=duel_log, seed=3)
    assert again.total == 9 and again.pairs == first.pairs[4:]
    assert again.status == "4 pairs voted on before: left out."
    for _ in range(9):
        again.skip()
    assert again.done and again.results[0]["title"].startswith("Ranking by prompt")
    assert {row[3] for row in again.results[1]["rows"]} == {"skipped"}  # no vote of this round
    every = duel(duel_log.df, by="prompt", log=duel_log, pairs=first.pairs[:2], seed=1)
    assert {frozenset(p) for p in every.pairs} == {frozenset(p) for p in first.pairs[:2]}


def test_the_still_shows_the_standings_never_the_pair(frontend, duel_log):
    w = duel(duel_log.df, by="prompt", log=duel_log, seed=3)
    data = w._repr_mimebundle_()
    data = data[0] if isinstance(data, tuple) else data
    html, text = data["text/html"], data["text/plain"]
    assert "pair 1 of 13" in html and "No votes yet" in html
    for secret in secrets_of(duel_log):
        if secret != "prompt":  # "by prompt": what is judged, not a value
            assert secret not in html and secret not in text, secret
    w.vote("tie")
    html = w.still_parts()[0]
    assert "pair 2 of 13" in html and "vidu-duel-ranking" in html and "<script" not in html


def test_bad_arguments_are_named(duel_log, tmp_path):
    df = duel_log.df
    cases = [
        ({"by": "promt"}, "by"),
        ({"by": "duration"}, "by"),  # every task has the same duration: no pair
        ({"by": "prompt", "seed": "x"}, "seed"),
        ({"by": "prompt", "pairs": [(1, 1)]}, "pairs"),
        ({"by": "prompt", "pairs": [(1, 999)]}, "pairs"),
        ({"by": "prompt", "pairs": "ab"}, "pairs"),
        ({"by": "prompt", "pairs": []}, "pairs"),
        ({"by": "prompt", "log": "tasks.sqlite"}, "log"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as err:
            duel(df, **{"log": duel_log, **kwargs})
        assert err.value.field == field, kwargs
    with pytest.raises(ValidationError) as err:
        duel(df.drop(columns=["image_sha256"]), by="prompt", log=duel_log)
    assert err.value.field == "df"
    with pytest.raises(ValidationError) as err:  # a column of df only: the log cannot rank by it
        duel(df.assign(style=df["prompt"].str.len()), by="style", log=duel_log)
    assert err.value.field == "by"
    with TaskLog(tmp_path / "other.sqlite") as other:  # not the log df came from
        from vidu_nb.client.task import Task

        for i in range(len(df)):
            req = Img2VideoRequest(image=image((1, 2, 3)), model=MODEL, duration=1, prompt="x")
            other.record_submission(req, Task(id=f"other{i}"))
        with pytest.raises(ValidationError) as err:
            duel(df, by="prompt", log=other)
        assert err.value.field == "log"


def test_an_expired_url_is_refreshed_and_still_sent_as_bytes(frontend, tmp_path):
    with (
        Simulator(speed=60, video_height=96, url_ttl=1) as sim,
        TaskLog(tmp_path / "log.sqlite") as log,
    ):
        client = ViduClient.for_simulator(sim)
        base = Img2VideoRequest(image=image((9, 99, 9)), model=MODEL, duration=1)
        for prompt in ("a", "b"):
            req = base.replace(prompt=prompt)
            task = client.wait(client.submit(req), timeout=60)
            log.record_submission(req, task)
            log.update(task)
        assert until(lambda: requests.get(task.video_url, timeout=5).status_code == 403, 10)
        w = duel(log.df, by="prompt", log=log, client=client)
        queries = sim.count("GET", task.id)
        for item in w.items:
            w.comm.from_browser({"type": "fetch", "key": item["key"], "what": "video"})
        assert until(lambda: len(w.comm.sent) == 2, 30)
        assert all(m["type"] == "blob" and b[0][4:8] == b"ftyp" for m, b in w.comm.sent)
        assert sim.count("GET", task.id) > queries  # fresh URLs were asked for
        assert log.df["video_path"].notna().all()  # and the videos cached on the way


def test_a_live_remote_url_never_reaches_the_page(frontend, log, png_bytes):
    """A grid hands a fresh remote URL to the page (it names its task: /files/<task id>/...);
    a duel keeps it on the kernel's side and serves the bytes."""
    from vidu_nb.client.task import Creation, Task
    from vidu_nb.ui.compare import compare

    base = Img2VideoRequest(image=png_bytes, model=MODEL, duration=1)
    for i, prompt in enumerate(("a", "b")):
        url = f"https://files.example.com/files/task-{i}/video.mp4"
        log.record_submission(base.replace(prompt=prompt), Task(id=f"task-{i}"))
        log.update(Task(id=f"task-{i}", state="success", creations=[Creation("c", url)]))
    grid_state = json.dumps(compare(log.df, log=log).get_state())
    assert "files.example.com/files/task-0" in grid_state  # what a grid would do
    state = json.dumps(duel(log.df, by="prompt", log=log, seed=1).get_state())
    assert "example.com" not in state and "task-" not in state


@pytest.mark.slow
def test_a_saved_notebook_holds_the_duel_code_once_and_nothing_of_the_pairs(tmp_path, png_path):
    """Run in a real kernel and saved with its widget state: the duel's code is saved once for
    two duels, and neither the widget state nor the outputs name what the videos were made
    with (the prompts are read from a file, so the cells' source names none either)."""
    import nbformat
    from saved_notebook import run_measuring, widget_state
    from videos import ramp_video

    prompts = ["secret fox prompt", "secret sea prompt", "secret sky prompt"]
    (tmp_path / "prompts.json").write_text(json.dumps(prompts))
    videos = [str(ramp_video(tmp_path / f"v{i}.mp4", seconds=1)) for i in range(3)]
    setup = (
        "import json\n"
        "from vidu_nb import Img2VideoRequest, duel\n"
        "from vidu_nb.client.task import Task\n"
        "from vidu_nb.tracking.tasklog import TaskLog\n"
        "log = TaskLog('log.sqlite')\n"
        f"base = Img2VideoRequest(image={str(png_path)!r}, model='viduq2-turbo', duration=1)\n"
        f"for i, (p, v) in enumerate(zip(json.load(open('prompts.json')), {videos!r})):\n"
        "    log.record_submission(base.replace(prompt=p, seed=i), Task(id=f'8800{i}'))\n"
        "    log.update(Task(id=f'8800{i}', state='success'))\n"
        "    log.set_files(f'8800{i}', v)"
    )
    cells = [setup, "duel(log.df, by='prompt', log=log, seed=1)", "duel(log.df, log=log, seed=2)"]
    nb, _saved = run_measuring(cells, tmp_path)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    state = widget_state(nb)["state"]
    kinds = [m["state"].get("_anywidget_id", m["model_name"]) for m in state.values()]
    assert kinds.count("vidu_nb.ui.duel.DuelCode") == 1, kinds
    assert kinds.count("vidu_nb.ui.player.PlayerCode") == 1, kinds
    assert kinds.count("vidu_nb.ui.duel.Duel") == 2, kinds
    text = nbformat.writes(nb)
    assert text.count(json.dumps(DuelCode._esm)[1:-1]) == 1
    saved = json.dumps(state) + json.dumps([c.outputs for c in nb.cells[1:]])
    for secret in ["secret", "seed=", "8800", "viduq2", ".mp4"]:
        assert secret not in saved, secret
    html = nb.cells[1].outputs[0].data["text/html"]
    assert "Blind duel by prompt" in html and "pair 1 of 3" in html  # the still
