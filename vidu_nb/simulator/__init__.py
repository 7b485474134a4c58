"""A loopback simulator of the Vidu API: same paths and JSON, real H.264 videos, faults.

``Simulator`` serves submit, query, cancel, the task list and the credit balance with the task
lifecycle, the concurrency limit, credits, expiring signed file URLs and signed callbacks; ``Faults`` injects 429s, 500s, dropped
connections, slow answers and failed tasks on demand.
"""

from .contract import credits_for
from .core import RequestRecord, Simulator, TaskView
from .engine import Timing
from .faults import FaultRule, Faults

__all__ = [
    "FaultRule",
    "Faults",
    "RequestRecord",
    "Simulator",
    "TaskView",
    "Timing",
    "credits_for",
]
