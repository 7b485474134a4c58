"""vidu-nb: experiment with Vidu image-to-video generation from Jupyter.

With no API key everything runs against a local simulator of the API, so nothing is charged.
"""

from typing import Any

from .client.account import CreditPackage, CreditRemain, Credits
from .client.callbacks import verify_callback, verify_callback_environ, verify_callback_url
from .client.config import ClientConfig, Secret
from .client.core import AccountReader, TaskReader, TaskService, ViduClient
from .client.schedule import PollSchedule
from .client.task import Creation, Task
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
from .request.images import StartImage, load_image
from .request.models import MODELS, ModelSpec, get_model
from .request.spec import (
    IgnoredFieldWarning,
    ImageFittedWarning,
    Img2VideoRequest,
    UnknownModelWarning,
)
from .workspace import Workspace
from .workspace.embedded import LocalSimulatorWarning
from .workspace.embedded import install as _install_default_server

__version__ = "0.1.0"

# With no key and no base URL, ViduClient() asks the client layer's default server: the
# embedded local simulator, which only the workspace layer may start.
_install_default_server()

# The UI and the task log pull in ipywidgets, matplotlib and pandas: load them only when first
# asked for, so scripts, the CLI and the simulator start fast.
_UI_NAMES = {
    "form": "vidu_nb.ui",
    "Img2VideoForm": "vidu_nb.ui",
    "show": "vidu_nb.ui",
    "compare": "vidu_nb.ui",
    "duel": "vidu_nb.ui",
    "wipe": "vidu_nb.ui",
    "run_sweep": "vidu_nb.ui",
    "report": "vidu_nb.ui.reporting",
    "LargeReportWarning": "vidu_nb.ui.reporting",
    "read_recipe": "vidu_nb.tracking.recipe",
    "credits_view": "vidu_nb.ui",
    "SweepPlan": "vidu_nb.request.sweep",
    "TaskLog": "vidu_nb.tracking.tasklog",
    "read_export": "vidu_nb.tracking.tasklog",
    "UncertainSubmissionsWarning": "vidu_nb.tracking.tasklog",
    "VideoCache": "vidu_nb.tracking.cache",
    "DownloadError": "vidu_nb.tracking.cache",
    "VideoStore": "vidu_nb.tracking.shared",
    "StoreError": "vidu_nb.tracking.shared",
    "Ledger": "vidu_nb.tracking.ledger",
    "Estimate": "vidu_nb.tracking.ledger",
    "estimate": "vidu_nb.tracking.ledger",
    "Poller": "vidu_nb.tracking.poller",
    "Submission": "vidu_nb.tracking.poller",
    "CallbackReceiver": "vidu_nb.client.receiver",
    "PollerEvent": "vidu_nb.tracking.poller",
    "Measures": "vidu_nb.tracking.measures",
    "MeasureError": "vidu_nb.tracking.measures",
    "measure_video": "vidu_nb.tracking.measures",
    "Timing": "vidu_nb.client.timing",
    "Forecast": "vidu_nb.client.timing",
    "promote": "vidu_nb.tracking.promotion",
    "Promotion": "vidu_nb.tracking.promotion",
    "duel_pairs": "vidu_nb.tracking.duels",
}


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """vidu-nb as a Jupyter server extension (``vidu_nb``): its pre-save hook, which saves each
    widget's still as an output of its own (``cli/saved_stills.py``). The package installs
    the file that enables it in every Jupyter server of its environment."""
    return [{"module": "vidu_nb.cli.saved_stills"}]


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
    "Workspace",
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
