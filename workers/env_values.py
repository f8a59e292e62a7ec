"""Parsers for one environment variable each: the number, flag, share or URL it holds,
or a SettingsError that names the variable (workers/config.py reads them all once)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from db.urls import host_and_port_problem
from workers.delete_scope import DeleteScope

T = TypeVar("T")


class SettingsError(Exception):
    """A missing or malformed environment variable; the message names it."""


def redis_url_problem(url: str) -> str | None:
    if url.startswith("unix://"):
        return None
    if not url.startswith(("redis://", "rediss://")):
        return "must be a redis:// or rediss:// URL"
    database = urlsplit(url).path.strip("/")
    if database and not database.isdigit():
        return f"the Redis database must be a number (redis://host:port/0), got {database!r}"
    return host_and_port_problem(url)


def check_url(name: str, url: str, problem: Callable[[str], str | None]) -> None:
    found = problem(url) if url else None
    if found:
        # "must be …" reads after the name; the others after a colon
        raise SettingsError(
            f"{name} {found}" if found.startswith("must") else f"{name}: {found}"
        )


def read(
    env: Mapping[str, str], name: str, parse: Callable[[str], T], what: str
) -> T | None:
    """The variable parsed (None when unset); SettingsError naming it if not `what`."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise SettingsError(f"{name} must be {what}, got {raw!r}") from None


def positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = read(env, name, int, "a whole number")
    if value is None:
        return default
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {value}")
    return value


def whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number >= 0 (0: off)."""
    value = read(env, name, int, "a whole number")
    if value is None:
        return default
    if value < 0:
        raise SettingsError(f"{name} must be 0 (off) or more, got {value}")
    return value


def share_or_off(env: Mapping[str, str], name: str, default: float) -> float:
    """A share in [0, 1] (0: off)."""
    value = read(env, name, float, "a number")
    if value is None:
        return default
    if not 0 <= value <= 1:
        raise SettingsError(f"{name} must be 0 (off) up to 1, got {value}")
    return value


def flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def delete_scope(env: Mapping[str, str]) -> DeleteScope | None:
    raw = env.get("MEDIASYNC_DELETE_SCOPE", "").strip()
    if not raw:
        return None
    try:
        return DeleteScope.parse(raw)
    except ValueError as exc:
        raise SettingsError(f"MEDIASYNC_DELETE_SCOPE is malformed: {exc}") from None


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def public_url(
    env: Mapping[str, str], name: str = "MEDIASYNC_PUBLIC_URL"
) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    if not is_http_url(raw):
        raise SettingsError(f"{name} must be an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise SettingsError(f"{name} must not have a query or fragment")
    return raw.rstrip("/")


def basic_auth(env: Mapping[str, str]) -> str | None:
    raw = env.get("FLOWER_BASIC_AUTH", "").strip()
    if not raw:
        return None
    user, _, password = raw.partition(":")
    if not user or not password:
        raise SettingsError("FLOWER_BASIC_AUTH must be user:password")
    return raw


def fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A share in (0, 1]: 0 would switch the feature off silently, so it is refused."""
    value = read(env, name, float, "a number")
    if value is None:
        return default
    if not 0 < value <= 1:
        raise SettingsError(f"{name} must be above 0 and at most 1, got {value}")
    return value
