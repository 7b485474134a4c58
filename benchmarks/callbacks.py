"""Callbacks vs polling on 200 concurrent tasks: the same poller fed by signed callbacks, the
same poller polling only, and a fixed poller checking every task every second.

The simulator runs in its own process at ``--speed`` (default x3) and POSTs signed callbacks
to a ``CallbackReceiver`` served in this process over loopback, as the service would to a
reachable kernel. Every task has its own settings (duration 1-8 s, 540p/720p/1080p) and its
generation time varies +-10% around the model. Each strategy gets a fresh simulator with the
same seed and the same batch, and a new task log (nothing learned beforehand: the cold case).

Printed per strategy, mean +-sd over ``--repeats``: status GETs per task (the server's count),
detection delay (server finish to the client's final event, in real-service seconds: for the
callback poller that is the callback plus its confirming GET) mean and p95. A GET per task is
the physical limit for trust-but-verify; PASS when the callback poller needs <= 1.2.

Run: python benchmarks/callbacks.py [--tasks 200] [--speed 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import RemoteSimulator, p95, png, ratio, spread
from poller import batch, run_naive

from vidu_nb.client import ViduClient
from vidu_nb.client.receiver import CallbackReceiver
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.client.task import FINAL_STATES
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.tracking.poller import Poller, PollerEvent
from vidu_nb.tracking.tasklog import TaskLog

TARGET = 1.2
FIGURES = (
    ("gets_per_task", "status GETs per task"),
    ("delay_mean_s", "detection delay mean (s)"),
    ("delay_p95_s", "detection delay p95 (s)"),
)
NAMES = {"callbacks": "callbacks", "polling": "polling only", "naive": "fixed 1 s"}


def run_poller(
    sim: RemoteSimulator, reqs: list[Img2VideoRequest], log_path: Path, callbacks: bool
) -> dict:
    """Our poller over the whole batch, with a callback receiver or without."""
    seen: dict[str, float] = {}
    before = sim.gets()
    schedule = PollSchedule.for_speed(sim.speed)

    def on_event(event: PollerEvent) -> None:
        if event.new_state in FINAL_STATES and event.task_id:
            seen.setdefault(event.task_id, time.time())

    with (
        ViduClient(sim.api_key, sim.base_url, schedule=schedule) as client,
        TaskLog(log_path) as log,
    ):
        receiver = CallbackReceiver(client).serve() if callbacks else None
        poller = Poller(client, log, policy="submit_all", cache=False, callbacks=receiver)
        poller.subscribe(on_event)
        with poller:
            poller.submit_many(reqs)
            finished = poller.wait_all(900)
        counts = replace(poller.pushed.counts)  # before the receiver stops (a fallback)
        if receiver is not None:
            receiver.stop()
    result = summarise(sim, seen, len(reqs), before)
    result["all_finished"] = finished
    result["pushed"] = counts
    return result


def summarise(sim: RemoteSimulator, seen: dict[str, float], n: int, before: int) -> dict:
    truth = sim.tasks(list(seen))
    delays = [(at - truth[tid]["finished_at"]) * sim.speed for tid, at in seen.items()]
    return {
        "tasks": len(seen),
        "gets_per_task": (sim.gets() - before) / n,
        "delay_mean_s": statistics.mean(delays),
        "delay_p95_s": p95(delays),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--speed", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    image = png()
    runs: dict[str, list[dict]] = {name: [] for name in NAMES}
    options = dict(speed=args.speed, concurrency=args.tasks, video_height=48, fps=4)
    print(f"{args.tasks} concurrent tasks, simulator x{args.speed:g} in its own process, "
          f"{args.repeats} repeats; delays in real-service seconds", flush=True)  # fmt: skip
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            seed = args.seed * 1000 + rep
            rng = random.Random(seed)
            reqs = batch(args.tasks, rng, image)
            for name in NAMES:
                with RemoteSimulator(seed=seed, data_dir=Path(tmp) / "videos", **options) as sim:
                    if name == "naive":
                        runs[name].append(run_naive(sim, reqs, rng))
                    else:
                        log_path = Path(tmp) / f"log-{name}-{rep}.sqlite"
                        runs[name].append(run_poller(sim, reqs, log_path, name == "callbacks"))
            pushed = runs["callbacks"][-1]["pushed"]
            print(f"  repeat {rep + 1}: {time.monotonic() - started:.0f} s so far; callback "
                  f"poller: {pushed}", flush=True)  # fmt: skip
    return report(runs)


def report(runs: dict[str, list[dict]]) -> int:
    cols = list(NAMES)
    head = "".join(f"{NAMES[c]:>16}" for c in cols)
    print(f"\n{'mean ±sd over repeats':26}{head}{'callbacks/polling':>20}{'callbacks/fixed':>18}")
    for key, label in FIGURES:
        values = {name: [r[key] for r in runs[name]] for name in cols}
        line = "".join(f"{spread(values[c]):>16}" for c in cols)
        print(f"{label:26}{line}{ratio(values['callbacks'], values['polling']):>20}"
              f"{ratio(values['callbacks'], values['naive']):>18}")  # fmt: skip
    finished = {NAMES[name]: sum(r["tasks"] for r in rs) for name, rs in runs.items()}
    print(f"tasks seen finishing (all repeats): {finished}")
    achieved = [r["period_ratio"] for r in runs["naive"]]
    print(f"fixed 1 s: achieved poll period / nominal = {spread(achieved)} (1.00 = not overloaded)")
    worst = max(r["gets_per_task"] for r in runs["callbacks"])
    verdict = "PASS" if worst <= TARGET else "FAIL"
    print(f"{verdict}: callback poller status GETs per task {worst:.2f} (worst repeat) "
          f"<= {TARGET}")  # fmt: skip
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
