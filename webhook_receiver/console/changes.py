"""Live changes: the latest changes of media_assets, filtered as the change feed filters.

Without JavaScript the page lists the latest changes from mediasync_changes (workers/
operations/changes.py) with a link to refresh. With it, static/live_changes.js opens an
EventSource on the feed (MEDIASYNC_FEED_PUBLIC_URL, another origin: the CSP's connect-src
names it) from the newest id the page shows, and prepends each change as it comes.

The browser never gets an operator or feed token: the page carries a grant (change_feed/
grants.py), read-only and valid for minutes, and /console/changes/grant gives the logged-in
operator a fresh one when the feed refuses an expired grant.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, request, url_for
from werkzeug.wrappers import Response

from webhook_receiver.change_feed import grants
from webhook_receiver.change_feed.http import FEED_PATH
from webhook_receiver.console import access, params
from webhook_receiver.console.blueprint import PAGE_SIZE, BadInput, bp, state
from workers.config import Settings
from workers.operations import changes

FIELDS = ("prefix", "folder", "resource_type")
RESOURCE_CHOICES = ("any", *changes.RESOURCE_TYPES)


def change_filter() -> changes.ChangeFilter:
    folder = params.text_arg(request.args, "folder")
    if folder is not None:
        folder = folder.strip("/")
        if not folder:
            raise BadInput("folder must name a folder")
    kind = params.choice(request.args, "resource_type", RESOURCE_CHOICES, "any")
    return changes.ChangeFilter(
        public_id_prefix=params.text_arg(request.args, "prefix"),
        folder=folder,
        resource_type=None if kind == "any" else kind,
    )


def _signing_token(config: Settings) -> str | None:
    return grants.signing_token(config.feed_token, config.api_token)


def live_off_reason(config: Settings) -> str | None:
    """Why the page cannot go live; None when it can."""
    if not config.feed_public_url:
        return "set MEDIASYNC_FEED_PUBLIC_URL to where browsers reach `mediasync feed`"
    if not _signing_token(config):
        return (
            "set MEDIASYNC_FEED_TOKEN (the same as the feed's) so the console can "
            "grant access to it"
        )
    return None


@bp.get("/changes")
def change_list() -> str:
    where = change_filter()
    before = params.whole(request.args, "after")
    with state().sessions.begin() as session:
        page = changes.latest(session, where, limit=PAGE_SIZE, before_id=before)
        head = changes.head(session)
    config = state().settings
    off = live_off_reason(config)
    live: dict[str, Any] | None = None
    if off is None and before is None:
        grant = _grant(config)
        live = {
            "feed_url": f"{config.feed_public_url}{FEED_PATH}",
            "grant": grant.token,
            "grant_url": url_for("console.change_grant"),
            "asset_url": url_for("console.asset_page"),
            "last_id": head,
            "filters": where.feed_params(),
        }
    return render_template(
        "console/changes.html",
        page=page,
        where=where,
        choices=RESOURCE_CHOICES,
        kept=params.kept(request.args, FIELDS),
        live=live,
        live_off=off,
    )


@bp.get("/changes/grant")
def change_grant() -> Response | tuple[Response, int]:
    """A fresh grant for the logged-in operator (read-only logins too: it only reads)."""
    config = state().settings
    off = live_off_reason(config)
    if off is not None:
        return jsonify({"error": f"the live view is off: {off}"}), 404
    grant = _grant(config)
    return jsonify({"token": grant.token, "expires_at": grant.expires_at})


def _grant(config: Settings) -> grants.Grant:
    token = _signing_token(config)
    assert token is not None  # noqa: S101  # live_off_reason said there is one
    return grants.issue(token, access.current().name)
