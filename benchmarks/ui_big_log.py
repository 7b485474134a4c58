"""Notebook UI on a big task log: does each view cost what it shows, or the whole log?

Two logs are built the way ``tasklog.py`` builds one (``bulk_load``: the real schema and row
values in one transaction), one of 1,000 and one of 100,000 tasks; the succeeded rows get the
times, seeds and cached files the poller would have written. Each log also holds a 12-task
experiment and 50 unfinished tasks. Per operation the script prints the median time on each
log and their ratio, measured in the same run: a view that reads only what it shows has a
ratio near 1, one that reads every row about 100.

Run: python benchmarks/ui_big_log.py [--small 1000] [--big 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import png
from tasklog import bulk_load

from vidu_nb.client import ViduClient
from vidu_nb.client.task import Task
from vidu_nb.request.spec import Img2VideoRequest
from vidu_nb.simulator import Simulator
from vidu_nb.tracking.poller import Poller
from vidu_nb.tracking.poller.events import PollerEvent
from vidu_nb.tracking.tasklog import TaskLog
from vidu_nb.ui import FormState, compare, credits_view, form

EXPERIMENT = "cmp"
UNFINISHED = 50


def build(path: Path, rows: int, base_url: str) -> None:
    """A log of ``rows`` tasks: succeeded ones as the poller leaves them (times, seed, cached
    video), a 12-task experiment (3 prompts x 4 seeds) and ``UNFINISHED`` processing tasks."""
    request = Img2VideoRequest(image=png(), prompt="a lighthouse at dusk", model="viduq2-turbo",
                               duration=4, seed=5)  # fmt: skip
    bulk_load(path, rows - 12 - UNFINISHED, request)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE tasks SET seed = row_id % 1000, base_url = ?, created_at = submitted_at + 1,"
            " processing_at = submitted_at + 5, finished_at = submitted_at + 40 + row_id % 7,"
            " video_path = 'bench_cache/videos/' || task_id || '.mp4'",
            (base_url,),
        )
        template = conn.execute("SELECT * FROM tasks ORDER BY row_id DESC LIMIT 1").fetchone()
        cols = [d[0] for d in conn.execute("SELECT * FROM tasks LIMIT 0").description]
        extra = []
        for i in range(12):
            extra.append({"task_id": f"e{i}", "experiment": EXPERIMENT,
                          "prompt": f"prompt {i // 4}", "seed": i % 4})  # fmt: skip
        for i in range(UNFINISHED):
            extra.append({"task_id": f"p{i}", "state": "processing", "credits": None,
                          "finished_at": None, "video_path": None})  # fmt: skip
        for values in extra:
            row = {**dict(zip(cols, template, strict=True)), "row_id": None, **values}
            conn.execute(
                f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                tuple(row[c] for c in cols),
            )
    conn.close()


def timed(
    fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
) -> float:
    """Median seconds of ``repeat`` calls (``setup`` runs untimed before each)."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(path: Path, client: ViduClient, image: bytes, repeat: int) -> dict[str, float]:
    out: dict[str, float] = {}
    flips = iter(range(10**9))

    def poller_write(log: TaskLog) -> None:
        """What the poller does before an event: one task's new state in the log."""
        log.update(Task(id="p0", state="queueing" if next(flips) % 2 else "processing"))

    # A fresh TaskLog per form, as in a new kernel: nothing cached yet. The form is filled in
    # (an image chosen), so building it shows the estimate learned from the log.
    def new_form() -> None:
        with TaskLog(path) as log:
            state = FormState(image_data=image, model="viduq2-turbo", duration=4)
            f = form(client, log, experiment="bench", state=state)
            assert "learned" in f.estimate_html.value, f.estimate_html.value
            assert len(f.reuse.options) == 30
            f._repr_mimebundle_()
            f.close()

    out["form: construct + display"] = timed(new_form, repeat)

    with TaskLog(path) as log:
        f = form(client, log)
        f.state.image_data = image
        f.state.model, f.state.duration = "viduq2-turbo", 4
        prompts = iter(range(10**9))

        def edit() -> None:
            f.state.prompt = f"a lighthouse at dusk {next(prompts)}"

        assert "learned" in f.estimate_html.value, f.estimate_html.value
        out["estimate redraw (field change)"] = timed(edit, repeat * 4)
        out["estimate redraw after a log write"] = timed(
            edit, repeat * 4, lambda: poller_write(log)
        )

        poller = Poller(client, log, cache=False)  # not started: events are sent by hand
        # The form listens too: a success refreshes its seed choices and its estimate.
        state = FormState(image_data=image, model="viduq2-turbo", duration=4)
        f2 = form(client, log, poller, state=state)
        card = f2.add_card("p1")
        hub = f2.session.hub
        states = iter(range(10**9))

        def event() -> None:
            new = "success" if next(states) % 2 else "processing"
            hub.on_event(PollerEvent("h", "p1", "processing", new))

        out["card update on a poller event"] = timed(event, repeat * 4, lambda: poller_write(log))
        assert card.view.task_id == "p1"

        def grid() -> None:
            g = compare(log.to_frame(experiment=EXPERIMENT), rows="prompt", cols="seed", log=log)
            assert len(g.row_titles) == 3 and g.cols == 4
            g.close()

        out["compare() of a 12-task experiment"] = timed(grid, repeat)
        out["credits view"] = timed(lambda: credits_view(log).close(), max(1, repeat // 2))

    pollers: list[Poller] = []

    def stop_all() -> None:
        while pollers:
            pollers.pop().stop()

    def resume() -> None:
        with TaskLog(path) as log:
            t = time.perf_counter()
            pollers.append(Poller.resume(client, log, cache=False))
            times.append(time.perf_counter() - t)
            stop_all()

    times: list[float] = []
    for _ in range(repeat):
        resume()
    out[f"Poller.resume() ({UNFINISHED} unfinished)"] = statistics.median(times)

    def start() -> None:
        with TaskLog(path) as log:
            t = time.perf_counter()
            pollers.append(Poller(client, log, cache=False).start())
            times.append(time.perf_counter() - t)
            stop_all()

    times = []
    for _ in range(repeat):
        start()
    out["Poller start (learn_history)"] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--big", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    image = png()
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, Simulator(speed=100, video_height=96) as sim:
        client = ViduClient(api_key=sim.api_key, base_url=sim.base_url)
        for rows in (args.small, args.big):
            path = Path(tmp) / f"log{rows}.sqlite"
            t = time.perf_counter()
            build(path, rows, client.base_url)
            print(f"built a log of {rows:,} tasks in {time.perf_counter() - t:.1f} s", flush=True)
            results[rows] = measure(path, client, image, args.repeat)
    small, big = results[args.small], results[args.big]
    print(f"{'operation (median ms)':40}{args.small:>10,}{args.big:>10,}{'ratio':>9}")
    for name in small:
        a, b = small[name] * 1e3, big[name] * 1e3
        print(f"{name:40}{a:10.1f}{b:10.1f}{b / a:8.1f}x")
    print(f"ratio = time at {args.big:,} tasks / time at {args.small:,} (same run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
