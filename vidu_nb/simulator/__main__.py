"""``python -m vidu_nb.simulator``: serve the simulated API until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .contract import CANCEL_ANSWERS, CREDITS_FIELDS
from .core import Simulator
from .faults import Faults


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vidu-nb simulator",
        description="Serve a local simulator of the Vidu API (no credits, real videos).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    p.add_argument("--api-key", default="sim-key", help="the key clients must send")
    p.add_argument("--prefix", default="", help="path prefix, e.g. /vidu like the reseller host")
    p.add_argument(
        "--auth-scheme", default=None, help="accept only this scheme (default: Token or Bearer)"
    )
    p.add_argument("--speed", type=float, default=5.0, help="time factor (default 5)")
    p.add_argument("--concurrency", type=int, default=5, help="tasks processed at once")
    p.add_argument("--url-ttl", type=float, default=86400.0, help="file URL lifetime, seconds")
    p.add_argument(
        "--video-height", type=int, default=360,
        help="lines of a 1080p result video; other resolutions are scaled alike (default 360)",
    )  # fmt: skip
    p.add_argument("--data-dir", default=None, help="keep encoded videos here across runs")
    p.add_argument("--seed", type=int, default=None, help="seed for ids, seeds and faults")
    p.add_argument("--fault-rate-429", type=float, default=0.0, metavar="P")
    p.add_argument("--fault-rate-500", type=float, default=0.0, metavar="P")
    p.add_argument("--fault-rate-drop", type=float, default=0.0, metavar="P")
    p.add_argument(
        "--fault-rate-fail", type=float, default=0.0, metavar="P", help="share of tasks that fail"
    )
    p.add_argument("--fault-slow", type=float, default=0.0, metavar="SECONDS")
    p.add_argument(
        "--credits", type=int, default=None, metavar="N",
        help="the key's starting balance (default: unlimited)",
    )  # fmt: skip
    p.add_argument(
        "--cancel-answer", choices=CANCEL_ANSWERS, default="{}",
        help="body of a successful cancel: {} (default), null or '' (empty)",
    )  # fmt: skip
    p.add_argument(
        "--credits-field", choices=CREDITS_FIELDS, default="remains",
        help="name of the balance array in GET /ent/v2/credits (default remains)",
    )  # fmt: skip
    p.add_argument(
        "--still", action="store_true", help="clips do not move (a known still for measures)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return p


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None, *, stop: threading.Event | None = None) -> int:
    """Run until Ctrl-C (or until ``stop`` is set, for embedding)."""
    args = build_parser().parse_args(argv)
    for name in ("fault_rate_429", "fault_rate_500", "fault_rate_drop", "fault_rate_fail"):
        value = getattr(args, name)
        if not 0.0 <= value <= 1.0:
            flag = "--" + name.replace("_", "-")
            print(f"{flag}={value}: must be a probability within 0..1", file=sys.stderr)
            return 2
    if args.credits is not None and args.credits < 0:
        print(f"--credits={args.credits}: must be 0 or more", file=sys.stderr)
        return 2
    faults = Faults(
        rate_429=args.fault_rate_429,
        rate_500=args.fault_rate_500,
        rate_drop=args.fault_rate_drop,
        rate_fail=args.fault_rate_fail,
        slow=args.fault_slow,
        seed=args.seed,
    )
    sim = Simulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        prefix=args.prefix,
        auth_scheme=args.auth_scheme,
        speed=args.speed,
        concurrency=args.concurrency,
        url_ttl=args.url_ttl,
        video_height=args.video_height,
        faults=faults,
        seed=args.seed,
        data_dir=args.data_dir,
        verbose=args.verbose,
        credits=args.credits,
        cancel_answer=args.cancel_answer,
        credits_field=args.credits_field,
        still=args.still,
    )
    try:
        sim.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"Vidu simulator serving at {sim.base_url}", flush=True)
    print("Set VIDU_BASE_URL to that address and VIDU_API_KEY to the --api-key value.", flush=True)
    if stop is None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
