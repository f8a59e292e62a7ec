"""One line for a failure the user can fix in their environment.

A wrong or unreachable DATABASE_URL, REDIS_URL or CLOUDINARY_URL surfaces deep inside
psycopg, SQLAlchemy, redis-py, kombu or the Cloudinary SDK, each with its own exception
family and a long traceback. `describe` turns those families into one line that names the
variable, says where it tried to connect (host and port, never the password) and why it
failed; anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from workers.config import SettingsError

URL_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CLOUDINARY_URL")
# `scheme://user:password@` anywhere in a message: the password goes, the user stays.
# (placeholders in our own messages, `KEY:API_SECRET@`, stay).
_USERINFO = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*):(?![A-Z_]+@)[^@\s]*@")
# Shorter secrets would also blank ordinary words; URLs are scrubbed by _USERINFO anyway.
_MIN_SECRET_TO_SCRUB = 4
_DEFAULT_PORTS = {"DATABASE_URL": 5432, "REDIS_URL": 6379, "CELERY_BROKER_URL": 6379}


def describe(exc: BaseException, env: Mapping[str, str]) -> str | None:
    """The one line for `exc`, or None when it is not a configuration failure."""
    line = _explain(exc, env)
    return None if line is None else scrub(line, env)


def _explain(exc: BaseException, env: Mapping[str, str]) -> str | None:
    if isinstance(exc, SettingsError):
        return f"configuration error: {exc}"
    database_error = _psycopg_error(exc)
    if database_error is not None:
        return _database_line(database_error, env)
    if _is(exc, "redis.exceptions", "RedisError"):
        return _connection_line("REDIS_URL", "Redis", _redis_reason(exc), env)
    if _is(exc, "kombu.exceptions", "OperationalError"):
        name = "CELERY_BROKER_URL" if env.get("CELERY_BROKER_URL") else "REDIS_URL"
        return _connection_line(name, "the broker", _redis_reason(exc), env)
    if _is(exc, "cloudinary.exceptions", "AuthorizationRequired"):
        return (
            "CLOUDINARY_URL: Cloudinary refused the API key or secret "
            f"({_first_line(exc)})"
        )
    if isinstance(exc, ValueError) and "CLOUDINARY_URL" in str(exc):
        # the Cloudinary SDK reads CLOUDINARY_URL itself when imported, before we can check
        return f"configuration error: CLOUDINARY_URL is malformed: {_first_line(exc)}"
    return None


def _is(exc: BaseException, module: str, name: str) -> bool:
    """`exc` is a `module.name`: looked up only if that library is loaded (an exception
    cannot come from one that is not), so explaining never imports anything, least of
    all the Cloudinary SDK, whose import fails on a malformed CLOUDINARY_URL."""
    loaded = sys.modules.get(module)
    family: Any = getattr(loaded, name, None) if loaded is not None else None
    return isinstance(family, type) and isinstance(exc, family)


def _psycopg_error(exc: BaseException) -> BaseException | None:
    """The psycopg error under `exc` (SQLAlchemy wraps it in `.orig`)."""
    if _is(exc, "sqlalchemy.exc", "DBAPIError"):
        orig = getattr(exc, "orig", None)
        return (
            orig
            if isinstance(orig, BaseException) and _is(orig, "psycopg", "Error")
            else None
        )
    return exc if _is(exc, "psycopg", "Error") else None


def _database_line(exc: BaseException, env: Mapping[str, str]) -> str | None:
    if _is(exc, "psycopg.errors", "UndefinedTable"):
        return (
            f"DATABASE_URL: the database {_where('DATABASE_URL', env)} is not migrated "
            f"({_first_line(exc)}); run `mediasync migrate`"
        )
    if not _is(exc, "psycopg", "OperationalError"):
        return None
    # libpq: 'connection failed: connection to server at "h", port 1 failed: <why>'
    reason = _first_line(exc).rsplit("failed: ", 1)[-1].removeprefix("FATAL:").strip()
    return _connection_line("DATABASE_URL", "PostgreSQL", reason, env)


def _redis_reason(exc: BaseException) -> str:
    # redis-py: 'Error 111 connecting to 127.0.0.1:1. Connection refused.'
    message = _first_line(exc)
    if " connecting to " in message and ". " in message:
        return message.rsplit(". ", 1)[-1].rstrip(".")
    return message


def _connection_line(name: str, what: str, reason: str, env: Mapping[str, str]) -> str:
    return f"{name}: cannot connect to {what} at {_where(name, env)}: {reason}"


def _where(name: str, env: Mapping[str, str]) -> str:
    """host:port/path of the variable's URL (no user, no password)."""
    url = env.get(name, "").strip()
    if not url:
        return "(not set)"
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        port = parts.port or _DEFAULT_PORTS.get(name)
    except (
        ValueError
    ):  # settings validation refuses these; never crash while explaining
        port = None
    where = f"{host}:{port}" if port else host
    return where + parts.path if parts.path not in ("", "/") else where


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].strip() if text else type(exc).__name__


def scrub(line: str, env: Mapping[str, str]) -> str:
    """`line` without any password: of URLs it quotes, and of the configured URLs."""
    line = _USERINFO.sub(r"\g<head>:***@", line)
    for name in URL_VARIABLES:
        try:
            password = urlsplit(env.get(name, "").strip()).password
        except ValueError:
            password = None
        if password and len(password) >= _MIN_SECRET_TO_SCRUB:
            line = line.replace(password, "***")
    return " ".join(line.split())  # one line, whatever the libraries put in it
