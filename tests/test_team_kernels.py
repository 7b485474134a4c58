"""Issue 13's "done": two notebooks in two kernels (real ipykernel processes, two users) on one
PostgreSQL log see each other's tasks, ratings and videos live. One simulator both use, one
shared video store (a folder), a local cache each. Kernel A (ana) sends a small sweep; kernel
B (ben) follows it in ``log.df`` and in live cards without asking the service about any of
them (the simulator's request log says who asked what, by User-Agent), rates one, and A's grid
shows the rating through A's log watcher; ``submitted_by`` names ana; B's player takes A's
video from the store (its cache was empty; each video was downloaded from the service once)."""

from __future__ import annotations

import hashlib
import json
import queue
from pathlib import Path

import jupyter_client.manager
import pytest
from conftest import make_image
from jupyter_harness import kernel_env

from vidu_nb.simulator import Simulator

#: Both kernels: the notebook's first cell (the workspace from the settings), its requests
#: marked with the kernel's name so the simulator's log says which kernel asked.
OPEN = """
import json, time
from vidu_nb import Workspace
from vidu_nb.ui.compare import compare
from vidu_nb.ui.card import card_for
from vidu_nb.ui.session import Session
ws = Workspace.from_env()
ws.client._transport.session.headers["User-Agent"] = {agent!r}
session = Session(ws.client, ws.log, ws.poller)

def until(check, timeout=45):
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)
"""

SEND = """
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.request.sweep import sweep
base = Img2VideoRequest(image=open({image!r}, "rb").read(), prompt="a fox", duration=1)
sent = ws.submit_many(sweep(base, seeds=[1, 2, 3]), experiment="team")
print(json.dumps([str(s) for s in sent]))
"""

FOLLOW = """
assert list(ws.cache.folder.glob("*.mp4")) == []   # nothing cached here yet
df = ws.log.df
refs = list(df["client_ref"])
cards = [card_for(ref, session) for ref in refs]
drawn = [c.view.state for c in cards]   # as first drawn: not finished yet
until(lambda: all("vidu-card-state-success" in c._dom_classes for c in cards))
until(lambda: set(ws.log.df["state"]) == {"success"})
df = ws.log.df
print(json.dumps({"ids": list(df["task_id"]), "users": sorted(set(df["submitted_by"])),
                  "cards": len(cards), "drawn": drawn}))
"""

GRID = """
assert ws.poller.wait_all(45)
assert ws.cache.uploads is None or ws.cache.uploads.wait(30) == 0   # in the store
grid = compare(ws.log.df, cols="seed", log=ws.log)
keys = {{i["key"].rsplit(":", 1)[1]: i["key"] for i in grid.items}}
watcher = ws.poller.team.watcher
print(json.dumps([grid.judgments[keys[{rated!r}]]["stars"], watcher.rounds]))
"""

RATE = """
ws.log.rate({rated!r}, stars=4, pick=True, note="ben: keep")
print("rated")
"""

SHOWN = """
until(lambda: grid.judgments[keys[{rated!r}]]["stars"] == 4)
print(json.dumps([grid.judgments[keys[{rated!r}]], watcher.rounds]))
"""

PLAY = """
bgrid = compare(ws.log.df, cols="seed", log=ws.log)
item = next(i for i in bgrid.items if i["key"].endswith({rated!r}))
data, mime = bgrid.resolve(item["key"], "video")
import hashlib
print(json.dumps([item["video_local"], mime, hashlib.sha256(data).hexdigest(),
                  [p.name for p in ws.cache.folder.glob("*.mp4")]]))
"""


class Kernel:
    """A real ipykernel process; ``run(code)`` returns what the code printed."""

    def __init__(self, env: dict[str, str]) -> None:
        self.manager, self.client = jupyter_client.manager.start_new_kernel(
            kernel_name="python3", env=env, startup_timeout=60
        )

    def run(self, code: str, timeout: float = 60) -> str:
        out: list[str] = []
        errors: list[str] = []

        def hook(msg: dict) -> None:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream" and content["name"] == "stdout":
                out.append(content["text"])
            elif kind == "error":
                errors.append("\n".join(content["traceback"]))

        try:
            reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        except queue.Empty:
            raise AssertionError(f"the kernel did not answer in {timeout} s") from None
        assert reply["content"]["status"] == "ok" and not errors, "\n".join(errors)
        return "".join(out)

    def json(self, code: str, timeout: float = 60):
        return json.loads(self.run(code, timeout).strip().splitlines()[-1])

    def close(self) -> None:
        self.run("ws.close()", timeout=60)
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def team(tmp_path, pg_server):
    url = pg_server.database("kernels")
    store = tmp_path / "store"
    store.mkdir()
    with Simulator(speed=10, video_height=32, seed=13) as sim:

        def env(user: str) -> dict[str, str]:
            home = tmp_path / user
            e = kernel_env(sim.base_url, sim.api_key, home)
            e.pop("VIDU_LOG_PATH")
            e.update(
                VIDU_LOG_URL=url, VIDU_VIDEO_STORE=str(store), JUPYTERHUB_USER=user,
                VIDU_CACHE_DIR=str(home / "cache"), HOME=str(home),
            )  # fmt: skip
            return e

        kernels: list[Kernel] = []
        try:
            kernels.append(Kernel(env("ana")))
            kernels.append(Kernel(env("ben")))
            yield sim, store, *kernels
        finally:
            for k in kernels:
                try:
                    k.close()
                except Exception:  # a kernel already broken: the test says why
                    k.manager.shutdown_kernel(now=True)
        pg_server.drop([url])


def test_two_kernels_of_two_users_see_each_others_tasks_ratings_and_videos(team, tmp_path):
    sim, store, a, b = team
    image = tmp_path / "start.png"
    image.write_bytes(make_image(96, 64))
    a.run(OPEN.format(agent="kernel-a"))
    b.run(OPEN.format(agent="kernel-b"))
    sent = a.json(SEND.format(image=str(image)))
    assert len(sent) == 3
    followed = b.json(FOLLOW)  # B's cards and log.df follow A's tasks to success
    ids = followed["ids"]
    assert len(ids) == 3 and followed["cards"] == 3
    assert "success" not in followed["drawn"], followed  # the cards followed them live
    assert followed["users"] == ["ana"]  # who asked for them
    rated = ids[1]
    before, rounds = a.json(GRID.format(rated=rated))
    assert before == 0
    assert b.run(RATE.format(rated=rated)).strip() == "rated"
    shown, after = a.json(SHOWN.format(rated=rated))  # A's grid, not redrawn
    assert shown == {"stars": 4, "pick": True, "note": "ben: keep", "text": "4/5 picked"}
    assert after - rounds <= 20  # a few of A's watcher rounds (0.5 s each), not a redraw
    local, mime, digest, cached = b.json(PLAY.format(rated=rated))
    assert local and mime == "video/mp4"  # B's kernel serves the file itself
    stored = next(p for p in Path(store).rglob("*.mp4") if rated in p.name)
    assert digest == hashlib.sha256(stored.read_bytes()).hexdigest()
    assert len(cached) == 1 and rated in cached[0]  # B's cache: the one video, from the store
    asked_a = [r.path for r in sim.requests if r.agent == "kernel-a"]
    assert any(i in p for p in asked_a for i in ids)  # A followed them (its marks are seen)
    asked_b = [r.path for r in sim.requests if r.agent == "kernel-b"]
    assert not any(i in p for p in asked_b for i in ids)  # B never asked about A's tasks
    videos = [r.path for r in sim.requests if r.path.endswith(".mp4")]
    assert len(videos) == len(set(videos)) == 3, videos  # each video downloaded once (by A)
