"""A displayed form costs the saved notebook little: few widget models, a few tens of KB.

Measured with nbclient in a real kernel, like ``test_ui_notebook`` does for players.
"""

from __future__ import annotations

import json

import pytest
from saved_notebook import run_measuring

#: Measured growth of the saved notebook (bytes, widget models). Before the folded sections were
#: built lazily and widgets shared their Layout/style objects: form 249 KB / 234 models, the
#: same after opening every section (the whole quickstart run: ~260 KB / 236). Now: form
#: 59 KB / 61 models; every section opened 97 KB / 103 (the quickstart run: 79 KB / 63).
#: The Advanced section's watermark, corner, mark image and meta_data fields add 12 models
#: (control, message, row each): every section opened 107 KB / 115.
FORM_MAX = (70_000, 70)
OPENED_MAX = (125_000, 125)


@pytest.mark.slow
def test_a_displayed_form_adds_few_widgets_to_the_saved_notebook(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no default task log here: the form opens none
    monkeypatch.delenv("VIDU_LOG_PATH", raising=False)
    cells = [
        "from vidu_nb.ui import form",
        "f = form()\nf",
        "for i in range(len(f.sections.children)):\n    f.sections.selected_index = i",
    ]
    nb, sizes = run_measuring(cells, tmp_path)
    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    form_bytes, form_models = sizes[1][0] - sizes[0][0], sizes[1][1] - sizes[0][1]
    opened_bytes, opened_models = sizes[2][0] - sizes[0][0], sizes[2][1] - sizes[0][1]
    print(json.dumps({"form": [form_bytes, form_models], "opened": [opened_bytes, opened_models]}))
    assert form_bytes < FORM_MAX[0] and form_models < FORM_MAX[1]
    assert opened_bytes < OPENED_MAX[0] and opened_models < OPENED_MAX[1]
