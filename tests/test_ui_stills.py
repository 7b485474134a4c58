"""Every display object's output carries, beside its widget view, a still: escaped HTML with the
videos' contact sheets (as ``<img>`` data URIs) and a text summary, which is what nbconvert,
nbviewer, GitHub and an untrusted JupyterLab show. Widgets are built without a browser."""

from __future__ import annotations

import base64
import html
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from videos import ramp_video
from waiting import until

from vidu_nb import Img2VideoRequest
from vidu_nb.client.task import Task
from vidu_nb.request.sweep import sweep
from vidu_nb.tracking import stills
from vidu_nb.ui import TaskCard, compare, credits_view, form, run_sweep, show
from vidu_nb.ui.form_state import FormState
from vidu_nb.ui.static import OWN

VIEW = "application/vnd.jupyter.widget-view+json"
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
IMG = re.compile(r'<img class="vidu-still-sheet" src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"')


def bundle_of(widget) -> dict:
    """The output's data; its metadata marks it as ours, the one mark the pre-save hook splits
    a still from its widget by (other libraries' widget outputs are left as they came)."""
    data, meta = widget._repr_mimebundle_()
    assert meta[OWN] == {"still": True}
    return data


def sheets_in(markup: str) -> list[Image.Image]:
    """The JPEG images the HTML carries, decoded (so each is a real picture)."""
    out = []
    for data in IMG.findall(markup):
        with Image.open(io.BytesIO(base64.b64decode(data))) as im:
            assert im.format == "JPEG"
            im.load()
            out.append(im.copy())
    return out


def assert_no_raw_markup(markup: str) -> None:
    """The hostile text appears only escaped: no tag or attribute of it survives."""
    assert "<script" not in markup and "<img src=x" not in markup and HOSTILE not in markup


def row(i: int, video=None, prompt="a fox in the snow", state="success", **kw) -> dict:
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    base = {
        "task_id": f"t{i}",
        "state": state,
        "model": "viduq2-pro",
        "prompt": prompt,
        "seed": i,
        "duration": 5,
        "resolution": "720p",
        "credits": 10,
        "submitted_at": t0,
        "finished_at": t0 + timedelta(seconds=42),
        "video_path": str(video) if video else None,
    }
    base.update(kw)
    return base


@pytest.fixture
def videos(tmp_path):
    return [ramp_video(tmp_path / f"v{i}.mp4", seconds=2) for i in range(3)]


def test_a_grid_carries_a_sheet_per_video_and_an_escaped_summary(videos):
    rows = [row(i, v, prompt=HOSTILE) for i, v in enumerate(videos)]
    grid = compare(rows, cols="seed")
    data = bundle_of(grid)
    assert data[VIEW]["model_id"] == grid.model_id  # the live view still wins where it can
    markup = data["text/html"]
    sheets = sheets_in(markup)
    assert len(sheets) == 3 and all(im.width >= stills.MIN_WIDTH for im in sheets)
    assert_no_raw_markup(markup)
    assert html.escape(HOSTILE[:20]) in markup
    for i in range(3):
        assert f"<b>seed={i}</b> \u00b7 success" in markup
    text = data["text/plain"].splitlines()
    assert text[0] == "VideoGrid(3 players)" and len(text) == 4
    assert "seed=1 \u00b7 success" in text[2] and "10 credits" in text[2] and "42 s" in text[2]
    # Each player starts on a frame of its sheet, which needs no kernel to show.
    posters = [grid.posters[item["key"]] for item in grid.items]
    assert all(p.startswith("data:image/jpeg;base64,") for p in posters)


def test_rows_and_cols_headers_name_each_still(videos):
    rows = [row(i, v, prompt=p) for i, (v, p) in enumerate(zip(videos, "aab", strict=True))]
    markup = bundle_of(compare(rows, rows="prompt", cols="seed"))["text/html"]
    assert "<b>\u201ca\u201d \u00b7 seed=0</b>" in markup
    assert "<b>\u201cb\u201d \u00b7 seed=2</b>" in markup
    assert len(sheets_in(markup)) == 3  # the empty cells of the table have no still


def test_show_of_one_task_and_of_a_task_without_a_video(videos, png_path):
    one = bundle_of(show(row(0, videos[0])))
    assert len(sheets_in(one["text/html"])) == 1 and "<b>t0</b>" in one["text/html"]
    # No video on disk: the cover makes a one-frame sheet; nothing at all: words only.
    cover = bundle_of(show(row(1, cover_path=str(png_path))))
    assert len(sheets_in(cover["text/html"])) == 1
    grid = show(row(2, state="processing", finished_at=None))
    bare = bundle_of(grid)
    assert sheets_in(bare["text/html"]) == [] and "t2</b> \u00b7 processing" in bare["text/html"]
    assert grid.posters == {}


def test_an_empty_grid_says_why_and_a_closed_one_shows_nothing():
    grid = compare([])
    data = bundle_of(grid)
    assert "Nothing to compare" in data["text/html"] and "Nothing to compare" in data["text/plain"]
    grid.close()
    assert grid._repr_mimebundle_ is None  # ipywidgets' mark of a closed widget
    assert grid.refresh_still() is False
    grid._ipython_display_()  # shows its repr, as for any object; raises nothing


def test_a_card_carries_its_state_and_once_succeeded_its_sheet(videos):
    done = bundle_of(TaskCard(row(0, videos[0], prompt=HOSTILE)))
    assert VIEW in done and len(sheets_in(done["text/html"])) == 1
    assert_no_raw_markup(done["text/html"])
    assert done["text/plain"].startswith("TaskCard(t0: success)")
    failed = TaskCard(row(1, state="failed", err_code="<b>Audit</b>", error=HOSTILE))
    data = bundle_of(failed)
    assert sheets_in(data["text/html"]) == [] and "&lt;b&gt;Audit&lt;/b&gt;" in data["text/html"]
    assert_no_raw_markup(data["text/html"])
    assert "<b>Audit</b>" in data["text/plain"]  # plain text is not markup


def test_the_form_carries_its_request_escaped_and_no_image(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIDU_LOG_PATH", raising=False)
    f = form(state=FormState(prompt=HOSTILE, seed_mode="fixed", seed=7, model="viduq2-turbo"))
    data = bundle_of(f)
    markup = data["text/html"]
    assert VIEW in data and "<table" in markup and sheets_in(markup) == []
    assert_no_raw_markup(markup)
    assert html.escape(HOSTILE) in markup
    assert ">viduq2-turbo</td>" in markup and ">7</td>" in markup
    assert "to submit, fix: image" in markup  # what is missing, said
    assert "prompt: <script>" in data["text/plain"]


def test_a_submitted_form_and_a_sweep_carry_their_tasks_sheets(live, png_bytes):
    _sim, client, log, poller = live
    f = form(client, log, poller)
    f.state.image_data, f.state.prompt = png_bytes, HOSTILE
    f.state.model, f.state.duration = "viduq2-turbo", 1
    card = f.submit()
    assert card is not None and poller.wait_all(30)
    assert until(lambda: log.get(card.task_id) and log.get(card.task_id)["video_path"])
    markup = bundle_of(f)["text/html"]
    assert "Submitted (1)" in markup and len(sheets_in(markup)) == 1
    assert_no_raw_markup(markup)

    base = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    run = run_sweep(sweep(base, seeds=[1, 2, 3]), poller=poller, experiment="e<1>")
    run.wait(30)
    assert until(lambda: all(v.get("video_path") for v in run.task_views()))
    data = bundle_of(run)
    assert "<b>Sweep e&lt;1&gt;</b>: 3/3 finished" in data["text/html"]
    assert len(sheets_in(data["text/html"])) == 3
    assert data["text/plain"].startswith("SweepRun(e<1>: 3/3 finished)")


def test_the_credits_view_carries_the_table_and_the_chart(live, png_bytes):
    _sim, client, log, poller = live
    request = Img2VideoRequest(image=png_bytes, model="viduq2-turbo", duration=1)
    poller.submit(request, experiment=HOSTILE)
    assert poller.wait_all(30)
    log.update(Task(id="by-hand", state="success", credits=7))
    data = bundle_of(credits_view(log, by="experiment"))
    markup = data["text/html"]
    assert VIEW in data and "<table" in markup and 'src="data:image/png;base64,' in markup
    assert_no_raw_markup(markup)
    chart = re.search(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', markup).group(1)
    with Image.open(io.BytesIO(base64.b64decode(chart))) as im:
        assert im.format == "PNG" and im.width > 400
    assert data["text/plain"].startswith("CreditsView")


def test_a_player_can_get_its_stills_later_without_a_rebuild(videos):
    grid = show(row(0, videos[0]), stills_later=True)  # as a card does on the poller's thread
    assert until(lambda: grid.posters)
    (key,) = grid.posters
    assert key == grid.items[0]["key"] and len(sheets_in(bundle_of(grid)["text/html"])) == 1
    changes = []
    grid.observe(lambda c: changes.append(c.name), names=["items", "posters"])
    grid.set_stills([None])
    assert changes == ["posters"]  # the players are not sent again (the browser rebuilds them)


def test_a_big_grid_carries_sheets_of_the_first_videos_only(tmp_path, videos, monkeypatch):
    from vidu_nb.ui import static

    monkeypatch.setattr(static, "MAX_SHEETS", 2)  # as for a grid of hundreds of videos
    grid = compare([row(i, v) for i, v in enumerate(videos)], cols=3)
    markup = bundle_of(grid)["text/html"]
    assert len(sheets_in(markup)) == 2 and "first 2 of 3 videos" in markup
    assert "<b>seed=2</b> \u00b7 success" in markup  # the third in words
    assert len(grid.posters) == 2
