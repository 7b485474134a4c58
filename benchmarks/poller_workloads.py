"""Background poller vs a fixed 1 s poller: 200 concurrent tasks, three workloads, cold and warm.

The targets (issue 9), measured side by side in one run: at most 0.25x the status GETs of a
poller checking every task every second (ours: its GETs plus its task-list requests, each
listing counted as one request however many tasks it reads), a mean detection delay of at most 5 % of the
generation time, and the main thread never stalled for 50 ms while 200 tasks poll and
download. Workloads (all 200 tasks sent at once with ``submit_many``, ``policy="submit_all"``,
the service running them all together):

- ``settings``: varied settings (duration 1-8 s, 540p/720p/1080p), generation time fixed by
  the settings (the simulator's model, 8.8-53 s) within +-10 %;
- ``uniform``: one setting, generation time uniform in 20-120 s (a few seconds of queueing);
- ``mix``: 150 tasks of varied settings taking minutes (ten times the model: 88-530 s) and 50
  off-peak tasks taking hours (1-2 h), at a high simulator speed.

Each runs "cold" (an empty task log: nothing known) then "warm" (a new client and poller on
the same log, as after a kernel restart: all they know comes from the log's history), each
with a new batch drawn from the same workload. The simulator runs in its own process at
``speed`` times real time; figures are in service seconds. "Generation time" is the processing
time (server start to server end); the detection delay is from the server's end to our
poller's event for it, and its mean is taken per task as a fraction of that task's generation
time. Requests are counted by the server: the GETs of each task, and the task-list requests
(``GET /ent/v2/tasks``, which the poller sends to read many processing tasks at once) over the
whole run, spread evenly over its tasks.

The fixed 1 s poller runs at the same time on the same tasks, in a third process (one period
of 1 service second, each task from a random phase, at a fixed rate): its GETs are what the
server counted for it. For ``mix`` at x50 it would need 10,000 requests a second, so there its
figures are computed from the server's timeline of each task (the checks a fixed-rate poller
makes are determined by it); for the other two both are printed, which shows they agree.

Before the runs, the simulator encodes every video they need (a task ends only once its video
exists; encoding on a busy machine must not count as generation time).

The stall is measured in a phase of its own ("stall"): the same poller work (cold and warm, on
the workloads of ``--stall-on``) without the 1 s poller's process, whose hundreds of requests a
second would load a 2-core machine more than our poller does. The main thread runs a 5 ms
sleep loop (as a notebook kernel would) from the moment ``submit_many`` has returned until
every task is finished, downloaded and measured; a bare process runs the same loop at the same
time. Both report the p99 and the max of their overshoots: the bare process's figures are what
the machine's load alone causes, and the load average is printed beside them. The
interpreter's full garbage collections during the loop are recorded too (``gc.callbacks``): a
full collection walks the whole heap with the interpreter's lock held (about 45 ms at this
process's 90,000 objects, longer in a kernel with more loaded), so the last figure takes them
off as well: what is left is our threads holding the lock.

Run: python benchmarks/poller_workloads.py [--only settings,uniform,mix,stall] [--tasks 200]
[--no-listing]
(``--only stall`` reruns just the stall phase.)
"""

from __future__ import annotations

import argparse
import bisect
import gc
import heapq
import json
import math
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import p95, png

from vidu_nb.client import ViduClient
from vidu_nb.client.schedule import PollSchedule
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.states import is_final
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.tasklog import TaskLog

MIX_SPEED = 50.0
MIX_SCALE = 10.0  # the mix's tasks of normal settings take this many times the model
MIX_HOURS = (1.0, 2.0)  # its off-peak tasks take between these many hours
#: name: (simulator speed, whether the fixed poller really runs, description)
WORKLOADS: dict[str, tuple[float, bool, str]] = {
    "settings": (3.0, True, "settings fix the time (8.8-53 s, +-10 %)"),
    "uniform": (3.0, True, "one setting, uniform 20-120 s"),
    "mix": (MIX_SPEED, False, "minutes (88-530 s) + 1/4 off-peak taking hours (1-2 h)"),
}
TARGET_RATIO, TARGET_DELAY, TARGET_STALL_MS = 0.25, 0.05, 50.0


# -- the simulator's process ------------------------------------------------------------------
def _serve(conn: Any, options: dict[str, Any], workload: str, seed: int) -> None:
    from dataclasses import asdict, dataclass, field

    from vidu_nb.simulator import Simulator
    from vidu_nb.simulator import server as sim_server
    from vidu_nb.simulator.engine import Timing

    @dataclass
    class Drawn(Timing):
        """Generation times of the workload (service seconds), drawn as tasks are sent."""

        rng: random.Random = field(default_factory=lambda: random.Random(f"sim-{seed}"))
        warming: bool = False

        def generation(self, duration: float, resolution: str) -> float:
            if self.warming:  # making the videos beforehand: over at once
                return 0.01
            if workload == "uniform":
                return self.rng.uniform(20.0, 120.0)
            if workload == "mix" and duration >= 10:  # the off-peak tasks
                return self.rng.uniform(3600.0 * MIX_HOURS[0], 3600.0 * MIX_HOURS[1])
            base = super().generation(duration, resolution) * self.rng.uniform(0.9, 1.1)
            return base * (MIX_SCALE if workload == "mix" else 1.0)

    sim_server.Handler.disable_nagle_algorithm = True  # no 40 ms delayed-ACK per request
    with Simulator(**options) as sim:
        drawn = Drawn()
        sim.engine.timing = drawn
        conn.send((sim.base_url, sim.api_key))
        while True:
            what, arg = conn.recv()
            if what == "stop":
                return
            if what == "warming":
                drawn.warming = arg
                conn.send(arg)
            if what == "tasks":
                conn.send({tid: asdict(sim.task_state(tid)) for tid in arg})
            if what == "listings":  # task-list requests so far (the fixed poller sends none)
                conn.send(sim.count("GET", sim.prefix + "/ent/v2/tasks", exact=True))


# -- the fixed poller's process ---------------------------------------------------------------
def _fixed(conn: Any, base_url: str, api_key: str, period: float, seed: int) -> None:
    """Check every followed task every ``period`` from a random phase, at a fixed rate."""
    from concurrent.futures import ThreadPoolExecutor

    rng = random.Random(f"fixed-{seed}")
    local = threading.local()
    cond = threading.Condition()
    heap: list[tuple[float, str]] = []
    gets: dict[str, int] = {}
    seen: dict[str, float] = {}
    lateness: list[float] = []
    pool = ThreadPoolExecutor(24)

    def client() -> ViduClient:
        if not hasattr(local, "client"):
            local.client = ViduClient(api_key, base_url)
        return local.client

    def check(tid: str, due: float) -> None:
        lateness.append(time.monotonic() - due)
        gets[tid] += 1
        try:
            done = client().get(tid).done
        except Exception:
            done = False
        with cond:
            if done:
                seen[tid] = time.time()
                cond.notify_all()
            else:
                heapq.heappush(heap, (due + period, tid))
                cond.notify_all()

    def schedule() -> None:
        while True:
            with cond:
                while not heap or heap[0][0] > time.monotonic():
                    cond.wait(None if not heap else heap[0][0] - time.monotonic())
                due, tid = heapq.heappop(heap)
            pool.submit(check, tid, due)

    threading.Thread(target=schedule, daemon=True).start()
    while True:
        what, arg = conn.recv()
        if what == "stop":
            return
        if what == "follow":
            with cond:
                gets[arg] = 0
                heapq.heappush(heap, (time.monotonic() + rng.uniform(0, period), arg))
                cond.notify_all()
        elif what == "results":  # once every followed task is seen finished
            with cond:
                while len(seen) < len(gets):
                    cond.wait(1.0)
                conn.send((dict(gets), dict(seen), statistics.mean(lateness) if lateness else 0))
                gets.clear(), seen.clear(), lateness.clear()


def _control(conn: Any) -> None:
    """A bare process running the same 5 ms sleep loop: what the machine alone stalls it by."""
    while True:
        what, _ = conn.recv()
        if what == "stop":
            return
        samples = sleep_loop(conn.poll)
        conn.recv()
        stalls = [(t + SLEEP, end) for t, end in samples if end - t - SLEEP > 0.001]
        conn.send((stall_figures(samples), stalls))


SLEEP = 0.005  # the probe's sleep


def sleep_loop(stop: Any) -> list[tuple[float, float]]:
    """Sleep ``SLEEP`` over and over until ``stop()``; returns each sleep's (start, end) on
    the clock every process shares (``perf_counter`` is CLOCK_MONOTONIC here)."""
    samples = []
    while not stop():
        t = time.perf_counter()
        time.sleep(SLEEP)
        samples.append((t, time.perf_counter()))
    return samples


def stall_figures(samples: list[tuple[float, float]]) -> tuple[float, float]:
    """p99 and max of a sleep loop's overshoots, in ms."""
    ordered = sorted(end - t - SLEEP for t, end in samples) or [0.0]
    return ordered[int(0.99 * (len(ordered) - 1))] * 1000, ordered[-1] * 1000


def unshared(samples: list[tuple[float, float]], others: list[tuple[float, float]]) -> float:
    """The longest overshoot of ``samples`` (ms) once the time the bare process was stalled
    too (``others``: its overshoots, as intervals) is taken off: what only our process
    suffered (the interpreter's lock held by our threads), not the machine (a core taken by
    another job, a throttled CPU quota: both processes stall at once)."""
    others = sorted(others)
    starts = [a for a, _ in others]
    worst = 0.0
    for t, end in samples:
        a = t + SLEEP
        if end <= a:
            continue
        shared = 0.0
        i = max(0, bisect.bisect_right(starts, a) - 1)
        while i < len(others) and others[i][0] < end:
            shared += max(0.0, min(end, others[i][1]) - max(a, others[i][0]))
            i += 1
        worst = max(worst, end - a - shared)
    return worst * 1000


class FullCollections:
    """The interpreter's full garbage collections (generation 2) while it is installed, as
    (start, end) on ``perf_counter``: a full collection walks every tracked object of the
    process with the interpreter's lock held, so it stalls every thread at once, the main one
    too; its length is set by the heap's size (a kernel's imports, the user's data), its
    timing by what any thread allocates. Recorded to tell those stalls from our threads'."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self._began = 0.0

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.spans.append((self._began, time.perf_counter()))

    def longest_ms(self) -> float:
        return max((b - a for a, b in self.spans), default=0.0) * 1000


class Child:
    """A function in its own process, spoken to through a pipe."""

    def __init__(self, target: Any, *args: Any) -> None:
        self._conn, child = mp.Pipe()
        self._lock = threading.Lock()
        self._proc = mp.get_context("spawn").Process(target=target, args=(child, *args))
        self._proc.daemon = True
        self._proc.start()

    def send(self, *msg: Any) -> None:
        with self._lock:
            self._conn.send(msg)

    def ask(self, *msg: Any) -> Any:
        with self._lock:
            self._conn.send(msg)
            return self._conn.recv()

    def recv(self) -> Any:
        return self._conn.recv()

    def close(self) -> None:
        self.send("stop", None)
        self._proc.join(10)


# -- one run -----------------------------------------------------------------------------------
def requests_for(workload: str, n: int, rng: random.Random, image: bytes) -> list[Img2VideoRequest]:
    def one(off_peak: bool) -> Img2VideoRequest:
        if workload == "uniform":
            return Img2VideoRequest(image=image, duration=5, resolution="720p", seed=1)
        duration = rng.randint(10, 16) if off_peak else rng.randint(1, 8)
        resolution = rng.choice(["540p", "720p", "1080p"])
        return Img2VideoRequest(
            image=image, duration=duration, resolution=resolution, seed=1, off_peak=off_peak
        )

    return [one(workload == "mix" and i % 4 == 3) for i in range(n)]


def make_videos(sim: Child, reqs: list[Img2VideoRequest]) -> None:
    """Have the simulator encode every video the runs will need, beforehand: a task is not
    finished before its video exists, and encoding time must not count as generation time."""
    sim.ask("warming", True)
    firsts = {}
    for r in reqs:
        firsts.setdefault((r.duration, r.off_peak), r)
    with ViduClient(sim.api_key, sim.base_url) as client:  # type: ignore[attr-defined]
        tasks = [client.submit(r) for r in firsts.values()]
        for task in tasks:
            client.wait(task, timeout=600)
    sim.ask("warming", False)


def run(
    sim: Child,
    fixed: Child | None,
    control: Child,
    speed: float,
    reqs: list[Img2VideoRequest],
    log_path: Path,
    listing: bool = True,
) -> dict[str, Any]:
    seen: dict[str, float] = {}
    ids: list[str] = []
    done = threading.Event()
    schedule = PollSchedule.for_speed(speed)
    listings = sim.ask("listings", None)
    base_url, api_key = sim.base_url, sim.api_key  # type: ignore[attr-defined]
    with ViduClient(api_key, base_url, schedule=schedule) as client, TaskLog(log_path) as log:
        poller = Poller(client, log, policy="submit_all", cache=True)
        if not listing:  # every check a GET, as before batched reads (for comparison)
            poller._checks.listing.off = "--no-listing"
        checks = poller._checks  # measured: how late each check starts against its due time
        late: list[float] = []
        check = checks.check

        def timed(tr: Any) -> None:
            late.append(time.monotonic() - tr.due)
            check(tr)

        checks.check = timed  # type: ignore[method-assign]

        def on_event(event: Any) -> None:
            if event.task_id and event.old_state is None and event.kind == "state":
                ids.append(event.task_id)  # just created
                if fixed is not None:
                    fixed.send("follow", event.task_id)
            if event.kind == "state" and event.task_id and is_final(event.new_state):
                seen.setdefault(event.task_id, time.time())

        poller.subscribe(on_event)
        poller.start()
        cpu = time.process_time()
        began = time.perf_counter()
        poller.submit_many(reqs)  # every request recorded durably, in one transaction
        submit_ms = (time.perf_counter() - began) * 1000
        threading.Thread(target=lambda: (poller.wait_all(4 * 3600), done.set())).start()
        control.send("start", None)
        load = os.getloadavg()[0]
        with FullCollections() as collections:
            samples = sleep_loop(done.is_set)
        cpu = time.process_time() - cpu
        control_ms, control_stalls = control.ask("end", None)
        load = max(load, os.getloadavg()[0])
        poller.stop()
    truth = sim.ask("tasks", ids)
    out: dict[str, Any] = {"truth": truth, "seen": seen, "cpu": cpu, "load": load}
    out["listings"] = sim.ask("listings", None) - listings
    out["stats"] = {"polls": poller.stats.polls, "listings": poller.stats.listings}
    out["stall_ms"], out["control_ms"] = stall_figures(samples), control_ms
    out["unshared_ms"] = unshared(samples, control_stalls)
    # Less the full collections too: what is left is our threads holding the lock.
    out["ours_alone_ms"] = unshared(samples, sorted(control_stalls + collections.spans))
    out["gc_ms"], out["gcs"] = collections.longest_ms(), len(collections.spans)
    out["late"] = late
    out["submit_ms"] = submit_ms
    if fixed is not None:
        out["fixed_gets"], out["fixed_seen"], out["lateness"] = fixed.ask("results", None)
    return out


def figures(r: dict[str, Any], speed: float, seed: int) -> dict[str, float]:
    """Per-run figures: ours, the fixed poller measured (when it ran) and computed."""
    truth, seen = r["truth"], r["seen"]
    fixed_gets = r.get("fixed_gets", {})
    rng = random.Random(f"phase-{seed}")
    ours_gets, delays, computed_gets, computed_delays = [], [], [], []
    fixed_delays = []
    period = 1.0 / speed
    for tid, v in truth.items():
        took = (v["finished_at"] - v["started_at"]) * speed
        ours_gets.append(v["queries"] - fixed_gets.get(tid, 0))
        delays.append(max(0.0, seen[tid] - v["finished_at"]) * speed / took)
        phase = rng.uniform(0, period)  # a fixed-rate poller from the submission
        k = max(0, math.ceil((v["finished_at"] - v["created_at"] - phase) / period))
        computed_gets.append(k + 1)
        late_by = v["created_at"] + phase + k * period - v["finished_at"]
        computed_delays.append(late_by * speed / took)
        if tid in r.get("fixed_seen", {}):
            fixed_delays.append(max(0.0, r["fixed_seen"][tid] - v["finished_at"]) * speed / took)
    out = {
        "tasks": len(truth),
        "ours_gets": statistics.mean(ours_gets),
        "ours_listings": r.get("listings", 0) / len(truth),
        "ours_max": max(ours_gets),
        "ours_delay": statistics.mean(delays),
        "ours_delay_p95": p95(delays),
        "computed_gets": statistics.mean(computed_gets),
        "computed_delay": statistics.mean(computed_delays),
        "stall_p99": r["stall_ms"][0],
        "stall_max": r["stall_ms"][1],
        "control_p99": r["control_ms"][0],
        "control_max": r["control_ms"][1],
        "unshared_max": r["unshared_ms"],
        "ours_alone_max": r["ours_alone_ms"],
        "gc_max": r["gc_ms"],
        "gcs": r["gcs"],
        "load": r["load"],
        "submit_ms": r["submit_ms"],
        "cpu_s": r["cpu"],
        "late_ms": statistics.mean(r["late"]) * 1000,
        "late_p95_ms": p95(r["late"]) * 1000,
    }
    if fixed_gets:
        out["fixed_gets"] = statistics.mean(fixed_gets[tid] for tid in truth)
        out["fixed_delay"] = statistics.mean(fixed_delays)
        out["fixed_late_ms"] = r["lateness"] * 1000
    out["base_gets"] = out.get("fixed_gets", out["computed_gets"])
    out["ours_requests"] = out["ours_gets"] + out["ours_listings"]
    out["ratio"] = out["ours_requests"] / out["base_gets"]
    return out


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(name: str, speed: float, runs: dict[str, dict[str, float]]) -> list[str]:
    measured = "fixed_gets" in runs["cold"]
    lines = [f"\n== {name}: {WORKLOADS[name][2]}; simulator x{speed:g}"]

    def row(label: str, key: str, fmt: str, target: str = "", ok: Any = None) -> None:
        cells = [fmt.format(runs[p][key]) if key in runs[p] else "-" for p in ("cold", "warm")]
        verdicts = [verdict(ok(runs[p][key])) for p in ("cold", "warm")] if ok else ["", ""]
        text = "".join(f"{c:>12} {v:4}" for c, v in zip(cells, verdicts, strict=True))
        lines.append(f"  {label:42}{text}  {target}")

    lines.append(f"  {'':42}{'cold':>17}{'warm':>17}")
    if measured:
        row("fixed 1 s poller: GETs/task (measured)", "fixed_gets", "{:.1f}")
        row("fixed 1 s poller: delay, % of gen. time", "fixed_delay", "{:.2%}")
        row("  lateness of its checks (ms, real)", "fixed_late_ms", "{:.1f}")
    row("fixed 1 s poller: GETs/task (computed)", "computed_gets", "{:.1f}")
    row("fixed 1 s poller: delay (computed)", "computed_delay", "{:.2%}")
    row("ours: GETs/task", "ours_gets", "{:.2f}")
    row("ours: task-list requests/task", "ours_listings", "{:.2f}")
    row("ours: requests/task (GETs + listings)", "ours_requests", "{:.2f}")
    row("requests ours / GETs fixed", "ratio", "{:.3f}x", "<= 0.25x",
        lambda v: v <= TARGET_RATIO)  # fmt: skip
    row("ours: delay, mean % of gen. time", "ours_delay", "{:.2%}", "<= 5%",
        lambda v: v <= TARGET_DELAY)  # fmt: skip
    row("ours: delay, p95 % of gen. time", "ours_delay_p95", "{:.2%}")
    row("ours: most GETs of one task", "ours_max", "{:.0f}")
    row("main-thread stall, max (ms, real)", "stall_max", "{:.1f}",
        "(with the 1 s poller's process busy; see the stall phase)")  # fmt: skip
    row("  the same loop in a bare process (ms)", "control_max", "{:.1f}")
    row("load average (1 min)", "load", "{:.1f}")
    row("submit_many of all tasks (ms, real)", "submit_ms", "{:.0f}")
    row("CPU time of this process (s)", "cpu_s", "{:.1f}")
    row("ours: lateness of checks, mean (ms, real)", "late_ms", "{:.1f}")
    row("ours: lateness of checks, p95 (ms, real)", "late_p95_ms", "{:.1f}")
    return lines


def workload(
    name: str, args: argparse.Namespace, tmp: str, *, compare: bool
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """One workload's cold and warm runs (with the 1 s poller beside ours when ``compare``
    and the workload lets it really run); returns their figures and raw results."""
    speed, measured, _ = WORKLOADS[name]
    tag = name if compare else f"{name}-stall"
    options = dict(speed=speed, concurrency=args.tasks, video_height=48, fps=4,
                   seed=args.seed, data_dir=str(Path(tmp) / f"videos-{tag}"))  # fmt: skip
    sim = Child(_serve, options, name, args.seed)
    sim.base_url, sim.api_key = sim.recv()  # type: ignore[attr-defined]
    fixed, control = None, Child(_control)
    if measured and compare:
        url, key = sim.base_url, sim.api_key  # type: ignore[attr-defined]
        fixed = Child(_fixed, url, key, 1.0 / speed, args.seed)
    runs, raw = {}, {}
    try:
        rng = random.Random(f"requests-{args.seed}")
        log_path = Path(tmp) / f"log-{tag}.sqlite"
        batches = [requests_for(name, args.tasks, rng, image=png()) for _ in range(2)]
        make_videos(sim, batches[0] + batches[1])
        for phase, reqs in zip(("cold", "warm"), batches, strict=True):
            # warm: a new client and poller on the same log, as after a restart
            raw[phase] = r = run(sim, fixed, control, speed, reqs, log_path, not args.no_listing)
            runs[phase] = figures(r, speed, args.seed)
            print(f"  {tag} {phase}: {runs[phase]['tasks']} tasks, load {r['load']:.1f}",
                  flush=True)  # fmt: skip
    finally:
        if fixed is not None:
            fixed.close()
        control.close()
        sim.close()
    return runs, raw


def stall_table(rows: list[tuple[str, str, dict[str, float]]]) -> list[str]:
    lines = [
        "\nmain-thread stall (README table): the same poller work without the 1 s poller's "
        "process; a 5 ms sleep loop on the main thread and one in a bare process, side by side",
        "| workload | run | ours p99 | ours max | ours max, less what the bare process "
        "shared | full collections: count, longest | ours max, less those too "
        "| bare process p99 | bare process max | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, phase, f in rows:
        keys = ("stall_max", "unshared_max", "ours_alone_max")
        ok = [verdict(f[k] < TARGET_STALL_MS) for k in keys]
        lines.append(
            f"| {name} | {phase} | {f['stall_p99']:.1f} ms | {f['stall_max']:.0f} ms {ok[0]} | "
            f"{f['unshared_max']:.0f} ms {ok[1]} | {f['gcs']:.0f}, {f['gc_max']:.0f} ms | "
            f"{f['ours_alone_max']:.0f} ms {ok[2]} | {f['control_p99']:.1f} ms | "
            f"{f['control_max']:.0f} ms | {f['load']:.1f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join([*WORKLOADS, "stall"]),
                    help="workloads to compare, and 'stall' for the stall phase")  # fmt: skip
    ap.add_argument("--stall-on", default="settings,uniform",
                    help="workloads whose poller work the stall phase repeats")  # fmt: skip
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-listing", action="store_true",
                    help="every check a GET (no task-list reads), for comparison")  # fmt: skip
    ap.add_argument("--dump", help="write every task's timeline here (JSON)")
    args = ap.parse_args(argv)
    dumps: dict[str, Any] = {}
    started = time.monotonic()
    lines: list[str] = []
    summary: list[tuple[str, str, dict[str, float]]] = []
    stalls: list[tuple[str, str, dict[str, float]]] = []
    only = args.only.split(",")
    print(f"{args.tasks} concurrent tasks per run; one cold and one warm run per workload",
          flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for name in only:
            if name == "stall":
                continue
            runs, raw = workload(name, args, tmp, compare=True)
            dumps.update({f"{name}-{phase}": r for phase, r in raw.items()})
            lines += report(name, WORKLOADS[name][0], runs)
            summary += [(name, phase, runs[phase]) for phase in ("cold", "warm")]
        if "stall" in only:
            for name in args.stall_on.split(","):
                runs, raw = workload(name, args, tmp, compare=False)
                dumps.update({f"{name}-stall-{phase}": r for phase, r in raw.items()})
                stalls += [(name, phase, runs[phase]) for phase in ("cold", "warm")]
    print("\n".join(lines))
    if summary:
        print("\nsummary (README table):")
        print(
            "| workload | run | GETs/task, 1 s poller | GETs/task, ours | listings/task, ours | "
            "ratio (GETs + listings) | delay, mean % of generation | p95 | most GETs on one "
            "task |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for name, phase, f in summary:
            ok = (f["ratio"] <= TARGET_RATIO, f["ours_delay"] <= TARGET_DELAY)
            print(
                f"| {name} | {phase} | {f['base_gets']:.1f} | {f['ours_gets']:.2f} | "
                f"{f['ours_listings']:.2f} | {f['ratio']:.3f}x {verdict(ok[0])} | {f['ours_delay']:.2%} {verdict(ok[1])} | "
                f"{f['ours_delay_p95']:.1%} | {f['ours_max']:.0f} |"
            )
    if stalls:
        print("\n".join(stall_table(stalls)))
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if args.dump:
        Path(args.dump).write_text(json.dumps(dumps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
