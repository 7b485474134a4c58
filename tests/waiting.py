"""Waiting for what other threads and processes do: polled against a deadline, never a hang
(no absolute-time assertions: the deadline only bounds a failing test)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def until(predicate: Callable[[], object], timeout: float = 30.0) -> bool:
    """Whether ``predicate()`` became true within ``timeout`` seconds (for ``assert until(...)``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def wait_for(check: Callable[[], T], timeout: float = 30.0) -> T:
    """The first true value ``check()`` returns; fails the test if none comes within ``timeout``."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found
