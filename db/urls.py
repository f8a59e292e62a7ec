"""Database URL spellings: users may give either libpq's or SQLAlchemy's form; and
what is wrong with a server URL's host or port."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

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


# A plain lower-case identifier: it goes into URLs, search_path and DDL unquoted.
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SEARCH_PATH = re.compile(r"-c\s*search_path=(\S+)")


def with_search_path(url: str, schema: str) -> str:
    """The URL with libpq's `options` setting search_path to the schema alone.

    Every connection made from it (SQLAlchemy's, the listener's, the receiver's, psql's)
    then finds mediasync's tables, functions and triggers unqualified, so no statement
    names a schema. A search_path already in the URL is replaced; other options stay.
    """
    if not SCHEMA_NAME.match(schema):
        raise ValueError(f"not a plain schema name: {schema!r}")
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = next((v for k, v in query if k == "options"), "")
    options = _SEARCH_PATH.sub("", options).strip()
    options = f"{options} -c search_path={schema}".strip()
    query = [(k, v) for k, v in query if k != "options"] + [("options", options)]
    # %20, not "+": libpq decodes percent escapes only
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


def schema_of(url: str) -> str | None:
    """The schema a URL's options set search_path to, or None (the server's default)."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    options = next((v for k, v in query if k == "options"), "")
    found = _SEARCH_PATH.search(options)
    return found.group(1) if found else None


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
