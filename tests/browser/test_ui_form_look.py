"""The form in a real JupyterLab: fields share one width, the folded sections one column,
and a section's controls appear when it is first opened (they are built then)."""

from __future__ import annotations

import pytest

nbformat = pytest.importorskip("nbformat")

from .lab_page import open_notebook, run_all_cells, screenshot  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def width(locator) -> float:
    return locator.bounding_box()["width"]


def test_fields_share_one_width_and_sections_one_column(page, lab, artifacts):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("from vidu_nb.ui import form\nf = form()\nf")]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, lab.root / "form_look.ipynb")
    open_notebook(page, lab.url, "form_look.ipynb")
    run_all_cells(page)
    form = page.locator(".vidu-form")
    form.wait_for()
    fields = [
        ".vidu-field-image_url",
        ".vidu-field-prompt",
        ".vidu-field-model",
        ".vidu-field-seed",
    ]
    assert {round(width(form.locator(f))) for f in fields} == {420}
    sections = form.locator(".vidu-form-sections")
    assert 420 < width(sections) <= 640
    assert form.locator(".vidu-field-payload").count() == 0  # not built until opened
    sections.get_by_text("Advanced").click()
    payload = form.locator(".vidu-field-payload")
    payload.wait_for()
    assert (
        round(width(payload)) == 420
        and round(width(form.locator(".vidu-field-callback_url"))) == 420
    )
    prompt_x = form.locator(".vidu-field-prompt").bounding_box()["x"]
    assert abs(payload.bounding_box()["x"] - prompt_x) <= 4  # in line with the essentials
    payload.locator("textarea").fill("x" * 12)
    screenshot(page, artifacts, "form-advanced-open")
    sections.get_by_text("Sweep").click()
    prompts = form.locator(".vidu-sweep-panel textarea")
    prompts.wait_for()
    assert round(width(prompts)) <= 420
    form.locator(".vidu-sweep-panel").scroll_into_view_if_needed()
    screenshot(page, artifacts, "form-sweep-open")
