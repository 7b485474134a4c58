"""What the notebooks tell a reader (their source; ``test_notebooks`` runs them): the quickstart
reads the balance before anything is spent, and the analysis notebook says how tasks created
elsewhere get into the log."""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def cells(name: str, kind: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind]


def test_the_quickstart_shows_the_balance_right_after_connecting():
    code = cells("quickstart.ipynb", "code")
    connect = next(i for i, c in enumerate(code) if "ws = Workspace.from_env()" in c)
    balance = next(i for i, c in enumerate(code) if "client.credits()" in c)
    first_submit = next(i for i, c in enumerate(code) if "submit" in c)
    assert connect < balance < first_submit
    assert "except ViduError" in code[balance]  # a reseller without the endpoint: a note


def test_the_analysis_notebook_says_how_to_bring_in_tasks_from_elsewhere():
    text = "\n".join(cells("task_log_analysis.ipynb", "markdown"))
    assert "log.sync(client)" in text and "vidu-nb sync" in text
