"""`mediasync dev`: run the whole system on this machine until Ctrl-C."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_STATE_DIR = Path(".mediasync")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dev",
        help="run everything locally (embedded Postgres/Redis/emulator when unset)",
        description="Start the whole system on this machine: PostgreSQL and Redis from "
        "DATABASE_URL/REDIS_URL, or embedded ones kept under --state-dir; the Cloudinary "
        "emulator when CLOUDINARY_URL is unset; migrate; then receiver, worker, beat, "
        "listener and Flower. Prints every URL and credential, streams logs with a prefix "
        "per process, restarts a process that dies (at most 3 times a minute, else "
        "stops with exit 1; pids in STATE_DIR/children.json), and stops everything "
        "within 10 s on Ctrl-C or SIGTERM.",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where embedded data and generated credentials live (default ./.mediasync)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.devstack import DevStack, running_stack

    if running_stack(args.state_dir):
        print(
            f"mediasync dev: already running from {args.state_dir}/ (see dev.json)",
            file=sys.stderr,
        )
        return 1
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    stack = DevStack(
        args.state_dir, os.environ, write=lambda line: print(line, flush=True)
    )
    code = 0
    try:
        stack.start()
        print(stack.banner(), flush=True)
        while not stopping.wait(0.5):
            # a dead child is reported (which, and its last lines) and restarted; one that
            # keeps dying stops everything, with a non-zero exit
            gave_up = stack.supervise()
            if gave_up:
                print(f"mediasync dev: {gave_up}", flush=True)
                code = 1
                break
    except RuntimeError as exc:
        print(f"mediasync dev: {exc}", file=sys.stderr)
        code = 1
    finally:
        stack.stop()
    print("mediasync dev: stopped", flush=True)
    return code
