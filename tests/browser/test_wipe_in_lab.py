"""The A/B wipe in a real JupyterLab: the kernel sends both videos as buffers (blob URLs in
the page), the difference is drawn, the arrow keys move the divider (not Lab's cell
selection) and what the user set reaches the kernel's widget; one control plays both."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")

from videos import encode, ramp_video  # noqa: E402

from .lab_page import KERNEL_PRINT, open_notebook, run_all_cells, screenshot  # noqa: E402
from .wipe_page import PIXELS  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CELL = (
    "from pathlib import Path\n"
    "from vidu_nb import wipe\n"
    "w = wipe(Path('wipe-ramp.mp4'), Path('wipe-blue.mp4'), mode='difference')\n"
    "w"
)
READY = "w => [...w.querySelectorAll('video')].every(v => v.readyState >= 2 && v.src.startsWith('blob:'))"


def test_a_wipe_in_lab_gets_its_videos_from_the_kernel_and_syncs_back(page, lab, artifacts):
    ramp_video(lab.root / "wipe-ramp.mp4")
    encode(lab.root / "wipe-blue.mp4", "color=c=blue:s=160x90:d=5:r=24")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / "wipe.ipynb")
    open_notebook(page, lab.url, "wipe.ipynb")
    run_all_cells(page)
    wipe = page.locator(".jp-OutputArea .vidu-wipe")
    wipe.locator(".vidu-wipe-stage").wait_for()
    handle = wipe.element_handle()
    page.wait_for_function(READY, arg=handle, timeout=60_000)
    wipe_id = page.evaluate("w => (w.id ||= 'lab-wipe')", handle)
    page.wait_for_function(f"() => ({PIXELS})('{wipe_id}').mean[2] > 60")  # blue vs the ramp

    wipe.locator(".vidu-wipe-mode >> text=Wipe").click()
    wipe.locator(".vidu-wipe-divider").focus()
    active = page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex")
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    clip = wipe.locator(".vidu-wipe-a").evaluate("v => v.style.clipPath")
    assert clip == "inset(0px 60% 0px 0px)"
    assert page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex") == active
    assert page.evaluate(KERNEL_PRINT, "print(w.mode, w.split)") == "wipe 0.4"

    wipe.locator(".vidu-wipe-play").click()
    page.wait_for_function(
        "w => [...w.querySelectorAll('video')].every(v => !v.paused && v.currentTime > 0.5)",
        arg=handle,
    )
    assert page.evaluate(KERNEL_PRINT, "print(w.playing)") == "True"
    screenshot(page, artifacts, "wipe-in-lab")
