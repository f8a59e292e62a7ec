"""Database URL spellings: users may give either libpq's or SQLAlchemy's form; and
what is wrong with a server URL's host or port."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

_SQLALCHEMY_PREFIXES = (
    "postgresql+psycopg://",
    "postgresql+psycopg2://",
    "postgres://",
)


def libpq_url(url: str) -> str:
    """The URL as psycopg/libpq expect it (`postgresql://…`)."""
    for prefix in _SQLALCHEMY_PREFIXES:
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def sqlalchemy_url(url: str) -> str:
    """The URL as SQLAlchemy needs it to pick psycopg 3 (`postgresql+psycopg://…`)."""
    return "postgresql+psycopg://" + libpq_url(url)[len("postgresql://") :]


def is_postgres_url(url: str) -> bool:
    return libpq_url(url).startswith("postgresql://")


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (keeps host, port, query)."""
    parts = urlsplit(libpq_url(url))
    return urlunsplit(parts._replace(path="/" + database))


def host_and_port_problem(url: str) -> str | None:
    """What is wrong with the URL's port or host, in words, or None. The drivers would
    fail on it later, each in its own way (SQLAlchemy and redis-py with a ValueError
    traceback, libpq mid-connect)."""
    parts = urlsplit(url)
    host_and_port = parts.netloc.rpartition("@")[2]
    try:
        port = parts.port
    except ValueError:
        got = host_and_port.rpartition(":")[2]
        return f"the port must be a number from 1 to 65535, got {got!r}"
    if port == 0:
        return "the port must be a number from 1 to 65535, got 0"
    if host_and_port.startswith(":"):
        return "the host is missing before the port"
    return None
