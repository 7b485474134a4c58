"""The standalone report from a sweep run on the simulator: well-formed and escaped HTML,
parameters and totals, videos copied with their recipe, embedded or zipped, bad input refused.
(Playing it in Chromium: ``tests/browser/test_report.py``.)"""

from __future__ import annotations

import ast
import base64
import html
import json
import zipfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from PIL import Image
from report_sweep import CALM_PROMPT, HOSTILE_EXPERIMENT, HOSTILE_PROMPT, read_html, swept
from simhelpers import image_bytes

import vidu_nb
from vidu_nb import Img2VideoRequest, ValidationError
from vidu_nb.tracking.recipe import read_recipe, read_sidecar, recipe_of
from vidu_nb.ui import report_files, reporting
from vidu_nb.ui.report_page import script_hash


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    with swept(tmp_path_factory.mktemp("sweep"), duration=1) as stack:
        yield stack


def ids_of(log) -> list[str]:
    return list(log.to_frame(experiment=HOSTILE_EXPERIMENT)["task_id"])


def test_a_sweep_report_is_well_formed_escaped_and_complete(sweep_run, tmp_path):
    run, log, _client, _sim = sweep_run
    out = vidu_nb.report(run, tmp_path / "report.html")
    assert out == tmp_path / "report.html"
    text = out.read_text(encoding="utf-8")
    page = read_html(text)
    # Escaped: the hostile texts are text, never markup.
    assert page.handlers == [] and len(page.scripts) == 2
    assert page.all("script", None)[0].get("type") == "application/json"
    assert not page.all("svg") and len(page.all("img")) == 4  # the 4 stills, nothing injected
    assert HOSTILE_PROMPT not in text and "<svg" not in text
    words = "".join(page.text)
    assert HOSTILE_PROMPT in words and HOSTILE_EXPERIMENT in words
    assert f"<title>{html.escape(HOSTILE_EXPERIMENT)}</title>" in text
    # The page's script is the only one allowed to run, by its hash.
    csp = page.all("meta")[1]["content"]
    assert f"script-src {script_hash(page.scripts[1])}" in csp and "default-src 'none'" in csp
    # Laid out by the swept parameters: rows by prompt, columns by seed.
    heads = [a for t, a in page.tags if t == "div" and "vr-colhead" in a.get("class", "")]
    assert len(heads) == 2 and len(page.all("div", "vr-rowhead")) == 2
    assert "seed=1" in words and "seed=2" in words
    # Every task: its video, still, poster and parameters (the recipe, as the data block has).
    frame = log.to_frame(experiment=HOSTILE_EXPERIMENT)
    cells = page.all("figure", "vr-cell")
    assert sorted(c["data-task-id"] for c in cells) == sorted(frame["task_id"])
    data = json.loads(page.scripts[0])["tasks"]
    for row in frame.to_dict("records"):
        recipe = recipe_of(log.get(row["task_id"]))
        assert recipe_of(row) == recipe  # the DataFrame and the log row agree
        assert recipe | {"state": "success"} in data
        for key in ("task_id", "model", "seed", "duration", "resolution", "created_at"):
            assert str(recipe[key]) in words
    assert len(page.all("video", "vr-video")) == 4 and len(page.all("details")) == 4
    # Totals: the credits charged, video seconds, per prompt and for all.
    total = int(frame["credits"].sum())
    lines = [r for r in text.split("<tr>") if r.startswith("<td>all</td>")]
    assert (
        len(lines) == 1 and f"<td>4</td><td>4</td><td>0</td><td>0</td><td>{total}</td>" in lines[0]
    )
    assert text.count("<td>\u201cwaves roll onto the beach at dusk\u201d</td><td>2</td>") == 1


def test_copied_videos_carry_their_recipe_and_links_resolve(sweep_run, tmp_path):
    run, log, _client, _sim = sweep_run
    out = vidu_nb.report(run, tmp_path / "my report.html")
    page = read_html(out.read_text(encoding="utf-8"))
    folder = tmp_path / "my report_files"
    links = [a["src"] for a in page.all("video")] + [a["poster"] for a in page.all("video")]
    links += [a["src"] for a in page.all("img")]
    assert len(links) == 12
    for link in links:
        assert link.startswith("my%20report_files/") and (tmp_path / unquote(link)).is_file()
    for video in sorted(folder.glob("*.mp4")):
        recipe = read_recipe(video)
        assert recipe == read_sidecar(video) == recipe_of(log.get(recipe["task_id"]))
        assert recipe["experiment"] == HOSTILE_EXPERIMENT
        assert recipe["prompt"] in (HOSTILE_PROMPT, CALM_PROMPT)
    assert len(list(folder.glob("*.mp4"))) == 4 and len(list(folder.glob("*.json"))) == 4
    for sheet in folder.glob("*-sheet.jpg"):  # a contact sheet: frames side by side, labelled
        with Image.open(sheet) as im:
            assert im.format == "JPEG" and im.width > 3 * im.height
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_writing_again_replaces_the_report_folder_but_never_a_folder_of_anything_else(
    sweep_run, tmp_path
):
    run, log, _client, _sim = sweep_run
    vidu_nb.report(run, tmp_path / "r.html")
    stale = tmp_path / "r_files" / "stale.mp4"
    stale.write_bytes(b"from an older report")
    first_two = log.to_frame(experiment=HOSTILE_EXPERIMENT).head(2)
    vidu_nb.report(first_two, tmp_path / "r.html", log=log)
    assert not stale.exists() and len(list((tmp_path / "r_files").glob("*.mp4"))) == 2
    mine = tmp_path / "other_files"
    mine.mkdir()
    (mine / "holiday.mp4").write_bytes(b"keep me")
    with pytest.raises(ValidationError, match="not a report's"):
        vidu_nb.report(run, tmp_path / "other.html")
    assert (mine / "holiday.mp4").read_bytes() == b"keep me"
    assert not (tmp_path / "other.html").exists()


def test_embed_puts_everything_in_one_file_and_warns_when_large(sweep_run, tmp_path, monkeypatch):
    run, log, _client, _sim = sweep_run
    out = vidu_nb.report(run, tmp_path / "one.html", videos="embed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.html"]
    page = read_html(out.read_text(encoding="utf-8"))
    sources = [a["src"] for a in page.all("video")]
    assert len(sources) == 4 and all(s.startswith("data:video/mp4;base64,") for s in sources)
    assert all(a["src"].startswith("data:image/jpeg;base64,") for a in page.all("img"))
    embedded = tmp_path / "embedded.mp4"
    embedded.write_bytes(base64.b64decode(sources[0].split(",", 1)[1]))
    assert read_recipe(embedded)["experiment"] == HOSTILE_EXPERIMENT  # the recipe goes along
    monkeypatch.setattr(report_files, "EMBED_WARN_BYTES", 10_000)
    with pytest.warns(reporting.LargeReportWarning, match="more than") as caught:
        vidu_nb.report(run, tmp_path / "big.html", videos="embed")
    assert len(caught) == 1  # once per report, not once per file


def test_zip_holds_the_page_and_its_files(sweep_run, tmp_path):
    run, log, _client, _sim = sweep_run
    out = vidu_nb.report(run, tmp_path / "sweep.html", videos="zip")
    assert out == tmp_path / "sweep.zip" and sorted(p.name for p in tmp_path.iterdir()) == [
        "sweep.zip"
    ]
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        page = read_html(zf.read("sweep.html").decode("utf-8"))
        links = [a["src"] for a in page.all("video")] + [a["src"] for a in page.all("img")]
        assert links and all(unquote(link) in names for link in links)
        assert zf.getinfo(unquote(links[0])).compress_type == zipfile.ZIP_STORED
        assert sum(n.endswith(".json") for n in names) == 4
        zf.extractall(tmp_path / "unzipped")
    video = next((tmp_path / "unzipped" / "sweep_files").glob("*.mp4"))
    assert read_recipe(video)["task_id"] in ids_of(log)
    named = vidu_nb.report(run, tmp_path / "named.zip", videos="zip")
    with zipfile.ZipFile(named) as zf:
        assert "named.html" in zf.namelist()


def test_a_slice_of_the_log_an_experiment_name_and_experiment_keyword(sweep_run, tmp_path):
    run, log, _client, _sim = sweep_run
    frame = log.to_frame(experiment=HOSTILE_EXPERIMENT)
    one_seed = frame[frame["seed"] == 1]
    out = vidu_nb.report(one_seed, tmp_path / "slice.html", log=log, cols="prompt")
    page = read_html(out.read_text(encoding="utf-8"))
    assert len(page.all("figure")) == 2 and len(page.all("div", "vr-colhead")) == 2
    assert not page.all("div", "vr-rowhead")
    by_name = vidu_nb.report(HOSTILE_EXPERIMENT, tmp_path / "name.html", log=log)
    by_keyword = vidu_nb.report(experiment=HOSTILE_EXPERIMENT, path=tmp_path / "kw.html", log=log)
    for path in (by_name, by_keyword):
        page = read_html(path.read_text(encoding="utf-8"))
        assert len(page.all("figure")) == 4 and len(page.all("div", "vr-rowhead")) == 2
    by_ids = vidu_nb.report(ids_of(log)[:3], tmp_path / "ids.html", log=log, cols=3)
    assert len(read_html(by_ids.read_text(encoding="utf-8")).all("figure")) == 3


def test_a_failed_task_and_a_video_not_downloaded_yet(sweep_run, tmp_path):
    _run, log, client, sim = sweep_run
    request = Img2VideoRequest(image=image_bytes(), model="viduq2-turbo", duration=1, seed=9)
    sim.faults.add("task_failure", count=1, err_code="AuditSubmitIllegal")
    failed = client.submit(request)
    log.record_submission(request, failed, experiment="mixed")
    log.update(client.wait(failed, timeout=60, raise_on_failure=False))
    fresh = client.submit(request.replace(seed=10))
    log.record_submission(request.replace(seed=10), fresh, experiment="mixed")
    log.update(client.wait(fresh, timeout=60))  # succeeded, but nothing downloaded it
    assert log.get(fresh.id)["video_path"] is None
    out = vidu_nb.report(experiment="mixed", path=tmp_path / "mixed.html", log=log)
    text = out.read_text(encoding="utf-8")
    page = read_html(text)
    assert len(page.all("video")) == 1  # the failed task has none
    assert "failed: AuditSubmitIllegal" in "".join(page.text)
    assert "<td>all</td><td>2</td><td>1</td><td>1</td><td>0</td>" in text
    cached = Path(log.get(fresh.id)["video_path"])  # downloaded into the log's cache on the way
    assert cached.is_file() and read_recipe(cached)["task_id"] == fresh.id


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"videos": "inline"}, "videos"),
        ({"rows": "colour"}, "rows"),
        ({"title": 3}, "title"),
        ({"path": "x.zip"}, "path"),
        ({"path": ""}, "path"),
    ],
)
def test_bad_arguments_are_refused_naming_them(sweep_run, tmp_path, kwargs, field):
    run, *_ = sweep_run
    kwargs = {"path": tmp_path / "r.html", **kwargs}
    with pytest.raises(ValidationError) as info:
        vidu_nb.report(run, **kwargs)
    assert info.value.field == field
    assert list(tmp_path.iterdir()) == []  # checked before anything is written


def test_nothing_to_report_and_missing_log_are_refused(sweep_run, tmp_path):
    _run, log, *_ = sweep_run
    with pytest.raises(ValidationError, match="nothing to report"):
        vidu_nb.report(log.to_frame(experiment="no such"), tmp_path / "r.html", log=log)
    with pytest.raises(ValidationError) as info:
        vidu_nb.report(experiment="x", path=tmp_path / "r.html")
    assert info.value.field == "log"
    with pytest.raises(ValidationError) as info:
        vidu_nb.report(None, tmp_path / "r.html")
    assert info.value.field == "tasks"
    with pytest.raises(ValidationError) as info:
        vidu_nb.report(tmp_path, tmp_path / "r.html")  # the report's path given as tasks
    assert info.value.field == "tasks"
    assert list(tmp_path.iterdir()) == []


def test_the_report_writer_imports_no_widgets():
    """The command line writes reports: its modules must not pull in ipywidgets/anywidget."""
    ui = Path(vidu_nb.__file__).parent / "ui"
    modules = ("reporting.py", "report_files.py", "report_cells.py", "report_page.py")
    for name in (*modules, "grid_layout.py", "../tracking/stills.py", "../tracking/recipe.py"):
        tree = ast.parse((ui / name).read_text(encoding="utf-8"))
        imported = {
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        widgets = {"ipywidgets", "anywidget", "player", "compare", "ui"}
        assert not widgets & {m.split(".")[-1] for m in imported}, (name, imported)


def test_videos_keep_native_controls_for_a_viewer_that_blocks_the_script(sweep_run, tmp_path):
    run, *_ = sweep_run
    page = read_html(vidu_nb.report(run, tmp_path / "r.html").read_text(encoding="utf-8"))
    assert all("controls" in a for a in page.all("video"))  # the script removes them


def test_download_link_downloads_a_file_of_the_notebook_folder(tmp_path, monkeypatch):
    from vidu_nb.ui import download_link

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "my report #1.zip").write_bytes(b"PK")
    link = download_link(tmp_path / "sub" / "my report #1.zip")  # absolute: made relative
    assert link._repr_html_() == (
        '<a href="sub/my%20report%20%231.zip" download="my report #1.zip">'
        "Download my report #1.zip</a>"
    )
    assert repr(link) == str(tmp_path / "sub" / "my report #1.zip")
    hostile = download_link("<img src=x onerror=alert(1)>.zip")
    assert "<img" not in hostile._repr_html_() and "is not there" in hostile._repr_html_()


def test_tasks_from_the_service_without_a_log(sweep_run, tmp_path):
    _run, _log, client, _sim = sweep_run
    request = Img2VideoRequest(image=image_bytes(), model="viduq2-turbo", duration=1, seed=3)
    task = client.wait(client.submit(request), timeout=60)
    out = vidu_nb.report([task], tmp_path / "t.html")  # downloaded straight into the report
    page = read_html(out.read_text(encoding="utf-8"))
    assert [a["data-task-id"] for a in page.all("figure")] == [task.id]
    video = next((tmp_path / "t_files").glob("*.mp4"))
    expected = {"task_id": task.id, "model": "viduq2-turbo", "seed": 3, "duration": 1}
    assert expected.items() <= read_recipe(video).items()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.html", "t_files"]


def run_python(code: str) -> str:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return out.stdout.strip()


def test_the_ui_package_loads_on_first_use_and_keeps_functions_over_modules():
    """The report (and so the command line) imports no widget library; ``compare`` and
    ``form`` are still the functions even after their modules were imported by name."""
    widgets = "[m for m in ('ipywidgets', 'anywidget', 'matplotlib') if m in sys.modules]"
    assert run_python(f"import sys; from vidu_nb.ui import report; print({widgets})") == "[]"
    assert run_python(
        "import vidu_nb.ui.compare, vidu_nb.ui.form, vidu_nb.ui as ui\n"
        "from vidu_nb.ui import compare, form\n"
        "print(compare is ui.compare, type(compare).__name__, type(form).__name__)"
    ) == ("True function function")
