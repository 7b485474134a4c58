"""The simulated service's queue, driven by a hand-moved clock (no server, no sleeping)."""

from __future__ import annotations

import random

from vidu_nb.simulator.engine import Engine


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fields(duration: int) -> dict:
    return {"model": "viduq3-pro", "resolution": "720p", "duration": duration}


def test_a_late_look_replays_the_queue_in_time_order():
    """One long and many short tasks on two slots, looked at only long after they all ended.

    A short task started in a past slot also ends in the past; its slot must go to the next
    task in line, so tasks start in submission order and never more than two run at once.
    """
    clock = Clock()
    engine = Engine(videos=None, concurrency=2, clock=clock, rng=random.Random(1))
    tasks = [engine.submit(fields(d), None) for d in (16, 1, 1, 1, 1, 1, 1)]
    clock.now = 10_000.0
    engine.advance()
    assert all(t.final == "success" for t in tasks)
    starts = [t.started_at for t in tasks]
    assert starts == sorted(starts)
    for t in tasks:
        assert t.started_at is not None and t.finished_at is not None
        running = [
            o
            for o in tasks
            if o.started_at <= t.started_at < o.finished_at  # type: ignore[operator]
        ]
        assert len(running) <= 2


def test_looking_often_or_once_gives_the_same_history():
    def history(step: float) -> list[tuple[float | None, float | None]]:
        clock = Clock()
        engine = Engine(videos=None, concurrency=3, clock=clock, rng=random.Random(2))
        tasks = [engine.submit(fields(d), None) for d in (8, 1, 4, 1, 2, 16, 1, 1, 5)]
        while clock.now < 2_000:
            clock.now += step
            engine.advance()
        return [(t.started_at, t.finished_at) for t in tasks]

    assert history(0.5) == history(2_000)
