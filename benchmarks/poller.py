"""Background poller vs one thread per task polling every second, on 200 concurrent tasks.

Both run against the loopback simulator at ``SPEED`` times real time; the naive baseline's
"every 1 s" is scaled the same way (1/SPEED real seconds), and delays are reported in
real-service seconds (measured x SPEED). Printed: GET requests per task, mean and p95 delay
between the server finishing a task and the client seeing it, and the longest stall of the main
thread (a 5 ms sleep loop runs there the whole time, as a notebook kernel would).

Two phases: "cold" (a new task log, nothing learned) and "warm" (a second batch after a
simulated kernel restart: a new client and a new poller on the same log, so everything it knows
about processing times comes from the log's history).

Run: python benchmarks/poller.py [--tasks 200] [--speed 10]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

from vidu_nb.client import ViduClient
from vidu_nb.poller import Poller
from vidu_nb.simulator import Simulator
from vidu_nb.simulator import server as sim_server
from vidu_nb.spec import Img2VideoRequest
from vidu_nb.task import FINAL_STATES
from vidu_nb.tasklog import TaskLog


def image() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 120), (40, 90, 200)).save(out, "PNG")
    return out.getvalue()


def requests_for(n: int) -> list[Img2VideoRequest]:
    img = image()
    return [Img2VideoRequest(image=img, duration=1 + i % 4, seed=i) for i in range(n)]


def main_thread_watch(done: threading.Event) -> float:
    """Longest overshoot of a 5 ms sleep in this (main) thread until ``done``."""
    worst = 0.0
    while not done.is_set():
        t = time.perf_counter()
        time.sleep(0.005)
        worst = max(worst, time.perf_counter() - t - 0.005)
    return worst


def run_ours(sim: Simulator, reqs: list[Img2VideoRequest], folder: Path) -> dict[str, float]:
    seen: dict[str, float] = {}
    done = threading.Event()
    gets = sim.count("GET", "/creations")
    with ViduClient.for_simulator(sim) as client, TaskLog(folder / "ours.sqlite") as log:
        poller = Poller(client, log, policy="submit_all", cache=False)

        def on_event(event):
            if event.new_state in FINAL_STATES and event.task_id:
                seen.setdefault(event.task_id, time.time())

        poller.subscribe(on_event)
        poller.start()
        started = time.perf_counter()
        for r in reqs:
            poller.submit(r)
        waiter = threading.Thread(target=lambda: (poller.wait_all(600), done.set()))
        waiter.start()
        stall = max(time.perf_counter() - started, main_thread_watch(done))
        waiter.join()
        poller.stop()
    return summarise(sim, seen, stall, len(reqs), gets)


def run_naive(sim: Simulator, reqs: list[Img2VideoRequest]) -> dict[str, float]:
    seen: dict[str, float] = {}
    done = threading.Event()
    gets = sim.count("GET", "/creations")
    period = 1.0 / sim.speed
    with ViduClient(sim.api_key, sim.base_url) as client:

        def follow(r: Img2VideoRequest) -> None:
            task = client.submit(r)
            while task.state not in FINAL_STATES:
                time.sleep(period)
                task = client.get(task)
            seen[task.id] = time.time()

        threads = [threading.Thread(target=follow, args=(r,), daemon=True) for r in reqs]
        started = time.perf_counter()
        for t in threads:
            t.start()
        launch = time.perf_counter() - started
        waiter = threading.Thread(target=lambda: ([t.join() for t in threads], done.set()))
        waiter.start()
        stall = max(launch / len(reqs), main_thread_watch(done))
        waiter.join()
    return summarise(sim, seen, stall, len(reqs), gets)


def summarise(
    sim: Simulator, seen: dict[str, float], stall: float, n: int, gets_before: int
) -> dict[str, float]:
    delays = sorted((at - sim.task_state(tid).finished_at) * sim.speed for tid, at in seen.items())
    return {
        "tasks": len(seen),
        "gets_per_task": (sim.count("GET", "/creations") - gets_before) / n,
        "delay_mean_s": statistics.mean(delays),
        "delay_p95_s": delays[int(0.95 * (len(delays) - 1))],
        "main_stall_ms": stall * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--speed", type=float, default=10.0)
    args = ap.parse_args(argv)
    # The simulator's handler answers in two TCP segments; without TCP_NODELAY every request
    # costs a ~40 ms delayed-ACK round trip on loopback, which would measure the simulator,
    # not the polling strategy. Set for both runs alike.
    sim_server.Handler.disable_nagle_algorithm = True
    reqs = requests_for(args.tasks)
    sims = {
        name: Simulator(speed=args.speed, concurrency=args.tasks, video_height=64, seed=1)
        for name in ("ours", "naive")
    }
    print(f"{args.tasks} concurrent tasks per phase, simulator speed x{args.speed:g}; "
          "delays in real-service seconds")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, sims["ours"], sims["naive"]:
        for phase in ("cold", "warm (after a restart, learned from the log)"):
            ours = run_ours(sims["ours"], reqs, Path(tmp))
            naive = run_naive(sims["naive"], reqs)
            report(phase, ours, naive)
    return 0


def report(phase: str, ours: dict[str, float], naive: dict[str, float]) -> None:
    print(f"{phase}:")
    print(f"  {'':24}{'ours':>10}{'1 thread/task, 1 s':>22}{'ours/naive':>12}")
    for key, label in (
        ("tasks", "tasks finished"),
        ("gets_per_task", "GET requests per task"),
        ("delay_mean_s", "detection delay mean"),
        ("delay_p95_s", "detection delay p95"),
        ("main_stall_ms", "main-thread stall (ms)"),
    ):
        a, b = ours[key], naive[key]
        ratio = f"{a / b:.2f}x" if b else "-"
        print(f"  {label:24}{a:10.2f}{b:22.2f}{ratio:>12}")


if __name__ == "__main__":
    sys.exit(main())
