"""`python -m localsite SITE [--port 8000] ...`: serve a folder as the finews site until killed.

Prints the URL (`http://127.0.0.1:PORT`) on its first line, so a caller can start it with
`--port 0` and read where it listens (`bench/run.py` does). `--fail-ratio` above 0 switches on a
`FaultPlan` (`localsite.faults`); `--share-mode` says how the share page answers.

    python -m localsite tests/fixtures/site --port 8000 --fail-ratio 0.2 --seed 1
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from localsite.faults import ALL_FAULTS, FaultPlan, parse_kinds
from localsite.server import serve
from localsite.share import ShareMode


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m localsite",
        description="Serve a folder as the finews site on 127.0.0.1 until killed.",
    )
    parser.add_argument("root", type=Path, help="folder served as the site root")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--share-mode", choices=[m.value for m in ShareMode], default="missing")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--fail-ratio", type=float, default=0.0, help="share of failing paths")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fault-kinds", default="all", help="comma-separated: " + ",".join(ALL_FAULTS)
    )
    parser.add_argument("--max-failures", type=int, default=1, help="failed attempts per path")
    parser.add_argument("--slow-seconds", type=float, default=3.0)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(None if argv is None else list(argv))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s: %(message)s")

    faults = None
    if args.fail_ratio > 0:
        faults = FaultPlan(
            ratio=args.fail_ratio,
            seed=args.seed,
            kinds=parse_kinds(args.fault_kinds),
            max_failures_per_path=args.max_failures,
            slow_seconds=args.slow_seconds,
        )
    server = serve(
        args.root,
        args.host,
        args.port,
        share_mode=args.share_mode,
        faults=faults,
        hang_seconds=args.hang_seconds,
        max_log=10_000,
    )
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(server.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
