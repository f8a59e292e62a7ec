"""`mediasync` command line: parses arguments and hands each subcommand to its module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Mapping, Sequence

from mediasync.errors import describe

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
    "mediasync.commands.feed",
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
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of a failure instead of its one-line explanation "
        "(so does MEDIASYNC_LOG_LEVEL=DEBUG)",
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
        # the usage of the (sub)command the user typed, not the top level's
        chosen_parser(parser, namespace).error(
            f"unrecognized arguments: {' '.join(rest)}"
        )
    try:
        code: int = namespace.handler(namespace, rest)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        return explain_failure(exc, os.environ, debug=namespace.debug)
    return code


def explain_failure(exc: Exception, env: Mapping[str, str], *, debug: bool) -> int:
    """One line on stderr for a failure of the environment (a setting, an unreachable
    database, broker or account); a traceback for anything else, or when debugging."""
    line = describe(exc, env)
    debugging = debug or env.get("MEDIASYNC_LOG_LEVEL", "").strip().upper() == "DEBUG"
    if line is None or debugging:
        traceback.print_exception(exc)
        return EXIT_FAILURE
    print(f"mediasync: {line}", file=sys.stderr)
    return EXIT_FAILURE


def chosen_parser(
    parser: argparse.ArgumentParser, namespace: argparse.Namespace
) -> argparse.ArgumentParser:
    """The innermost subcommand's parser the line chose (`cleanup status` → its parser)."""
    while True:
        subparsers = [
            action
            for action in parser._actions  # argparse keeps no public list of them
            if isinstance(action, argparse._SubParsersAction)
        ]
        chosen = getattr(namespace, subparsers[0].dest, None) if subparsers else None
        if not subparsers or chosen not in subparsers[0].choices:
            return parser
        parser = subparsers[0].choices[chosen]


if __name__ == "__main__":
    sys.exit(main())
