"""`mediasync migrate`: apply the schema migrations."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from db.assets_view import AssetsViewError, ensure_assets_view
from db.migrate import MigrationError, migrate
from db.roles import ensure_roles
from workers.config import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="apply database migrations (idempotent, safe to run concurrently)",
        description="Apply the numbered SQL migrations in db/migrations that the database "
        "lacks, each in its own transaction, under an advisory lock so that several "
        "replicas may run it at once. Prints what it applied. Needs DATABASE_URL, the "
        "owner's: every table, function and trigger lands in MEDIASYNC_SCHEMA (default: "
        "the server's, public). With MEDIASYNC_ASSETS_VIEW it also (re)makes the "
        "media_assets view in that schema of the host's.",
    )
    parser.add_argument(
        "--roles",
        action="store_true",
        help="also create or update the receiver, worker and application roles "
        "(MEDIASYNC_RECEIVER_ROLE, MEDIASYNC_WORKER_ROLE, MEDIASYNC_APP_ROLE; passwords "
        "from MEDIASYNC_RECEIVER_PASSWORD, …) with only the grants each needs",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    try:
        migrate(settings.database_url)
        if settings.assets_view_schema:
            view = ensure_assets_view(
                settings.database_url, settings.assets_view_schema
            )
            print(f"view {view} is up to date")
        if args.roles:
            ensure_roles(
                settings.database_url,
                settings.roles,
                dict(settings.role_passwords),
                assets_view_schema=settings.assets_view_schema,
            )
    except (MigrationError, AssetsViewError) as exc:
        print(f"mediasync migrate: {exc}", file=sys.stderr)
        return 1
    return 0
