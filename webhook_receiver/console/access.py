"""Who may use the console: logins, the signed session cookie, CSRF, and the read-only kind.

- Logins are the operator token (MEDIASYNC_API_TOKEN, as "operator", admin) and the named
  tokens of MEDIASYNC_CONSOLE_OPERATORS; a token is compared in constant time against every
  login's (digests, so the length leaks nothing either).
- The session is one cookie signed with itsdangerous (HttpOnly, SameSite=Strict, Secure over
  HTTPS, path /console/) holding the operator's name, a fingerprint of the token it logged
  in with, and the CSRF token. It expires MEDIASYNC_CONSOLE_SESSION_MAX_AGE seconds after
  the login (not sliding); changing or removing an operator's token ends their sessions, and
  the signing key is derived from every configured token, so rotating any of them logs
  everyone out.
- Every POST carries `csrf_token` equal to the session's (the login form's too); no GET
  changes anything.
- With neither setting the console answers 404, as the operator API does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from webhook_receiver.operator_api.state import operator as operator_state
from workers.config import SHARED_LOGIN_NAME, Settings

COOKIE = "mediasync_console"
COOKIE_PATH = "/console/"
_SALT = "mediasync-console-session"
# endpoints open without a login (the form itself and the stylesheet)
OPEN_ENDPOINTS = ("console.login", "console.login_submit", "console.static")


@dataclass(frozen=True)
class Login:
    name: str
    kind: str  # admin | read
    fingerprint: (
        str  # of the token: a changed token ends the sessions made with the old
    )

    @property
    def may_act(self) -> bool:
        return self.kind == "admin"

    @property
    def actor(self) -> str:
        """How the actions' own records name the operator (paused_by, released_by…)."""
        return f"console:{self.name}"


def _logins(settings: Settings) -> list[tuple[Login, bytes]]:
    found = []
    if settings.api_token:
        found.append((SHARED_LOGIN_NAME, settings.api_token, "admin"))
    found += [(op.name, op.token, op.kind) for op in settings.console_operators]
    return [
        (Login(name, kind, _fingerprint(token)), _digest(token))
        for name, token, kind in found
    ]


def console_on(settings: Settings) -> bool:
    return bool(settings.api_token or settings.console_operators)


def authenticate(settings: Settings, given: str) -> Login | None:
    """The login whose token `given` is; every token is compared, found or not."""
    wanted = _digest(given)
    match = None
    for login, digest in _logins(settings):
        if hmac.compare_digest(wanted, digest) and match is None:
            match = login
    return match


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"console-fingerprint:" + token.encode()).hexdigest()[:32]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    # derived from every token: whoever can forge a session could log in anyway
    material = "\x00".join(
        [settings.api_token or ""]
        + [f"{op.name}:{op.token}:{op.kind}" for op in settings.console_operators]
    )
    key = hmac.new(b"mediasync-console", material.encode(), hashlib.sha256).digest()
    return URLSafeTimedSerializer(key, salt=_SALT)


# -- per request -------------------------------------------------------------------------


def settings() -> Settings:
    return operator_state(current_app).settings


def load_session() -> Response | None:
    """The blueprint's before_request: 404 when off, the session into g, the login page for
    a visitor without one, and the CSRF check on every POST."""
    config = settings()
    if not console_on(config):
        abort(404)
    state = _read_cookie(config)
    g.console_login = _current_login(config, state)
    g.csrf_token = state.get("csrf") if state else None
    g.console_cookie = None  # a new cookie value to set, if any
    if not g.csrf_token:
        g.csrf_token = secrets.token_urlsafe(32)
        g.console_cookie = {"csrf": g.csrf_token}
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        given = request.form.get("csrf_token", "")
        if not given or not hmac.compare_digest(given.encode(), g.csrf_token.encode()):
            abort(400, "the form's CSRF token is missing or stale: reload the page")
    if g.console_login is None and request.endpoint not in OPEN_ENDPOINTS:
        if request.method == "GET":
            return redirect(url_for("console.login", next=request.full_path))
        abort(401, "not logged in (or the session expired)")
    return None


def _read_cookie(config: Settings) -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        state = _serializer(config).loads(raw, max_age=config.console_session_max_age_s)
    except BadSignature:  # also SignatureExpired: a session past its age is none
        return None
    return state if isinstance(state, dict) else None


def _current_login(config: Settings, state: dict[str, Any] | None) -> Login | None:
    if not state or "name" not in state:
        return None
    for login, _ in _logins(config):
        if login.name == state["name"] and hmac.compare_digest(
            login.fingerprint, str(state.get("fp", ""))
        ):
            return login
    return None  # the operator's token changed, or the operator is gone


def start_session(login: Login) -> None:
    """Logged in: a fresh cookie (new CSRF token) naming the operator."""
    g.console_login = login
    g.csrf_token = secrets.token_urlsafe(32)
    g.console_cookie = {
        "name": login.name,
        "fp": login.fingerprint,
        "csrf": g.csrf_token,
    }


def end_session() -> None:
    g.console_login = None
    g.console_cookie = {}


def save_session(response: Response) -> Response:
    """The blueprint's after_request: write a changed cookie; headers for every page."""
    cookie = getattr(g, "console_cookie", None)
    if cookie == {}:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, samesite="Strict")
    elif cookie is not None:
        config = settings()
        response.set_cookie(
            COOKIE,
            _serializer(config).dumps(cookie),
            max_age=config.console_session_max_age_s,
            path=COOKIE_PATH,
            httponly=True,
            samesite="Strict",
            secure=_secure(config),
        )
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = content_security_policy(settings())
    return response


def content_security_policy(config: Settings) -> str:
    """Our own origin for everything; the change feed's too, for connections alone (the
    live changes page's EventSource), when MEDIASYNC_FEED_PUBLIC_URL names it."""
    connect = "'self'"
    origin = feed_origin(config)
    if origin:
        connect += f" {origin}"
    return (
        f"default-src 'self'; connect-src {connect}; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    )


def feed_origin(config: Settings) -> str | None:
    """scheme://host[:port] of MEDIASYNC_FEED_PUBLIC_URL (checked by the settings)."""
    if not config.feed_public_url:
        return None
    parts = urlsplit(config.feed_public_url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def _secure(config: Settings) -> bool:
    # behind a TLS proxy request.is_secure needs ProxyFix; the public URL says HTTPS too
    return request.is_secure or (config.public_url or "").startswith("https://")


def current() -> Login:
    login: Login | None = g.get("console_login")
    if login is None:
        abort(401)
    return login


def require_admin() -> Login:
    """The operator, who must be allowed to act (a read-only login gets 403)."""
    login = current()
    if not login.may_act:
        abort(403, f"{login.name} is a read-only operator: this action needs admin")
    return login
