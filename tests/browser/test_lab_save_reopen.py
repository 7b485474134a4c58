"""A notebook run and saved in JupyterLab set up as ``vidu-nb lab`` sets it up (widget state
saved, stills written apart by the pre-save hook), reopened after its kernel stopped: every
output shows either its widget drawn from the saved state or its still, never "Loading
widget..." or "Error displaying widget: model not found". And the report's download link in
that notebook downloads a report that plays.

One Lab run makes the notebook (a sweep of two videos, their grid, one player, the report); the
reopenings each cost a page load, not a generation.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import zipfile

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("playwright.sync_api")

from PIL import Image, ImageStat  # noqa: E402

from vidu_nb.cli.saved_stills import MARK  # noqa: E402
from vidu_nb.ui.static import OWN  # noqa: E402

from .conftest import unexpected_page_errors  # noqa: E402
from .lab_page import open_notebook, run_all_cells, screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NAME = "saved_in_lab.ipynb"
CELLS = [
    "import pathlib\n"
    "from vidu_nb import Img2VideoRequest, report\n"
    "from vidu_nb.request.sweep import sweep\n"
    "from vidu_nb.ui import compare, download_link, run_sweep, show\n"
    "IMAGE = pathlib.Path('sample.png').read_bytes()",
    "base = Img2VideoRequest(image=IMAGE, model='viduq2-turbo', duration=1, prompt='a red fox')\n"
    "run = run_sweep(sweep(base, seeds=[1, 2]), grid=False)\n"
    "run.wait(60)\n"
    "assert run.session.poller.wait_all(60)",
    "compare(run)",
    "show(run.task_views()[0].task_id, log=run.session.log)",
    "download_link(report(run, 'fox_report.html', videos='zip'))",
]
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Text a widget output shows when its widget cannot be drawn.
BROKEN = ("Loading widget", "Error displaying widget", "model not found")
SAVE = "() => window.jupyterapp.commands.execute('docmanager:save')"
STOP_KERNEL = "() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()"
VISIBLE_SHEETS = """() => [...document.querySelectorAll('img.vidu-still-sheet')]
  .filter(i => i.checkVisibility()).map(i => [i.complete, i.naturalWidth])"""


@pytest.fixture(scope="module")
def saved(lab, browser_context):
    """The notebook run in Lab, saved from Lab, its kernel stopped: the saved file's JSON."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / NAME)
    tab = browser_context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(f"{exc.name}: {exc.message}"))
    try:
        open_notebook(tab, lab.url, NAME)
        run_all_cells(tab)
        tab.wait_for_function("document.querySelectorAll('.vidu-grid video').length >= 3")
        tab.locator(".jp-OutputArea a[download]").wait_for(timeout=60_000)  # the last cell ran
        tab.evaluate(SAVE)
        tab.evaluate(STOP_KERNEL)
    finally:
        tab.close()
    assert not unexpected_page_errors("lab", errors), errors
    return json.loads((lab.root / NAME).read_text())


def test_lab_saves_the_widget_state_and_each_still_apart(saved):
    state = saved["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    outputs = [o for c in saved["cells"] for o in c.get("outputs", [])]
    views = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
    assert len(views) == 2  # the grid, the player
    assert all(o["data"][WIDGET_VIEW]["model_id"] in state for o in views)
    # Lab sends back our mark with each output: the hook splits only outputs that carry it.
    assert all(o["metadata"][OWN] == {"still": True} for o in views)
    assert all("text/html" not in o["data"] for o in views)  # the still went apart...
    stills = [o for o in outputs if MARK in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(stills) == 2  # ...into an output of its own, right after
    for cell in saved["cells"]:
        kinds = [WIDGET_VIEW in o.get("data", {}) for o in cell.get("outputs", [])]
        assert kinds in ([], [False], [True, False]), kinds


def write(
    saved, lab, name: str, *, kernel: bool = True, state: bool = True, trusted: bool = True
) -> None:
    """A copy of the saved notebook, trusted as Lab trusts what it saved; with ``kernel=False``
    it names no kernel (Lab asks which: "No Kernel"), ``state=False`` as saved with Save
    Widget State Automatically off, ``trusted=False`` as someone else's Lab opens it."""
    nb = copy.deepcopy(saved)
    if not kernel:
        nb["metadata"].pop("kernelspec", None)
        nb["metadata"].pop("language_info", None)
    if not state:
        nb["metadata"].pop("widgets", None)
    path = lab.root / name
    path.write_text(json.dumps(nb))
    if not trusted:
        return
    trust = [sys.executable, "-m", "nbformat.sign", str(path)]
    subprocess.run(trust, env=lab.env, check=True, capture_output=True)


def scroll_through(page) -> None:
    cells = page.locator(".jp-Notebook .jp-Cell")
    for i in range(cells.count()):  # Lab draws the cells that come into view
        cells.nth(i).scroll_into_view_if_needed()


def assert_nothing_broken(page) -> None:
    text = page.locator(".jp-Notebook").inner_text()  # what is shown, not what is hidden
    assert not [b for b in BROKEN if b in text], text


def open_no_kernel(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget")
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    dialog.get_by_role("button", name="No Kernel", exact=True).click()
    page.wait_for_selector(".jp-NotebookPanel .jp-OutputArea-output", state="attached")


def assert_stills_shown(page) -> None:
    scroll_through(page)
    page.wait_for_function(f"({VISIBLE_SHEETS})().length === 3")  # the grid's two, the player's
    page.wait_for_function(f"({VISIBLE_SHEETS})().every(([done]) => done)")
    assert all(w >= 300 for _done, w in page.evaluate(VISIBLE_SHEETS))
    assert page.locator(".vidu-grid").count() == 0  # no widget view was drawn
    assert_nothing_broken(page)


def brightness(png: bytes) -> float:
    return sum(ImageStat.Stat(Image.open(io.BytesIO(png)).convert("L")).mean)


#: The widget outputs settled: drawn, or lost (its text is there, hidden behind the still).
DRAWN = """() => document.querySelectorAll('.jp-OutputArea .vidu-grid video').length >= 3
  ? 'drawn' : [...document.querySelectorAll('.jp-OutputArea-output')]
      .some(e => e.textContent.includes('model not found')) ? 'lost' : ''"""


def test_reopened_with_a_new_kernel_draws_the_saved_widgets_on_their_posters(
    saved, page, lab, artifacts
):
    write(saved, lab, "reopened_kernel.ipynb")
    # Lab's widget manager loads the saved state once the kernel is ready; when its first try
    # fails, its retry skips the saved state (a race in Lab): then the stills stand in, and
    # opening again draws the widgets, as a user would.
    for _ in range(3):
        open_notebook(page, lab.url, "reopened_kernel.ipynb")
        scroll_through(page)
        page.wait_for_function(DRAWN)
        if page.evaluate(DRAWN) == "drawn":
            break
        assert_nothing_broken(page)  # lost: the stills stand in
    videos = page.locator(".jp-OutputArea .vidu-grid video")
    assert videos.count() == 3
    scroll_through(page)
    for i in range(3):  # a poster frame, not a black box
        videos.nth(i).scroll_into_view_if_needed()
        assert brightness(videos.nth(i).screenshot()) > 60
    assert page.evaluate(VISIBLE_SHEETS) == []  # the stills are there, hidden
    assert page.locator(f".{MARK}").count() == 2
    assert_nothing_broken(page)
    screenshot(page, artifacts, "lab-reopened-saved-widgets")


def test_reopened_with_no_kernel_shows_the_stills(saved, page, lab, artifacts):
    write(saved, lab, "reopened_no_kernel.ipynb", kernel=False)
    open_no_kernel(page, lab, "reopened_no_kernel.ipynb")
    assert_stills_shown(page)
    screenshot(page, artifacts, "lab-reopened-no-kernel")


def test_opened_untrusted_shows_the_stills(saved, page, lab, artifacts):
    write(saved, lab, "reopened_untrusted.ipynb", kernel=False, trusted=False)
    open_no_kernel(page, lab, "reopened_untrusted.ipynb")
    assert_stills_shown(page)
    screenshot(page, artifacts, "lab-reopened-untrusted")


def test_saved_without_widget_state_shows_the_stills_with_a_kernel(saved, page, lab, artifacts):
    write(saved, lab, "reopened_no_state.ipynb", state=False)
    open_notebook(page, lab.url, "reopened_no_state.ipynb")
    assert_stills_shown(page)
    screenshot(page, artifacts, "lab-reopened-no-state")


def test_the_download_link_downloads_a_report_that_plays(saved, page, lab, tmp_path):
    write(saved, lab, "reopened_link.ipynb", kernel=False)
    open_no_kernel(page, lab, "reopened_link.ipynb")
    link = page.locator(".jp-OutputArea a[download]")
    assert link.inner_text() == "Download fox_report.zip"
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.failure() is None and download.suggested_filename == "fox_report.zip"
    path = tmp_path / "fox_report.zip"
    download.save_as(path)
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        zf.extractall(tmp_path / "unzipped")
    assert "fox_report.html" in names and sum(n.endswith(".mp4") for n in names) == 2, names
    page.goto((tmp_path / "unzipped" / "fox_report.html").as_uri())
    page.wait_for_function(
        "() => [...document.querySelectorAll('video.vr-video')].length === 2 &&"
        " [...document.querySelectorAll('video.vr-video')].every(v => v.readyState >= 2)"
    )


def test_nbconvert_html_of_the_saved_notebook_shows_the_stills(saved, page, tmp_path):
    """What nbviewer shows of it (offline here: the widget scripts it links cannot load)."""
    nbconvert = pytest.importorskip("nbconvert")
    body, _resources = nbconvert.HTMLExporter().from_notebook_node(
        nbformat.reads(json.dumps(saved), as_version=4)
    )
    path = tmp_path / "saved.html"
    path.write_text(body, encoding="utf-8")
    page.route("http*://**", lambda route: route.abort())
    page.goto(path.as_uri())
    page.wait_for_function(f"({VISIBLE_SHEETS})().length === 3")
    page.wait_for_function(f"({VISIBLE_SHEETS})().every(([done]) => done)")
    text = page.inner_text("body")
    assert "a red fox" in text and not [b for b in BROKEN if b in text]
    assert "Download fox_report.zip" in text
