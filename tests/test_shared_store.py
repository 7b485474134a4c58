"""The shared video store against real stores: a moto S3 server process on a loopback port
(reached through a loopback TCP relay that a test can take down and bring back) and a plain
shared folder; the videos come from the simulator, whose URLs expire or go away entirely."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from s3server import S3Server

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.errors import ValidationError
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.cache import DownloadError, VideoCache
from vidu_nb.tracking.recipe import read_sidecar
from vidu_nb.tracking.shared import StoreError, VideoStore

KEY, SECRET = "AKIDTEAMSTORE", "tEaMsEcReT-never-shown-0123456789"
BUCKET = "team-videos"


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> Iterator[S3Server]:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    server = S3Server(tmp_path_factory.mktemp("moto"))
    try:
        VideoStore(f"s3://{BUCKET}", options=options(server))._fsys().mkdir(BUCKET)
        yield server
    finally:
        server.relay.down()
        server.stop()


def options(server: S3Server) -> dict:
    return {"endpoint_url": server.endpoint, "key": KEY, "secret": SECRET}


@pytest.fixture(scope="module")
def made(tmp_path_factory, png_bytes_module) -> Iterator[tuple[Simulator, ViduClient, Task]]:
    """One finished task whose URLs expire one second after each query."""
    with Simulator(speed=200, url_ttl=1, video_height=64, seed=3) as sim:
        client = ViduClient.for_simulator(sim)
        task = client.wait(client.submit(Img2VideoRequest(image=png_bytes_module, duration=1)))
        assert task.succeeded
        yield sim, client, task
        client.close()


@pytest.fixture(scope="module")
def png_bytes_module() -> bytes:
    from simhelpers import image_bytes

    return image_bytes()


@pytest.fixture(params=["s3", "folder"])
def store(request, tmp_path) -> VideoStore:
    """A fresh store of each kind: its own prefix in the bucket, or its own folder."""
    if request.param == "folder":
        (tmp_path / "share").mkdir()
        return VideoStore(f"file://{tmp_path / 'share'}")
    server = request.getfixturevalue("s3")
    prefix = request.node.name.replace("[", "-").replace("]", "")
    return VideoStore(f"s3://{BUCKET}/{prefix}", options=options(server))


def until(cond, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while not (found := cond()) and time.monotonic() < end:
        time.sleep(0.05)
    return found


def fresh(task: Task, client: ViduClient) -> Task:
    """The task with URLs that work now (each query signs new ones)."""
    return client.get(task.id)


def test_upload_once_then_an_empty_cache_gets_the_files_from_the_store(
    store, made, tmp_path, request
):
    sim, client, task = made
    recipe = {"prompt": "a team's clip", "seed": 7}
    first = VideoCache(tmp_path / "a", shared=store, backoff=0.01)
    video, cover = first.fetch(fresh(task, client), client, recipe=recipe)
    assert first.uploads is not None and first.uploads.wait(30) == 0
    assert first.uploads.uploaded == 3  # video, its sidecar, cover
    there = store.sizes([video.name, video.with_suffix(".json").name, cover.name])
    assert there == {p.name: p.stat().st_size for p in (video, video.with_suffix(".json"), cover)}
    first.close()

    # another machine: an empty cache, the task's URLs long expired, no client to refresh
    time.sleep(1.2)
    second = VideoCache(tmp_path / "b", shared=store, backoff=0.01)
    got, got_cover = second.fetch(task, None, recipe=recipe)
    assert got.read_bytes() == video.read_bytes() and got.parent == tmp_path / "b"
    assert got_cover is not None and got_cover.read_bytes() == cover.read_bytes()
    assert read_sidecar(got) == read_sidecar(video)
    assert second.uploads is not None and second.uploads.pending() == []
    assert second.uploads.wait(5) == 0 and second.uploads.uploaded == 0
    second.close()
    # without the store the same fetch cannot work: the URL has expired
    with pytest.raises(DownloadError, match="expired"):
        VideoCache(tmp_path / "c", shared=False, backoff=0.01).fetch(task)
    if "s3" in request.node.name:
        s3 = request.getfixturevalue("s3")
        prefix = store.root.split("/", 1)[1]
        assert len(s3.requests("PUT", prefix)) == 3  # each file sent once, by the first cache


class Outage:
    """Takes a store down and brings it back: the S3 relay refuses connections, the shared
    folder goes away (as an unmounted share does)."""

    def __init__(self, store: VideoStore, request) -> None:
        self.store = store
        self.relay = request.getfixturevalue("s3").relay if store.protocol == "s3" else None
        self.folder = Path(store.root)

    def down(self) -> None:
        if self.relay is not None:
            self.relay.down()
        else:
            self.folder.rename(self.folder.with_name("away"))

    def up(self) -> None:
        if self.relay is not None:
            self.relay.up()
        elif not self.folder.exists():
            self.folder.with_name("away").rename(self.folder)


@pytest.fixture
def outage(store, request) -> Iterator[Outage]:
    out = Outage(store, request)
    yield out
    out.up()


def test_store_down_the_cache_works_and_uploads_when_it_is_back(
    store, outage, made, tmp_path, caplog, request
):
    sim, client, task = made
    caplog.set_level(logging.DEBUG, logger="vidu_nb")
    outage.down()
    cache = VideoCache(tmp_path / "a", shared=store, backoff=0.01)
    video, cover = cache.fetch(fresh(task, client), client)
    assert video.read_bytes() == sim.file_for(task.id, "video.mp4").read_bytes()
    assert cache.uploads is not None
    assert until(lambda: cache.uploads.last_error)  # tried, failed, retried later
    assert store.url in cache.uploads.last_error and len(cache.uploads.pending()) == 2
    assert cache.uploads.pending()[-1] == video.name  # the video goes last
    cache.uploads.close(30)  # the kernel ends with the store still down
    cache.close()

    # an empty cache while the store is down: the service's URL, as without a store
    other = VideoCache(tmp_path / "b", shared=store, backoff=0.01)
    got, _ = other.fetch(task, client)
    assert got.read_bytes() == sim.file_for(task.id, "video.mp4").read_bytes()
    assert other.uploads is not None
    other.uploads.close(30)

    # the next kernel finds what is owed and sends it once the store is back
    again = VideoCache(tmp_path / "a", shared=store, backoff=0.01)
    assert again.uploads is not None and again.uploads.pending() == cache.uploads.pending()
    outage.up()
    assert again.uploads.wait(30) == 0 and again.uploads.uploaded == 2
    names = [video.name, cover.name]
    assert store.sizes(names) == {n: (tmp_path / "a" / n).stat().st_size for n in names}
    assert SECRET not in caplog.text and KEY not in caplog.text
    if store.protocol == "s3":
        s3 = request.getfixturevalue("s3")
        assert len(s3.requests("PUT", store.root.split("/", 1)[1])) == 2


def test_a_second_download_leaves_the_stored_object_alone(store, made, tmp_path):
    """Two kernels of a team download the same task: the second finds the object in the store
    and sends nothing (same size: the object's ETag and LastModified stay as they were)."""
    sim, client, task = made
    a = VideoCache(tmp_path / "a", shared=store, backoff=0.01)
    video, _ = a.fetch(fresh(task, client), client)
    assert a.uploads is not None and a.uploads.wait(30) == 0
    before = _stat(store, video.name)
    b = VideoCache(tmp_path / "b", shared=store, backoff=0.01)
    assert b.uploads is not None and b.share_cached() == 0  # nothing cached there yet
    assert b.fetch(task, None)[0].read_bytes() == video.read_bytes()  # from the store
    b.share_cached()  # even asked to send what it holds: the store has it, same size
    assert b.uploads.wait(30) == 0 and b.uploads.uploaded == 0
    assert _stat(store, video.name) == before


def _stat(store: VideoStore, name: str) -> tuple:
    if store.protocol == "file":
        st = os.stat(Path(store.root) / name)
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    info = store._fsys().info(f"{store.root}/{name}")
    return (info["ETag"], info["LastModified"], info["size"])


def test_credentials_never_in_a_repr_a_message_or_a_log(s3, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="vidu_nb")
    store = VideoStore(f"s3://{BUCKET}/creds", options=options(s3))
    cache = VideoCache(tmp_path / "c", shared=store)
    shown = [repr(store), repr(cache), repr(cache.uploads)]
    (tmp_path / "x.mp4").write_bytes(b"x" * 100)
    s3.relay.down()
    try:
        with pytest.raises(StoreError) as down:
            store.put(tmp_path / "x.mp4")
    finally:
        s3.relay.up()
    shown.append(str(down.value))
    nowhere = VideoStore("s3://no-such-bucket-here", options=options(s3))
    with pytest.raises(StoreError) as missing:
        nowhere.put(tmp_path / "x.mp4")
    shown.append(str(missing.value))
    with pytest.raises(ValidationError) as in_url:
        VideoStore(f"s3://{KEY}:{SECRET}@{BUCKET}/p")
    shown.append(str(in_url.value))
    bad_json = json.dumps({"key": KEY, "secret": SECRET})[:-1]  # not closed
    with pytest.raises(ValidationError, match="VIDU_VIDEO_STORE_OPTIONS") as bad:
        VideoStore.from_env(
            {"VIDU_VIDEO_STORE": f"s3://{BUCKET}", "VIDU_VIDEO_STORE_OPTIONS": bad_json}
        )
    shown.append(str(bad.value))
    for text in [*shown, caplog.text]:
        assert SECRET not in text and KEY not in text
    assert "no-such-bucket-here" in str(missing.value) and "127.0.0.1" not in repr(store)


def test_the_store_from_the_environment_with_options_as_json(s3, tmp_path):
    env = {
        "VIDU_VIDEO_STORE": f"s3://{BUCKET}/from-env/",
        "VIDU_VIDEO_STORE_OPTIONS": json.dumps(options(s3)),
    }
    store = VideoStore.from_env(env)
    assert store is not None and store.url == f"s3://{BUCKET}/from-env"
    (tmp_path / "clip.mp4").write_bytes(b"v" * 1000)
    assert store.put(tmp_path / "clip.mp4") and not store.put(tmp_path / "clip.mp4")
    whole = VideoStore(f"s3://{BUCKET}", options=options(s3))  # the bucket's root, no prefix
    (tmp_path / "root-clip.mp4").write_bytes(b"r" * 10)
    assert whole.put(tmp_path / "root-clip.mp4") and whole.sizes(["root-clip.mp4"]) == {
        "root-clip.mp4": 10
    }
    assert whole.sizes(["clip.mp4"]) == {}  # under from-env/, not at the root
    assert VideoStore.from_env({}) is None
    folder = VideoStore.from_env({"VIDU_VIDEO_STORE": f"file://{tmp_path}"})
    assert folder is not None and folder.protocol == "file" and folder.root == str(tmp_path)
    for bad in ("s3://", "file://elsewhere/x", "s3://b/p?x=1", "nosuchproto://b/p"):
        with pytest.raises(ValidationError, match="VIDU_VIDEO_STORE"):
            VideoStore.from_env({"VIDU_VIDEO_STORE": bad})
    with pytest.raises(ValidationError, match="shared"):
        VideoCache(tmp_path, shared=3)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="name"):
        store.put(tmp_path / "clip.mp4", "../escape.mp4")


@pytest.mark.slow
def test_the_workspace_wires_the_store_and_its_poller_uploads_each_video(
    store, tmp_path, monkeypatch, png_bytes_module, request
):
    from vidu_nb.workspace import Workspace

    with Simulator(speed=200, video_height=64, seed=4) as sim:
        monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
        monkeypatch.setenv("VIDU_API_KEY", sim.api_key)
        monkeypatch.setenv("VIDU_VIDEO_STORE", store.url)
        if store.protocol == "s3":
            monkeypatch.setenv(
                "VIDU_VIDEO_STORE_OPTIONS", json.dumps(options(request.getfixturevalue("s3")))
            )
        with Workspace.from_env(log_path=tmp_path / "a" / "log.sqlite", measure=False) as ws:
            assert ws.cache is not None and ws.cache.shared is not None
            assert ws.cache.shared.url == store.url and ws.poller.cache is ws.cache
            sub = ws.submit(Img2VideoRequest(image=png_bytes_module, duration=1))
            assert ws.poller.wait_all(60)
            assert ws.cache.uploads is not None and ws.cache.uploads.wait(30) == 0
            task_id = sub.task_id()
            video = ws.cache.video_path(task_id)
            assert store.sizes([video.name]) == {video.name: video.stat().st_size}
            assert SECRET not in repr(ws) + repr(ws.cache)
        monkeypatch.setenv("VIDU_VIDEO_STORE_OPTIONS", "[1, 2]")
        with pytest.raises(ValidationError, match="VIDU_VIDEO_STORE_OPTIONS"):
            Workspace.from_env(log_path=tmp_path / "b" / "log.sqlite")


def test_a_player_without_the_file_gets_it_from_the_store_through_the_kernel(
    store, made, tmp_path, frontend, monkeypatch, request
):
    """Another machine: its log knows the task, its cache folder is empty, the service's URL
    has expired and there is no client to refresh it; the player plays the stored file."""
    from vidu_nb.tracking.tasklog import TaskLog
    from vidu_nb.ui.compare import show

    sim, client, task = made
    first = VideoCache(tmp_path / "a", shared=store)
    video, cover = first.fetch(fresh(task, client), client)
    assert first.uploads is not None and first.uploads.wait(30) == 0
    monkeypatch.setenv("VIDU_VIDEO_STORE", store.url)
    if store.protocol == "s3":
        monkeypatch.setenv(
            "VIDU_VIDEO_STORE_OPTIONS", json.dumps(options(request.getfixturevalue("s3")))
        )
    time.sleep(1.2)  # the URLs the log holds have expired
    with TaskLog(tmp_path / "b" / "log.sqlite") as log:
        log.update(task)
        grid = show(task.id, log=log)
        item = grid.items[0]
        assert item["video_local"] and item["video_url"] == ""  # the kernel serves it
        done = threading.Event()
        real = grid._send_blob
        grid._send_blob = lambda *a: (real(*a), done.set())
        grid.comm.from_browser({"type": "fetch", "key": item["key"], "what": "video"})
        assert done.wait(30)
        (msg, bufs), *_ = grid.comm.sent
        assert msg["type"] == "blob" and bufs == [video.read_bytes()]
        row = log.get(task.id)
        assert (log.path.parent / row["video_path"]).read_bytes() == video.read_bytes()
        assert Path(log.cache_dir, video.name).is_file()  # a local copy now
    assert cover is not None


def test_a_report_links_videos_by_presigned_urls_into_the_store(s3, made, tmp_path, monkeypatch):
    from vidu_nb.ui.reporting import report

    sim, client, task = made
    store = VideoStore(f"s3://{BUCKET}/reports", options=options(s3))
    page = report([fresh(task, client)], tmp_path / "r.html", client=client, videos="store",
                  store=store, expires=600)  # fmt: skip
    text = page.read_text()
    assert not (tmp_path / "r_files").exists()  # one page: videos linked, stills inside
    urls = [u for u in text.split('"') if u.startswith(s3.endpoint) and "Signature" in u]
    assert urls and "X-Amz-Expires=600" in urls[0]
    got = requests.get(urls[0].replace("&amp;", "&"), timeout=10, proxies={"http": ""})
    assert got.status_code == 200
    assert got.content[4:8] == b"ftyp" and SECRET not in text
    # elsewhere, with the URLs expired and no client: a copied report takes it from the store
    monkeypatch.setenv("VIDU_VIDEO_STORE", store.url)
    monkeypatch.setenv("VIDU_VIDEO_STORE_OPTIONS", json.dumps(options(s3)))
    time.sleep(1.2)
    copied = report([task], tmp_path / "elsewhere" / "copy.html", videos="copy")
    (stored,) = (copied.parent / "copy_files").glob("*.mp4")
    assert stored.read_bytes()[4:8] == b"ftyp"
    with pytest.raises(ValidationError, match="videos"):
        report([task], tmp_path / "x.html", videos="store", store=f"file://{tmp_path}")
    with pytest.raises(ValidationError, match="expires"):
        report([task], tmp_path / "x.html", videos="store", store=store, expires=10**7)


def test_a_resumed_poller_on_another_machine_takes_the_videos_from_the_store(
    store, tmp_path, png_bytes_module
):
    """The service is gone (its URLs too): a second machine's poller, resuming a log that
    knows the task but has no file of it, fills its cache from the store."""
    from vidu_nb.tracking.poller import Poller
    from vidu_nb.tracking.recipe import recipe_of
    from vidu_nb.tracking.tasklog import TaskLog

    with TaskLog(tmp_path / "b" / "log.sqlite") as log:
        with Simulator(speed=200, video_height=64, seed=5) as sim:
            client = ViduClient.for_simulator(sim)
            task = client.wait(client.submit(Img2VideoRequest(image=png_bytes_module, duration=1)))
            log.update(task)
            first = VideoCache(tmp_path / "a", shared=store)  # the first machine's poller's
            video, _ = first.fetch(task, client, recipe=recipe_of(log.get(task.id)))
            assert first.uploads is not None and first.uploads.wait(30) == 0
        assert log.missing_files() == [task.id]
        cache = VideoCache(log.cache_dir, shared=store)
        with Poller.resume(client, log, cache=cache, max_running=1, measure=False) as poller:
            assert poller.wait_all(60)
        assert log.missing_files() == []
        row = log.get(task.id)
        assert (log.path.parent / row["video_path"]).read_bytes() == video.read_bytes()
        assert cache.uploads is not None and cache.uploads.pending() == []  # owes nothing
        client.close()


def test_files_cached_before_the_store_are_queued_and_a_stray_marker_is_dropped(tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    for name, data in (("t1.mp4", b"v" * 50), ("t1.json", b"{}"), ("t1-cover.jpg", b"c")):
        (cache_dir / name).write_bytes(data)
    (cache_dir / "t1.sheet.jpg").write_bytes(b"derived: made again anywhere")
    (cache_dir / ".unshared").mkdir()
    (cache_dir / ".unshared" / "not a cache file.mp4").touch()  # no cache writes such a name
    cache = VideoCache(cache_dir, shared=f"file://{share}")
    assert cache.share_cached() == 3
    assert cache.uploads is not None and cache.uploads.wait(30) == 0
    assert sorted(p.name for p in share.iterdir()) == ["t1-cover.jpg", "t1.json", "t1.mp4"]
    assert (share / "t1.mp4").read_bytes() == b"v" * 50
