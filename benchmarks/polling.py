"""Benchmark: ``ViduClient.wait`` (learned forecast + backoff) against a fixed 1 s poller.

Each task is watched by both strategies at once, so both see the same server-side finish
instants. Ours is ONE client that waits on every task (one thread per wait) and learns from
the tasks it has seen finish; the fixed poller checks every second, at a fixed rate, from a
random offset (uniform over one interval) so its lag is not phase luck. The simulator runs in
its own process, with the service's concurrency limit (5), varied settings (duration 1-10 s,
540p/720p/1080p) and generation times varying +-10% around the model.

Two phases per repeat: "cold" (a fresh client, nothing learned) and "warm" (the same client,
a second batch with the same mix of settings); each repeat starts from a new simulator and a
new client. Printed per phase, over the repeats (mean +-sd): GET requests per task and the lag
between the server finishing a task and the client noticing it, in service seconds (real
seconds times ``speed``), with ours/fixed ratios of the means and the range of the
per-repeat ratios.

Run: ``python benchmarks/polling.py [--tasks 20] [--speed 6] [--repeats 3] [--seed 3]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time

from common import RemoteSimulator, p95, png, ratio, spread

from vidu_nb.client import ViduClient
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest

FIGURES = (("gets", "GETs/task"), ("lag_mean", "lag mean (s)"), ("lag_p95", "lag p95 (s)"))


def batch(sim: RemoteSimulator, rng: random.Random, n: int, image: bytes) -> list[Task]:
    with ViduClient(sim.api_key, sim.base_url) as submitter:
        return [
            submitter.submit(
                Img2VideoRequest(
                    image=image,
                    duration=rng.randint(1, 10),
                    resolution=rng.choice(["540p", "720p", "1080p"]),
                    seed=1,  # one look: the simulator encodes a few videos only
                )
            )
            for _ in range(n)
        ]


def run_phase(
    sim: RemoteSimulator, ours: ViduClient, tasks: list[Task], rng: random.Random
) -> dict:
    seen: dict[tuple[str, str], float] = {}
    fixed_gets: dict[str, int] = {}
    period = 1.0 / sim.speed

    def watch_ours(task: Task) -> None:
        done = ours.wait(task, timeout=None, raise_on_failure=False)
        seen["ours", task.id] = time.time()
        assert done.done

    def watch_fixed(task: Task, offset: float) -> None:
        gets = 0
        with ViduClient(sim.api_key, sim.base_url) as c:
            next_check = time.monotonic() + offset
            while True:
                time.sleep(max(0.0, next_check - time.monotonic()))
                next_check += period
                gets += 1
                if c.get(task.id).done:
                    break
        seen["fixed", task.id] = time.time()
        fixed_gets[task.id] = gets

    threads = [threading.Thread(target=watch_ours, args=(t,)) for t in tasks]
    threads += [
        threading.Thread(target=watch_fixed, args=(t, rng.uniform(0, period))) for t in tasks
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    views = sim.tasks([t.id for t in tasks])
    result = {}
    for name in ("ours", "fixed"):
        lags = [
            max(0.0, (seen[name, tid] - (v["finished_at"] or 0.0)) * sim.speed)
            for tid, v in views.items()
        ]
        if name == "fixed":
            gets = [fixed_gets[tid] for tid in views]
        else:  # the server counts every GET of a task; the fixed poller's are known exactly
            gets = [v["queries"] - fixed_gets[tid] for tid, v in views.items()]
        result[name] = {
            "gets": statistics.mean(gets),
            "lag_mean": statistics.mean(lags),
            "lag_p95": p95(lags),
        }
    result["span"] = [
        ((v["finished_at"] or 0) - v["created_at"]) * sim.speed for v in views.values()
    ]
    return result


def report(phase: str, runs: list[dict]) -> None:
    spans = [s for r in runs for s in r["span"]]
    print(f"{phase}: submit-to-finish {min(spans):.0f}-{max(spans):.0f} service s")
    print(
        f"  {'mean ±sd over repeats':22}{'ours (learned)':>16}{'fixed 1 s':>16}{'ours/fixed':>20}"
    )
    for key, label in FIGURES:
        ours = [r["ours"][key] for r in runs]
        fixed = [r["fixed"][key] for r in runs]
        print(f"  {label:22}{spread(ours):>16}{spread(fixed):>16}{ratio(ours, fixed):>20}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20, help="tasks per phase")
    parser.add_argument("--speed", type=float, default=6.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    image = png(320, 180)
    started = time.monotonic()
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    print(f"{args.tasks} tasks per phase, concurrency 5, simulator x{args.speed:g} in its own "
          f"process, {args.repeats} repeats; lags in service seconds", flush=True)  # fmt: skip
    for rep in range(args.repeats):
        seed = args.seed * 1000 + rep
        rng = random.Random(seed)
        schedule = PollSchedule.for_speed(args.speed)
        with (
            RemoteSimulator(speed=args.speed, video_height=48, fps=4, seed=seed) as sim,
            ViduClient(sim.api_key, sim.base_url, schedule=schedule) as ours,
        ):
            for phase in ("cold", "warm"):
                runs[phase].append(run_phase(sim, ours, batch(sim, rng, args.tasks, image), rng))
            print(f"  repeat {rep + 1}: learned {ours.timing!r}, "
                  f"{time.monotonic() - started:.0f} s so far", flush=True)  # fmt: skip
    for phase in ("cold", "warm"):
        report(phase, runs[phase])


if __name__ == "__main__":
    main()
