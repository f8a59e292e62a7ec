"""`mediasync connect --public-url URL`: register the receiver with Cloudinary's Triggers API."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import urlsplit


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "connect",
        help="register the receiver's webhook URL with Cloudinary (Triggers API)",
        description="Make Cloudinary post every notification type mediasync applies to "
        "PUBLIC_URL/webhooks/cloudinary: creates the notification triggers that are "
        "missing and prints each change (a second run changes nothing). Triggers of other "
        "URLs are left alone. Note: an upload's own notification_url overrides these "
        "triggers. Needs CLOUDINARY_URL.",
    )
    parser.add_argument(
        "--public-url",
        help="how Cloudinary reaches the receiver, https://host[/prefix] "
        "(default: MEDIASYNC_PUBLIC_URL)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would change; change nothing"
    )
    parser.add_argument("--json", action="store_true", help="one JSON document")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    from mediasync import notification_triggers as triggers
    from workers.cloudinary_client import CloudinaryClient
    from workers.config import Settings

    settings = Settings.from_env(os.environ, required=("CLOUDINARY_URL",))
    public_url = (args.public_url or settings.public_url or "").strip()
    problem = _public_url_problem(public_url)
    if problem:
        print(f"mediasync connect: {problem}", file=sys.stderr)
        return 2
    url = triggers.webhook_url(public_url)
    client = CloudinaryClient(settings.account, timeout=15)
    try:
        changes = triggers.plan(client.triggers(), url)
        made = [] if args.dry_run else triggers.apply(client, changes)
    # the SDK raises its own errors, a bare Exception("Error 502 - …") and transport errors
    except Exception as exc:
        print(f"mediasync connect: Cloudinary answered: {exc}", file=sys.stderr)
        return 1
    if args.json:
        document = {
            "webhook_url": url,
            "dry_run": args.dry_run,
            "changes": [vars(c) for c in (changes if args.dry_run else made)],
            "warning": triggers.OVERRIDE_WARNING,
        }
        print(json.dumps(document, indent=2))
        return 0
    verb = "would " if args.dry_run else ""
    for change in changes if args.dry_run else made:
        print(f"{verb}{change.describe()}")
    if not changes:
        print(f"nothing to change: every event type mediasync applies goes to {url}")
    print(f"note: {triggers.OVERRIDE_WARNING}")
    return 0


def _public_url_problem(public_url: str) -> str | None:
    if not public_url:
        return "give --public-url https://host (or set MEDIASYNC_PUBLIC_URL)"
    parts = urlsplit(public_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--public-url must be an http:// or https:// URL, got {public_url!r}"
    if parts.query or parts.fragment:
        return "--public-url must not have a query or fragment"
    return None
