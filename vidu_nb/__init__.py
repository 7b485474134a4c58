"""vidu-nb: experiment with Vidu image-to-video generation from Jupyter.

With no API key everything runs against a local simulator of the API, so nothing is charged.
"""

from .callbacks import verify_callback
from .client import ViduClient
from .config import ClientConfig, Secret
from .embedded import LocalSimulatorWarning
from .errors import (
    APIError,
    AuthenticationError,
    BadRequest,
    ConnectionFailed,
    ImageError,
    NotFound,
    RateLimited,
    ServerError,
    SubmissionUncertain,
    TaskFailed,
    ValidationError,
    ViduError,
    WaitTimeout,
)
from .images import StartImage, load_image
from .models import MODELS, ModelSpec, get_model
from .schedule import PollSchedule
from .spec import IgnoredFieldWarning, ImageFittedWarning, Img2VideoRequest
from .task import Creation, Task

__version__ = "0.1.0"

__all__ = [
    "ClientConfig",
    "LocalSimulatorWarning",
    "PollSchedule",
    "Secret",
    "ViduClient",
    "verify_callback",
    "APIError",
    "AuthenticationError",
    "BadRequest",
    "ConnectionFailed",
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
    "ValidationError",
    "ViduError",
    "WaitTimeout",
    "get_model",
    "load_image",
]
