"""The simulated service reports a task's changes in the order they happened."""

from __future__ import annotations

import random
import threading

from vidu_nb.simulator.engine import Engine, SimTask


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_changes_are_reported_in_order_when_two_threads_advance_the_clock():
    """A thread that applied a task's ``success`` must not report it before the thread that
    applied its ``processing`` has reported that: callbacks would arrive out of order."""
    reported: list[str] = []
    reporting = threading.Event()

    def on_change(task: SimTask, state: str) -> None:
        if state == "processing":
            reporting.set()
            threading.Event().wait(0.3)  # a slow report (the receiver, the signer, the GIL)
        reported.append(state)

    clock = _Clock()
    engine = Engine(
        videos=None, concurrency=1, clock=clock, rng=random.Random(1), on_change=on_change
    )
    task = engine.submit({"model": "viduq3-pro", "resolution": "720p", "duration": 1}, None)
    clock.now = task.eligible_at + 0.001  # started, not finished
    first = threading.Thread(target=engine.advance)
    first.start()
    assert reporting.wait(5)
    clock.now = 10_000.0  # finished
    second = threading.Thread(target=engine.advance)
    second.start()
    first.join(5)
    second.join(5)
    assert reported == ["processing", "success"]
