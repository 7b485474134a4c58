"""vidu-nb: experiment with Vidu image-to-video generation from Jupyter.

With no API key everything runs against a local simulator of the API, so nothing is charged.
"""

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
from .spec import IgnoredFieldWarning, ImageFittedWarning, Img2VideoRequest
from .task import Creation, Task

__version__ = "0.1.0"

__all__ = [
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
