"""What the code says the deploy files must agree with: subcommands, env names, queues.

Read from the code itself, never copied: a new setting or subcommand needs no test change.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import io
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# An environment variable's name: upper case, with at least one underscore.
ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")

# Set by the deploy files for the Python runtime, not for mediasync's settings.
THIRD_PARTY_ENV = frozenset({"PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"})

# The settings modules each process reads (workers/config.py is the only env reader, with
# its parsers in workers/env_values.py; see docs/architecture.md).
_APP_CONFIG = ("workers/config.py", "workers/env_values.py")
_CONFIG_BY_SUBCOMMAND = {"emulator": ("cloudinary_emulator/config.py",)}


def env_names_read_by(relative_path: str) -> frozenset[str]:
    """Every env-name-shaped string literal in a settings module's source."""
    path = REPO / relative_path
    if not path.exists():
        return frozenset()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return frozenset(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and ENV_NAME.fullmatch(node.value)
    )


@functools.cache
def allowed_env(subcommand: str) -> frozenset[str]:
    """Names a process running `mediasync SUBCOMMAND` may be given."""
    sources = _CONFIG_BY_SUBCOMMAND.get(subcommand, _APP_CONFIG)
    names: frozenset[str] = THIRD_PARTY_ENV
    for source in sources:
        names |= env_names_read_by(source)
    return names


@functools.cache
def _parser() -> argparse.ArgumentParser:
    from mediasync.cli import build_parser

    return build_parser()


def subcommands() -> frozenset[str]:
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return frozenset(action.choices)
    raise AssertionError("mediasync.cli.build_parser() has no subcommands")


def argv_problems(argv: list[str], where: str) -> list[str]:
    """Why `mediasync *argv` would not start, as the CLI itself parses it."""
    if not argv:
        return [f"{where}: no mediasync subcommand given"]
    if argv[0] not in subcommands():
        return [
            f"{where}: `{argv[0]}` is not a mediasync subcommand "
            f"(mediasync.cli has: {', '.join(sorted(subcommands()))})"
        ]
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(errors):
            namespace, rest = _parser().parse_known_args(argv)
    except SystemExit:
        return [f"{where}: `mediasync {' '.join(argv)}`: {errors.getvalue().strip()}"]
    if rest and not getattr(namespace, "passthrough", False):
        return [f"{where}: `mediasync {argv[0]}` does not accept {' '.join(rest)}"]
    return []


def celery_queues() -> frozenset[str]:
    from workers.celery_app import ALL_QUEUES

    return frozenset(ALL_QUEUES)
