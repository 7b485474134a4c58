"""vidu-nb: experiment with Vidu image-to-video generation from Jupyter.

With no API key everything runs against a local simulator of the API, so nothing is charged.
"""

from typing import Any

from .account import CreditPackage, CreditRemain, Credits
from .callbacks import verify_callback, verify_callback_environ, verify_callback_url
from .client import AccountReader, TaskReader, TaskService, ViduClient
from .config import ClientConfig, Secret
from .embedded import LocalSimulatorWarning
from .errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    ConnectionFailed,
    CreditInsufficient,
    ImageError,
    NotFound,
    RateLimited,
    ServerError,
    SubmissionUncertain,
    TaskFailed,
    TaskLogError,
    ValidationError,
    ViduError,
    WaitTimeout,
)
from .images import StartImage, load_image
from .models import MODELS, ModelSpec, get_model
from .schedule import PollSchedule
from .spec import IgnoredFieldWarning, ImageFittedWarning, Img2VideoRequest, UnknownModelWarning
from .task import Creation, Task

__version__ = "0.1.0"

# The UI and the task log pull in ipywidgets, matplotlib and pandas: load them only when first
# asked for, so scripts, the CLI and the simulator start fast.
_UI_NAMES = {
    "form": "vidu_nb.ui",
    "Img2VideoForm": "vidu_nb.ui",
    "show": "vidu_nb.ui",
    "compare": "vidu_nb.ui",
    "run_sweep": "vidu_nb.ui",
    "report": "vidu_nb.ui.reporting",
    "LargeReportWarning": "vidu_nb.ui.reporting",
    "read_recipe": "vidu_nb.recipe",
    "credits_view": "vidu_nb.ui",
    "SweepPlan": "vidu_nb.sweep",
    "TaskLog": "vidu_nb.tasklog",
    "read_export": "vidu_nb.tasklog",
    "UncertainSubmissionsWarning": "vidu_nb.tasklog",
    "VideoCache": "vidu_nb.cache",
    "DownloadError": "vidu_nb.cache",
    "Ledger": "vidu_nb.ledger",
    "Estimate": "vidu_nb.ledger",
    "estimate": "vidu_nb.ledger",
    "Poller": "vidu_nb.poller",
    "CallbackReceiver": "vidu_nb.receiver",
    "PollerEvent": "vidu_nb.poller",
    "Timing": "vidu_nb.timing",
    "Forecast": "vidu_nb.timing",
}


def __getattr__(name: str) -> Any:
    module = _UI_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'vidu_nb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_UI_NAMES])


__all__ = [
    "AccountReader",
    "ClientConfig",
    "CreditPackage",
    "CreditRemain",
    "Credits",
    "LocalSimulatorWarning",
    "PollSchedule",
    "Secret",
    "TaskReader",
    "TaskService",
    "ViduClient",
    "verify_callback",
    "verify_callback_environ",
    "verify_callback_url",
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "ConnectionFailed",
    "CreditInsufficient",
    "Creation",
    "IgnoredFieldWarning",
    "ImageError",
    "ImageFittedWarning",
    "Img2VideoRequest",
    "MODELS",
    "ModelSpec",
    "NotFound",
    "RateLimited",
    "ServerError",
    "StartImage",
    "SubmissionUncertain",
    "Task",
    "TaskFailed",
    "TaskLogError",
    "UnknownModelWarning",
    "ValidationError",
    "ViduError",
    "WaitTimeout",
    "get_model",
    "load_image",
]
