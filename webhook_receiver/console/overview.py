"""The overview: is the mirror true right now? (workers/operations/overview.py gathers it.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from flask import render_template, request

from webhook_receiver.console.blueprint import bp, logger, state
from workers.cleanup.guard import Guardrails
from workers.operations.overview import overview as gather

REFRESH_S = 15
# in a source checkout; an installed package has no deploy/ next to it
ALERT_RULES = Path(__file__).resolve().parents[2] / "deploy/alerts/mediasync-rules.yml"


@bp.get("/")
def overview() -> str:
    ops = state()
    with ops.sessions.begin() as session:
        seen = gather(session, ops.settings)
    rails = Guardrails.from_settings(ops.settings)
    refresh = request.args.get("refresh") != "0"
    return render_template(
        "console/overview.html",
        o=seen,
        budget=_budget(),
        rails=rails,
        refresh_s=REFRESH_S if refresh else None,
    )


def _budget() -> dict[str, Any] | None:
    """The Admin API budget as the governor last saw it; None when Redis does not answer
    (the page says so rather than failing)."""
    governor = state().governor
    if governor is None:
        return {"known": False, "note": "no Cloudinary account is configured"}
    try:
        snap = governor.snapshot()
    except (redis.RedisError, OSError) as exc:
        logger.warning("console: Redis unavailable for the budget (%s)", exc)
        return None
    values = snap.as_dict()
    if snap.known and snap.limit:
        values["share"] = (snap.remaining or 0) / snap.limit
    return values


@bp.get("/alerts")
def alerts() -> str:
    rules = ALERT_RULES.read_text() if ALERT_RULES.is_file() else None
    return render_template("console/alerts.html", rules=rules, path=ALERT_RULES.name)
