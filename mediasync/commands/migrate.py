"""`mediasync migrate`: apply the schema migrations."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from db.migrate import MigrationError, migrate
from workers.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="apply database migrations (idempotent, safe to run concurrently)",
        description="Apply the numbered SQL migrations in db/migrations that the database "
        "lacks, each in its own transaction, under an advisory lock so that several "
        "replicas may run it at once. Prints what it applied. Needs DATABASE_URL.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    try:
        migrate(settings.database_url)
    except MigrationError as exc:
        print(f"mediasync migrate: {exc}", file=sys.stderr)
        return 1
    return 0
