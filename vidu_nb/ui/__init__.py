"""Notebook UI: request form, task cards, synchronized players and comparison grids, A/B wipes,
blind duels, sweeps, and the standalone HTML report.

Every view is built from small ipywidgets; their state and logic live in plain Python objects
(``FormState``, ``TaskView``, ``SweepPlan``) that are tested without a browser. Names are
loaded on first use, so the widget-free modules (the report, used by the command line) never
pull in ipywidgets.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .card import TaskCard
    from .compare import compare, show
    from .credits import credits_figure, credits_table, credits_view
    from .duel import Duel, duel
    from .form import Img2VideoForm, form
    from .form_state import FormResult, FormState
    from .form_sweep import SweepPanel
    from .player import VideoGrid
    from .reporting import download_link, report
    from .session import Session
    from .sweeps import SweepRun, run_sweep
    from .wipe import Wipe, wipe

#: Where each public name lives.
_NAMES = {
    "TaskCard": "card",
    "compare": "compare",
    "show": "compare",
    "credits_figure": "credits",
    "credits_table": "credits",
    "credits_view": "credits",
    "Duel": "duel",
    "duel": "duel",
    "Img2VideoForm": "form",
    "form": "form",
    "FormResult": "form_state",
    "FormState": "form_state",
    "VideoGrid": "player",
    "download_link": "reporting",
    "report": "reporting",
    "Session": "session",
    "SweepPanel": "form_sweep",
    "SweepRun": "sweeps",
    "run_sweep": "sweeps",
    "Wipe": "wipe",
    "wipe": "wipe",
}


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'vidu_nb.ui' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # a name asked once is a plain attribute after
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_NAMES])


class _Package(types.ModuleType):
    """``compare`` and ``form`` are both modules and the functions they export. Importing the
    module ``vidu_nb.ui.compare`` makes Python set the package's ``compare`` to that module;
    loaded eagerly, the function was bound after and won. Loaded lazily, the function must
    still win: the package keeps its public names for what the modules export."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _NAMES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


__all__ = [
    "Duel",
    "FormResult",
    "FormState",
    "Img2VideoForm",
    "Session",
    "SweepPanel",
    "SweepRun",
    "TaskCard",
    "VideoGrid",
    "Wipe",
    "compare",
    "credits_figure",
    "credits_table",
    "credits_view",
    "download_link",
    "duel",
    "form",
    "report",
    "run_sweep",
    "show",
    "wipe",
]
