"""A team on one log: ``--pollers`` pollers (processes) x ``--tasks`` tasks each vs one poller
following all of them. Same simulator, same total, same shared concurrency limit.

What a team must not cost: status GETs per task (each task is followed by one poller at a
time, so ten pollers must not mean ten times the requests) and detection delay (from the
service finishing a task to its final state written in the log; a poller following 100 tasks
should be as quick as, or quicker than, one following 1,000). Both are read from the outside:
GETs from the simulator's own request log, finishes from its clock, detections from the
log's event times (one machine, one clock).

Each poller process resumes the shared log (``Poller.resume``: leases, the shared limit, the
log watcher all on) and submits its share in one ``submit_many``; the single poller submits
everything. The simulator runs in this process; its ``concurrency`` is the team's limit, read
by every poller from ``/credits``. Figures are printed per scenario, then team/single ratios.

Run: python benchmarks/team_polling.py [--pollers 10] [--tasks 100] [--speed 20]
       [--limit 50] [--lease 15] [--log-url postgresql://...]
Without ``--log-url`` each scenario gets a new SQLite file in a temporary folder; with one,
both scenarios write that log, told apart by experiment name.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from common import p95, png

from vidu_nb import states
from vidu_nb.simulator import Simulator
from vidu_nb.simulator import server as sim_server
from vidu_nb.tracking.tasklog import TaskLog


def kernel(target: str, sim: tuple[str, str, float], name: str, count: int, lease: float,
           experiment: str, go: Any, stop: Any) -> None:  # fmt: skip
    """One poller process: resume the log, send ``count`` requests, run until told."""
    import warnings

    from vidu_nb.client import ViduClient
    from vidu_nb.client.schedule import PollSchedule
    from vidu_nb.request.spec import Img2VideoRequest
    from vidu_nb.tracking.poller import Poller

    base_url, key, speed = sim
    log = TaskLog(target)
    client = ViduClient(key, base_url, schedule=PollSchedule.for_speed(speed))
    client._transport.session.headers["User-Agent"] = f"team/{name}"
    image = png()
    go.wait()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        poller = Poller.resume(client, log, cache=False, measure=False, lease=lease)
    poller.submit_many(
        [Img2VideoRequest(image=image, prompt="team", seed=1, duration=1) for _ in range(count)],
        experiment=experiment,
    )
    stop.wait()
    poller.stop()
    log.close()


def run(target: str, sim: Simulator, pollers: int, each: int, lease: float) -> dict[str, float]:
    experiment = f"team-{uuid.uuid4().hex[:8]}"
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    where = (sim.base_url, sim.api_key, sim.speed)
    procs = [
        ctx.Process(
            target=kernel, args=(target, where, f"p{i}", each, lease, experiment, go, stop)
        )  # fmt: skip
        for i in range(pollers)
    ]
    for p in procs:
        p.start()
    first = len(sim.requests)
    started = time.monotonic()
    go.set()
    with TaskLog(target) as log:
        while True:
            df = log.to_frame(experiment=experiment, columns=["task_id", "state"])
            if len(df) == pollers * each and df["state"].astype(str).map(states.is_final).all():
                break
            time.sleep(0.2)
        wall = time.monotonic() - started
        ids = set(df["task_id"].dropna())
        events = log.events()
    stop.set()
    for p in procs:
        p.join(60)
    seen = events[events["task_id"].isin(ids) & events["state"].map(states.is_final)]
    detected = seen.groupby("task_id")["at"].min()
    delays = []
    for tid, at in detected.items():
        finished = sim.task_state(str(tid)).finished_at
        if finished is not None:
            delays.append(at.timestamp() - finished)
    gets: dict[str, int] = {}
    askers: dict[str, set[str]] = {}
    listings = 0  # task-list reads (batched status checks): one request each, for many tasks
    for r in sim.requests[first:]:
        if r.method == "GET" and r.path.endswith("/ent/v2/tasks"):
            listings += 1
        if r.method == "GET" and r.path.endswith("/creations"):
            tid = r.path.split("/")[-2]
            if tid in ids:
                gets[tid] = gets.get(tid, 0) + 1
                askers.setdefault(tid, set()).add(r.agent)
    return {
        "tasks": float(len(ids)),
        "gets_per_task": sum(gets.values()) / max(1, len(ids)),
        "listings_per_task": listings / max(1, len(ids)),
        "requests_per_task": (sum(gets.values()) + listings) / max(1, len(ids)),
        "pollers_per_task_max": float(max((len(a) for a in askers.values()), default=0)),
        "delay_mean_s": statistics.mean(delays) * sim.speed,
        "delay_p95_s": p95(delays) * sim.speed,
        "wall_s": wall,
    }


FIGURES = (
    ("gets_per_task", "status GETs per task"),
    ("listings_per_task", "task-list reads per task"),
    ("requests_per_task", "status requests per task (GETs + list reads)"),
    ("pollers_per_task_max", "most pollers that checked one task"),
    ("delay_mean_s", "detection delay mean (service s)"),
    ("delay_p95_s", "detection delay p95 (service s)"),
    ("wall_s", "wall time of the run (s)"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pollers", type=int, default=10)
    parser.add_argument("--tasks", type=int, default=100, help="tasks per poller")
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument("--limit", type=int, default=50, help="the service's concurrency")
    parser.add_argument("--lease", type=float, default=15.0)
    parser.add_argument("--log-url", default=None, help="a PostgreSQL log (default: SQLite)")
    args = parser.parse_args()
    sim_server.Handler.disable_nagle_algorithm = True
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, pollers, each in (
            ("team", args.pollers, args.tasks),
            ("single", 1, args.pollers * args.tasks),
        ):
            target = args.log_url or str(Path(tmp) / f"{name}.sqlite")
            print(f"{name}: {pollers} poller(s) x {each} tasks ...", file=sys.stderr)
            # A simulator each: another address, so a shared log's history of the first
            # scenario teaches the second nothing (timings are learned per service); no
            # seed, so its task ids are new to the log too.
            with Simulator(speed=args.speed, concurrency=args.limit, video_height=32) as sim:
                results[name] = run(target, sim, pollers, each, args.lease)
    team, single = results["team"], results["single"]
    print(f"{args.pollers} pollers x {args.tasks} tasks vs 1 poller x {args.pollers * args.tasks}"
          f" (speed x{args.speed:g}, limit {args.limit}, {args.log_url and 'PostgreSQL' or 'SQLite'})")  # fmt: skip
    print(f"{'figure':40} {'team':>10} {'single':>10} {'team/single':>12}")
    for key, label in FIGURES:
        r = team[key] / single[key] if single[key] else float("nan")
        print(f"{label:40} {team[key]:10.2f} {single[key]:10.2f} {r:12.2f}")


if __name__ == "__main__":
    main()
