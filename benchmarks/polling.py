"""Benchmark: our wait schedule against a fixed 1 s poller, on the simulator.

Each task is watched by both strategies at once (two independent clients), so both see the
same server-side finish instants. Reported per strategy: GET requests per task and the lag
between the server finishing a task (``Simulator.task_state(id).finished_at``) and the client
noticing, in service seconds (real seconds times ``speed``).

Run: ``python benchmarks/polling.py [--tasks 30] [--speed 6] [--seed 3]``
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import threading
import time
from dataclasses import dataclass, field

from PIL import Image

from vidu_nb.client import ViduClient
from vidu_nb.schedule import PollSchedule
from vidu_nb.simulator import Simulator
from vidu_nb.spec import Img2VideoRequest
from vidu_nb.task import Task


@dataclass
class Outcome:
    detected_at: dict[str, float] = field(default_factory=dict)
    gets: dict[str, int] = field(default_factory=dict)


def frame() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 180), (40, 120, 200)).save(out, "PNG")
    return out.getvalue()


def watch_ours(sim: Simulator, task: Task, speed: float, result: Outcome) -> None:
    with ViduClient(sim.api_key, sim.base_url, schedule=PollSchedule.for_speed(speed)) as c:
        done = c.wait(task, timeout=None, raise_on_failure=False)
        result.detected_at["ours"] = time.time()
        result.gets["ours"] = c.requests_sent
        assert done.done


def watch_fixed(sim: Simulator, task: Task, speed: float, result: Outcome) -> None:
    with ViduClient(sim.api_key, sim.base_url) as c:
        while True:
            time.sleep(1.0 / speed)
            if c.get(task.id).done:
                break
        result.detected_at["fixed"] = time.time()
        result.gets["fixed"] = c.requests_sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--speed", type=float, default=6.0)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    image = frame()
    started = time.monotonic()
    with Simulator(speed=args.speed, video_height=48, fps=4, seed=args.seed) as sim:
        with ViduClient(sim.api_key, sim.base_url) as submitter:
            tasks = [
                submitter.submit(
                    Img2VideoRequest(
                        image=image,
                        duration=rng.randint(1, 16),
                        resolution=rng.choice(["540p", "720p", "1080p"]),
                    )
                )
                for _ in range(args.tasks)
            ]
        results = {t.id: Outcome() for t in tasks}
        threads = [
            threading.Thread(target=fn, args=(sim, t, args.speed, results[t.id]))
            for t in tasks
            for fn in (watch_ours, watch_fixed)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        finished = {t.id: sim.task_state(t.id).finished_at for t in tasks}
        gen = [
            (sim.task_state(t.id).finished_at or 0) - sim.task_state(t.id).created_at for t in tasks
        ]
    wall = time.monotonic() - started
    print("lags and times are service seconds (real seconds x speed)")
    print(
        f"{args.tasks} tasks, simulator speed x{args.speed:g}, concurrency 5; "
        f"submit-to-finish {min(gen) * args.speed:.0f}-{max(gen) * args.speed:.0f} service s; "
        f"run took {wall:.0f} s"
    )
    summary = {}
    for name, label in (("ours", "PollSchedule wait"), ("fixed", "fixed 1 s poll")):
        gets = [r.gets[name] for r in results.values()]
        lags = [
            max(0.0, (r.detected_at[name] - (finished[tid] or 0.0)) * args.speed)
            for tid, r in results.items()
        ]
        share = statistics.mean(
            lag / max(g * args.speed, 1e-9) for lag, g in zip(lags, gen, strict=True)
        )
        summary[name] = (statistics.mean(gets), statistics.mean(lags))
        print(
            f"  {label:<18} GETs/task {statistics.mean(gets):6.1f}   "
            f"detection lag mean {statistics.mean(lags):5.2f} s, "
            f"median {statistics.median(lags):5.2f} s, max {max(lags):5.2f} s, "
            f"{share:.1%} of the task's time"
        )
    ours, fixed = summary["ours"], summary["fixed"]
    print(
        f"  ratio ours/fixed:  GETs {ours[0] / fixed[0]:.2f}x,  "
        f"mean lag {ours[1] / max(fixed[1], 1e-9):.2f}x "
        f"(+{ours[1] - fixed[1]:.2f} s per task)"
    )


if __name__ == "__main__":
    main()
