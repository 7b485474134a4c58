"""Notebook UI: request form, task cards, synchronized players and comparison grids, sweeps.

Every view is built from small ipywidgets; their state and logic live in plain Python objects
(``FormState``, ``TaskView``, ``SweepPlan``) that are tested without a browser.
"""

from .compare import compare, show
from .form_state import FormResult, FormState
from .player import VideoGrid

__all__ = ["FormResult", "FormState", "VideoGrid", "compare", "show"]
