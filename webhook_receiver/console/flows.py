"""Pause and resume a flow: cleanup (no Cloudinary deletes; rows wait pending) and reconcile
(runs pause until resumed). The same functions as `mediasync cleanup pause|resume` and
/api/cleanup/pause|resume."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from werkzeug.wrappers import Response

from webhook_receiver.console import access, params
from webhook_receiver.console.blueprint import acting, bp, drain_cleanups
from workers import pauses
from workers.cleanup.queue import drains_for
from workers.operations import cleanup as cleanup_ops


@bp.post("/flows/<flow>/pause")
def flow_pause(flow: str) -> Response:
    _known(flow)
    reason = params.text_arg(request.form, "reason")
    with acting("flow.pause", flow=flow, reason=reason) as (session, outcome):
        by = access.current().actor
        outcome["changed"] = pauses.pause(session, by=by, reason=reason, flow=flow)
    return redirect(url_for("console.overview") + "#paused-flows")


@bp.post("/flows/<flow>/resume")
def flow_resume(flow: str) -> Response:
    _known(flow)
    due = 0
    with acting("flow.resume", flow=flow) as (session, outcome):
        outcome["changed"] = pauses.resume(session, flow=flow)
        if flow == pauses.CLEANUP_FLOW:
            due = cleanup_ops.sweep(session).due
    drain_cleanups(drains_for(due))
    return redirect(url_for("console.overview") + "#paused-flows")


def _known(flow: str) -> None:
    if flow not in pauses.FLOWS:
        abort(404, f"no flow {flow!r}: {', '.join(pauses.FLOWS)}")
