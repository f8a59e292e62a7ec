"""`mediasync doctor`: check everything a working mirror needs, one line per check."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check settings, database, broker, workers, Cloudinary and webhooks",
        description="Check, in order: settings; the database (reachable, migrated, delete "
        "triggers); the broker; a worker on every queue; the cleanup listener and beat; "
        "Cloudinary's credentials and signature algorithm; the receiver at "
        "MEDIASYNC_PUBLIC_URL; Cloudinary's notification triggers for it; a signed test "
        "notification posted to the receiver and applied (its records are removed); clock "
        "skew against the database; the Admin API budget left. Prints one line per check "
        "with ✓ or ✗ and the fix. Exit 0 only when every check passes.",
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.add_argument(
        "--timeout",
        type=float,
        default=3.0,
        help="seconds each connection or answer may take (default 3)",
    )
    parser.add_argument(
        "--apply-wait",
        type=float,
        default=20.0,
        help="seconds the test notification may take to be applied (default 20)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync.doctor import run_checks

    results = run_checks(
        os.environ, timeout_s=args.timeout, apply_wait_s=args.apply_wait
    )
    healthy = all(result.passed for result in results)
    if args.json:
        document = {"ok": healthy, "checks": [r.as_dict() for r in results]}
        print(json.dumps(document, indent=2))
    else:
        for result in results:
            print(result.line())
        failing = sum(not r.passed for r in results)
        print("all checks pass" if healthy else f"{failing} check(s) did not pass")
    if not healthy:
        # the report is on stdout; stderr says in one line what to fix first
        failures = [r for r in results if r.status == "fail"] or results
        more = len(failures) - 1
        also = f" (doctor: {more} more check(s) did not pass)" if more else ""
        print(f"mediasync: {failures[0].summary()}{also}", file=sys.stderr)
    return 0 if healthy else 1
