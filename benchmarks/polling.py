"""Benchmark: ``ViduClient.wait`` (learned forecast + backoff) against a fixed 1 s poller.

Each task is watched by both strategies at once, so both see the same server-side finish
instants. Ours is ONE client that waits on every task (one thread per wait) and learns from
the tasks it has seen finish; the fixed poller checks every second. Two phases on the same
simulator: "cold" (a fresh client, nothing learned) and "warm" (the same client, a second
batch of tasks with the same mix of settings). Reported per phase and strategy: GET requests
per task and the lag between the server finishing a task (``Simulator.task_state(id)``) and
the client noticing it, in service seconds (real seconds times ``speed``), with ratios.

Run: ``python benchmarks/polling.py [--tasks 30] [--speed 6] [--seed 3]``
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import threading
import time

from PIL import Image

from vidu_nb.client import ViduClient
from vidu_nb.schedule import PollSchedule
from vidu_nb.simulator import Simulator
from vidu_nb.simulator import server as sim_server
from vidu_nb.spec import Img2VideoRequest
from vidu_nb.task import Task


def frame() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


def batch(sim: Simulator, rng: random.Random, n: int, image: bytes) -> list[Task]:
    with ViduClient(sim.api_key, sim.base_url) as submitter:
        return [
            submitter.submit(
                Img2VideoRequest(
                    image=image,
                    duration=rng.randint(1, 16),
                    resolution=rng.choice(["540p", "720p", "1080p"]),
                )
            )
            for _ in range(n)
        ]


def run_phase(sim: Simulator, ours: ViduClient, tasks: list[Task], speed: float) -> dict:
    seen: dict[tuple[str, str], float] = {}
    fixed_gets: dict[str, int] = {}

    def watch_ours(task: Task) -> None:
        done = ours.wait(task, timeout=None, raise_on_failure=False)
        seen["ours", task.id] = time.time()
        assert done.done

    def watch_fixed(task: Task) -> None:
        gets = 0
        with ViduClient(sim.api_key, sim.base_url) as c:
            while True:
                time.sleep(1.0 / speed)
                gets += 1
                if c.get(task.id).done:
                    break
        seen["fixed", task.id] = time.time()
        fixed_gets[task.id] = gets

    threads = [
        threading.Thread(target=fn, args=(t,)) for t in tasks for fn in (watch_ours, watch_fixed)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    views = {t.id: sim.task_state(t.id) for t in tasks}
    result = {}
    for name in ("ours", "fixed"):
        lags = sorted(
            max(0.0, (seen[name, tid] - (v.finished_at or 0.0)) * speed) for tid, v in views.items()
        )
        if name == "fixed":
            gets = [fixed_gets[tid] for tid in views]
        else:  # the server counts every GET of a task; the fixed poller's are known exactly
            gets = [v.queries - fixed_gets[tid] for tid, v in views.items()]
        result[name] = {
            "gets": statistics.mean(gets),
            "lag_mean": statistics.mean(lags),
            "lag_p95": lags[int(0.95 * (len(lags) - 1))],
        }
    gen = [((v.finished_at or 0) - v.created_at) * speed for v in views.values()]
    result["span"] = (min(gen), max(gen))
    return result


def report(phase: str, r: dict) -> None:
    lo, hi = r["span"]
    print(f"{phase}: submit-to-finish {lo:.0f}-{hi:.0f} service s")
    for name, label in (("ours", "ours (learned)"), ("fixed", "fixed 1 s poll")):
        x = r[name]
        print(
            f"  {label:<16} GETs/task {x['gets']:6.1f}   "
            f"lag mean {x['lag_mean']:5.2f} s   p95 {x['lag_p95']:5.2f} s"
        )
    o, f = r["ours"], r["fixed"]
    print(
        f"  ratio ours/fixed: GETs {o['gets'] / f['gets']:.2f}x, "
        f"lag mean {o['lag_mean'] / max(f['lag_mean'], 1e-9):.2f}x, "
        f"p95 {o['lag_p95'] / max(f['lag_p95'], 1e-9):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30, help="tasks per phase")
    parser.add_argument("--speed", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    # Without TCP_NODELAY every loopback request costs a delayed-ACK round trip (~40 ms),
    # which would measure the simulator, not the strategies.
    sim_server.Handler.disable_nagle_algorithm = True
    rng = random.Random(args.seed)
    image = frame()
    started = time.monotonic()
    print("lags are service seconds (real seconds x speed)")
    with (
        Simulator(speed=args.speed, video_height=48, fps=4, seed=args.seed) as sim,
        ViduClient(sim.api_key, sim.base_url, schedule=PollSchedule.for_speed(args.speed)) as ours,
    ):
        for phase in ("cold", "warm"):
            result = run_phase(sim, ours, batch(sim, rng, args.tasks, image), args.speed)
            report(f"{phase} ({args.tasks} tasks, concurrency 5)", result)
        print(f"learned: {ours.timing!r}; run took {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
