"""Task log at 100,000 tasks: append one, load the DataFrame, file size; vs a CSV rewritten
with pandas on every change.

The 100,000 rows are bulk-loaded in one transaction (the schema and row values of the real log),
then appends and updates go through ``TaskLog`` one transaction each (``synchronous=FULL``, as in
use). The CSV baseline is timed per change at the same size: one full ``DataFrame.to_csv`` of
the same 100,000 rows is what "rewrite on every change" costs for each change.

Run: python benchmarks/tasklog.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import io
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from PIL import Image

from vidu_nb.spec import Img2VideoRequest
from vidu_nb.task import Task
from vidu_nb.tasklog import TaskLog
from vidu_nb.tasklog.rows import request_values, task_values


def timed(fn, repeat: int) -> float:
    """Median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def bulk_load(path: Path, rows: int, request: Img2VideoRequest) -> None:
    TaskLog(path).close()
    base = request_values(request, experiment="bench", tags=["a"], notes="", base_url=None,
                          thumbnail_path=None)  # fmt: skip
    base.update(task_values(Task(id="x", state="success", credits=150, seed=1)))
    cols = list(base)
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO tasks ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
        (
            tuple(
                {
                    **base,
                    "task_id": f"b{i}",
                    "prompt": f"prompt {i % 997}",
                    "credits": 100 + i % 50,
                    "submitted_at": base["submitted_at"] - i,
                }[c]
                for c in cols
            )  # fmt: skip
            for i in range(rows)
        ),
    )
    conn.execute("COMMIT")
    conn.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    buf = io.BytesIO()
    Image.new("RGB", (320, 180), (90, 30, 160)).save(buf, "PNG")
    request = Img2VideoRequest(image=buf.getvalue(), prompt="a lighthouse at dusk", seed=5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite"
        t = time.perf_counter()
        bulk_load(path, args.rows, request)
        load_s = time.perf_counter() - t
        with TaskLog(path) as log:
            counter = iter(range(10**9))

            def append() -> None:
                log.record_submission(request, Task(id=f"n{next(counter)}", credits=150))

            def update() -> None:
                log.update(Task(id="b1", state="processing" if next(counter) % 2 else "queueing"))

            append_s = timed(append, 50)
            update_s = timed(update, 50)
            frame_s = timed(lambda: log.df, 3)
            df = log.df
        size = path.stat().st_size + sum(
            p.stat().st_size for p in path.parent.glob(path.name + "-*")
        )
        csv = Path(tmp) / "bench.csv"
        plain = df.astype({c: "object" for c in df.columns if str(df[c].dtype) == "category"})
        csv_write_s = timed(lambda: plain.to_csv(csv, index=False), 3)
        csv_read_s = timed(lambda: pd.read_csv(csv, low_memory=False), 3)
        csv_size = csv.stat().st_size
    n = len(df)
    print(f"task log with {n:,} tasks (bulk load of {args.rows:,} rows took {load_s:.1f} s)")
    print(f"{'':34}{'SQLite log':>14}{'CSV rewrite':>14}{'ratio':>10}")
    rows = [
        ("append one task (ms)", append_s * 1e3, csv_write_s * 1e3),
        ("update one task (ms)", update_s * 1e3, csv_write_s * 1e3),
        ("load as DataFrame (s)", frame_s, csv_read_s),
        ("file size (MB)", size / 1e6, csv_size / 1e6),
    ]
    for label, ours, base in rows:
        print(f"{label:34}{ours:14.2f}{base:14.2f}{base / ours:9.1f}x")
    print("CSV column: one full DataFrame.to_csv of the same rows per change (measured at this "
          "size, not extrapolated); ratio = CSV / SQLite")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
