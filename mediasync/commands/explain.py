"""`mediasync explain PUBLIC_ID`: the asset's history across every table, in time order."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show an asset's story: webhooks, row changes, cleanups, repairs",
        description="Print everything mediasync knows about one public_id, in time order: "
        "webhook notifications received and how they were applied, the mirror row's "
        "creation and deletion, cleanup attempts with Cloudinary's answers, and "
        "reconcile repairs. Needs DATABASE_URL.",
    )
    parser.add_argument("public_id")
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from db.session import make_engine, make_sessionmaker
    from workers.config import Settings
    from workers.operations.history import asset_history

    settings = Settings.from_env(os.environ, required=("DATABASE_URL",))
    engine = make_engine(settings.database_url, pool_size=1)
    try:
        with make_sessionmaker(engine)() as session:
            events = asset_history(session, args.public_id)
    finally:
        engine.dispose()
    if args.json:
        document = {
            "public_id": args.public_id,
            "events": [e.as_json() for e in events],
        }
        print(json.dumps(document, indent=2, default=str))
        return 0 if events else 1
    if not events:
        print(f"nothing is known about {args.public_id!r}")
        return 1
    for event in events:
        print(f"{event.at:%Y-%m-%d %H:%M:%S.%f}  {event.kind:<8} {event.summary}")
    return 0
