"""`mediasync demo`: run the end-to-end demonstration (starting `dev` if none runs)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mediasync.commands.dev import DEFAULT_STATE_DIR


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="show the sync working end to end against the emulator",
        description="Against a running `mediasync dev` (or one it starts and stops): upload "
        "50 assets to the Cloudinary emulator, watch the signed webhooks fill media_assets, "
        "rename and re-tag a few, delete 20 rows with SQL and soft-delete 5, watch them "
        "disappear from the emulator, run a reconcile, and print a before/after table with "
        "timings. Exits 0 only when the mirror and the emulator agree.",
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.demo import Demo, DemoFailed
    from mediasync.devstack import DevStack, running_stack

    def say(line: str) -> None:
        print(line, flush=True)

    running = running_stack(args.state_dir)
    stack: DevStack | None = None
    log_path = args.state_dir / "demo-dev.log"
    try:
        if running:
            say(f"demo | using the mediasync dev running from {args.state_dir}/")
            env = {**os.environ, **running["env"]}
            emulator_url = running.get("urls", {}).get("emulator")
        else:
            say(f"demo | starting mediasync dev (logs: {log_path})")
            args.state_dir.mkdir(parents=True, exist_ok=True)
            log = open(log_path, "a")  # noqa: SIM115 -- closed after the stack stops
            stack = DevStack(
                args.state_dir,
                os.environ,
                write=lambda line: print(line, file=log, flush=True),
            )
            stack.start()
            env = {**os.environ, **stack.env}
            emulator_url = stack.urls.get("emulator")
        if not emulator_url:
            say(
                "demo | the demo runs against the emulator; unset CLOUDINARY_URL to use it"
            )
            return 2
        demo = Demo(env, emulator_url, write=say)
        try:
            report = demo.run()
        except DemoFailed as exc:
            say(f"demo | FAILED: {exc}")
            return 1
        say(report.table())
        return 0 if report.agree else 1
    except RuntimeError as exc:
        print(f"mediasync demo: {exc}", file=sys.stderr)
        return 1
    finally:
        if stack is not None:
            say("demo | stopping mediasync dev")
            stack.stop()
