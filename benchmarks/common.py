"""Helpers shared by the polling benchmarks: a start frame, a simulator in its own process,
and statistics over repeats (mean, spread, paired ratios)."""

from __future__ import annotations

import io
import multiprocessing as mp
import statistics
from collections.abc import Sequence
from typing import Any

from PIL import Image


def png(width: int = 160, height: int = 120) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 90, 200)).save(out, "PNG")
    return out.getvalue()


def p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))]


def spread(values: Sequence[float], digits: int = 2) -> str:
    """``mean ±sd`` of one figure over the repeats."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ±{sd:.{digits}f}"


def ratio(ours: Sequence[float], base: Sequence[float]) -> str:
    """Ratio of the means, and the range of the per-repeat (paired) ratios."""
    if not statistics.mean(base):
        return "-"
    paired = [a / b for a, b in zip(ours, base, strict=True) if b]
    whole = statistics.mean(ours) / statistics.mean(base)
    return f"{whole:.2f}x ({min(paired):.2f}-{max(paired):.2f})"


def _serve(conn: Any, options: dict[str, Any], noise: float) -> None:
    """The child process: a simulator answering the parent's questions about its tasks."""
    import random
    from dataclasses import asdict, dataclass, field

    from vidu_nb.simulator import Simulator
    from vidu_nb.simulator import server as sim_server
    from vidu_nb.simulator.engine import Timing

    @dataclass
    class Noisy(Timing):
        """Generation times that vary by +-``noise`` around the model, like a real service."""

        rng: random.Random = field(default_factory=lambda: random.Random(options.get("seed")))

        def generation(self, duration: float, resolution: str) -> float:
            base = super().generation(duration, resolution)
            return base * self.rng.uniform(1 - noise, 1 + noise)

    # Without TCP_NODELAY every loopback request costs a ~40 ms delayed-ACK round trip,
    # which would measure the simulator, not the polling strategy.
    sim_server.Handler.disable_nagle_algorithm = True
    with Simulator(**options) as sim:
        sim.engine.timing = Noisy()
        conn.send((sim.base_url, sim.api_key))
        while True:
            what, arg = conn.recv()
            if what == "stop":
                return
            if what == "gets":
                conn.send(sim.count("GET", "/creations"))
            elif what == "tasks":
                conn.send({tid: asdict(sim.task_state(tid)) for tid in arg})


class RemoteSimulator:
    """A ``Simulator`` in a child process, so the client under test has this process (and
    its GIL) to itself, as it would with the real service. ``noise``: relative spread of
    generation times."""

    def __init__(self, noise: float = 0.1, **options: Any) -> None:
        self.speed = float(options.get("speed", 1.0))
        self._parent, child = mp.Pipe()
        self._proc = mp.get_context("spawn").Process(
            target=_serve, args=(child, options, noise), daemon=True
        )

    def __enter__(self) -> RemoteSimulator:
        self._proc.start()
        self.base_url, self.api_key = self._parent.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        self._parent.send(("stop", None))
        self._proc.join(10)

    def gets(self) -> int:
        """GET requests of task status the server has answered so far."""
        self._parent.send(("gets", None))
        return self._parent.recv()

    def tasks(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The server's view of each task (``TaskView`` fields; times in epoch seconds)."""
        self._parent.send(("tasks", list(ids)))
        return self._parent.recv()
