"""Outputs are snapshots, so views that settle after they were shown rewrite their stills: run in
a real kernel (nbclient) against the simulator, a sweep shown at submission and a form with a
submitted task are saved with their final state and contact sheets, not as they were shown."""

from __future__ import annotations

import re

import pytest
from saved_notebook import run_measuring

from vidu_nb.ui.static import OWN

SHEET = re.compile(r'<img class="vidu-still-sheet" src="data:image/jpeg;base64,')
CELLS = [
    "from vidu_nb import Img2VideoRequest\n"
    "from vidu_nb.request.sweep import sweep\n"
    "from vidu_nb.ui import form, run_sweep\n"
    "IMAGE = open('start.png', 'rb').read()",
    "f = form()\n"
    "f.state.image_data, f.state.prompt = IMAGE, 'a fox'\n"
    "f.state.model, f.state.duration = 'viduq2-turbo', 1\n"
    "f",
    "card = f.submit()",
    "base = Img2VideoRequest(image=IMAGE, model='viduq2-turbo', duration=1, prompt='a red fox')\n"
    "run = run_sweep(sweep(base, seeds=[1, 2, 3]), session=f.session, grid=False)\n"
    "run",
    "run.wait(60)\nassert f.session.poller.wait_all(60)",
    "1",  # any later cell: the form's still is rewritten after it
]


@pytest.mark.slow
def test_a_sweep_and_a_form_are_saved_settled(tmp_path, monkeypatch, png_bytes):
    from vidu_nb.simulator import Simulator

    (tmp_path / "start.png").write_bytes(png_bytes)
    with Simulator(speed=40.0, video_height=96) as sim:
        monkeypatch.setenv("VIDU_BASE_URL", sim.base_url)
        monkeypatch.setenv("VIDU_API_KEY", sim.api_key)
        monkeypatch.setenv("VIDU_LOG_PATH", str(tmp_path / "log.sqlite"))
        nb, _sizes = run_measuring(CELLS, tmp_path)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    form_html = nb.cells[1].outputs[0].data["text/html"]
    sweep_html = nb.cells[3].outputs[0].data["text/html"]
    assert "Submitted (1)" in form_html and " \u00b7 success</div>" in form_html
    assert len(SHEET.findall(form_html)) == 1
    assert (
        "3/3 finished (" in sweep_html
        and "3 done" in sweep_html
        and len(SHEET.findall(sweep_html)) == 3
    )
    assert nb.cells[3].outputs[0].data["text/plain"].startswith("SweepRun(")
    # Rewritten, each output is still marked ours: the pre-save hook splits those only.
    assert [nb.cells[i].outputs[0].metadata[OWN] for i in (1, 3)] == [{"still": True}] * 2
