"""Database URL spellings: users may give either libpq's or SQLAlchemy's form."""

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
