"""Notebook UI: request form, task cards, synchronized players and comparison grids, sweeps.

Every view is built from small ipywidgets; their state and logic live in plain Python objects
(``FormState``, ``TaskView``, ``SweepPlan``) that are tested without a browser.
"""

from .card import TaskCard
from .compare import compare, show
from .credits import credits_figure, credits_table, credits_view
from .form import Img2VideoForm, form
from .form_state import FormResult, FormState
from .player import VideoGrid
from .reporting import download_link, report
from .session import Session
from .sweeps import SweepPanel, SweepRun, run_sweep

__all__ = [
    "FormResult",
    "FormState",
    "Img2VideoForm",
    "Session",
    "SweepPanel",
    "SweepRun",
    "TaskCard",
    "VideoGrid",
    "compare",
    "credits_figure",
    "credits_table",
    "credits_view",
    "download_link",
    "form",
    "report",
    "run_sweep",
    "show",
]
