"""`mediasync` command line: parses arguments and hands each subcommand to its module."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from workers.config import SettingsError

# Each module registers one subcommand; importing them is cheap (heavy imports happen in run).
COMMAND_MODULES = (
    "mediasync.commands.migrate",
    "mediasync.commands.emulator",
    "mediasync.commands.worker",
    "mediasync.commands.receiver",
    "mediasync.commands.beat",
    "mediasync.commands.flower",
    "mediasync.commands.dev",
    "mediasync.commands.demo",
    "mediasync.commands.explain",
    "mediasync.commands.reconcile",
    "mediasync.commands.listener",
    "mediasync.commands.cleanup",
    "mediasync.commands.doctor",
    "mediasync.commands.connect",
)

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mediasync",
        description="Keep a Postgres mirror of a Cloudinary media account true, "
        "in both directions.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage. Configuration comes from the "
        "environment (DATABASE_URL, REDIS_URL, CLOUDINARY_URL, MEDIASYNC_*); see README.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    # Commands that hand the rest of the line to another program (celery, the emulator)
    # must see it untouched, flags included.
    parser = build_parser()
    namespace, rest = parser.parse_known_args(args)
    if rest and not getattr(namespace, "passthrough", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        code: int = namespace.handler(namespace, rest)
    except SettingsError as exc:
        print(f"mediasync: configuration error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
