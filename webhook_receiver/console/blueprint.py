"""The console's blueprint: access hooks, error pages, template helpers, and what every view
shares (the operator's transaction with its audit entry, parameters, wake-ups)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, g, render_template, request, url_for
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from webhook_receiver.console import access
from webhook_receiver.operator_api.http import enqueue
from webhook_receiver.operator_api.state import Operator, operator
from workers.cleanup import tasks as cleanup_tasks
from workers.operations import audit, listings

logger = logging.getLogger(__name__)

bp = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
)
bp.before_request(access.load_session)
bp.after_request(access.save_session)

PAGE_SIZE = 50


class BadInput(Exception):
    """A filter or form value the console cannot use: a 400 page saying which."""


def state() -> Operator:
    return operator(current_app)


@contextmanager
def acting(action: str, **details: Any) -> Iterator[tuple[Session, dict[str, Any]]]:
    """A transaction for an admin's action, audited in it as `console.<action>` with the
    operator's name; the view adds what happened to the yielded dict before it commits."""
    login = access.require_admin()
    with state().sessions.begin() as session:
        outcome: dict[str, Any] = dict(details)
        yield session, outcome
        public_id = outcome.pop("public_id", None)
        audit.record(
            session,
            action,
            login.name,
            public_id=public_id,
            details={"kind": login.kind, **outcome},
        )


def wake(what: str, send: Callable[[], None]) -> bool:
    """After the commit: a broker outage is reported, never fatal (the sweeps catch up)."""
    return enqueue(what, send)


def drain_cleanups(count: int) -> bool:
    """Send `count` cleanup drains after the commit (none: nothing to send)."""
    if not count:
        return True
    return wake(f"{count} cleanup drains", lambda: cleanup_tasks.enqueue_drains(count))


# -- errors ------------------------------------------------------------------------------


def bulk_preview_page(what: str, preview: Any, list_view: str, run_view: str) -> str:
    """The page that states how many rows a bulk retry by this filter will touch."""
    from webhook_receiver.console import params  # params imports this module

    kept = params.kept(request.args)
    return render_template(
        "console/bulk_preview.html",
        what=what,
        preview=preview,
        kept=kept,
        action=url_for(run_view),
        back=url_for(list_view, **kept),
        max_bulk=listings.MAX_BULK,
    )


def note_bulk_ids(outcome: dict[str, Any], ids: list[int]) -> None:
    """What a bulk retry touched, for its audit entry."""
    outcome["count"] = len(ids)
    outcome["first_id"], outcome["last_id"] = (ids[0], ids[-1]) if ids else (None, None)


def bulk_result_page(what: str, ids: list[int], list_view: str, **shown: Any) -> str:
    """What a bulk retry did, with a way back to the list it was chosen from."""
    from webhook_receiver.console import params

    return render_template(
        "console/bulk_result.html",
        what=what,
        count=len(ids),
        expected=params.whole(request.form, "expected"),
        back=url_for(list_view, **params.kept(request.form)),
        **shown,
    )


@bp.errorhandler(BadInput)
def _bad_input(exc: BadInput) -> tuple[str, int]:
    return _error_page(400, "Bad request", str(exc))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[str, int]:
    code = exc.code or 500
    if code == 403 and g.get("console_login") is not None:
        _audit_refusal(exc.description or "")
    return _error_page(code, exc.name, exc.description or "")


@bp.errorhandler(OperationalError)
def _database_down(exc: OperationalError) -> tuple[str, int]:
    logger.warning("console: database unavailable (%s)", type(exc.orig).__name__)
    return _error_page(503, "Database unavailable", "The database did not answer.")


def _error_page(code: int, title: str, message: str) -> tuple[str, int]:
    page = render_template(
        "console/error.html", code=code, title=title, message=message
    )
    return page, code


def _audit_refusal(message: str) -> None:
    login: access.Login = g.console_login
    try:
        with state().sessions.begin() as session:
            audit.record(
                session,
                "refused",
                login.name,
                status="refused",
                details={
                    "kind": login.kind,
                    "path": request.path,
                    "method": request.method,
                    "reason": message,
                },
            )
    except OperationalError:
        logger.warning("console: could not audit a refused action")


# -- templates ---------------------------------------------------------------------------


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {
        "login": g.get("console_login"),
        "csrf_token": g.get("csrf_token"),
    }


@bp.app_template_filter("age")
def _age(seconds: float | None) -> str:
    """7 s, 3 min 4 s, 2 h 5 min, 3 d 4 h; an em dash for none."""
    if seconds is None:
        return "—"
    if seconds == float("inf"):
        return "never"
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


@bp.app_template_filter("when")
def _when(value: datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        stamp = value
    return stamp.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("pretty_json")
def _pretty_json(value: Any) -> str:
    # autoescaped where it is shown, like every other value
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
