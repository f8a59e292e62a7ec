"""The login form (the operator token, or a named one) and the logout button."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from webhook_receiver.console import access
from webhook_receiver.console.blueprint import bp, logger, state
from workers.operations import audit


@bp.get("/login")
def login() -> str:
    return render_template("console/login.html", next=_next(), failed=False)


@bp.post("/login")
def login_submit() -> Response | tuple[str, int]:
    found = access.authenticate(access.settings(), request.form.get("token", ""))
    _audit_login(found)
    if found is None:
        page = render_template("console/login.html", next=_next(), failed=True)
        return page, 401
    access.start_session(found)
    return redirect(_next())


@bp.post("/logout")
def logout() -> Response:
    access.end_session()
    return redirect(url_for("console.login"))


def _next() -> str:
    """Where to go after the login: a console page of this site, nothing else."""
    target = request.values.get("next", "")
    if target.startswith("/console/") and "\\" not in target and "//" not in target:
        return target
    return url_for("console.overview")


def _audit_login(found: access.Login | None) -> None:
    details = {"address": request.remote_addr or "unknown"}
    try:
        with state().sessions.begin() as session:
            if found is None:
                audit.record(session, "login", "", status="refused", details=details)
            else:
                details["kind"] = found.kind
                audit.record(session, "login", found.name, details=details)
    except OperationalError:
        logger.warning("console: could not audit a login")
