"""Creating and dropping test databases."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from db.urls import libpq_url, with_database, with_search_path

# MEDIASYNC_SCHEMA=name runs the suite with mediasync in a schema of its own (#19): every
# database URL handed out here carries it as its search_path, so the migrations, the
# workers and the tests' own SQL all land there. Read at import, which tests/conftest.py
# does before it clears the MEDIASYNC_* variables.
TEST_SCHEMA = os.environ.get("MEDIASYNC_SCHEMA", "").strip() or None


def in_test_schema(url: str) -> str:
    return with_search_path(url, TEST_SCHEMA) if TEST_SCHEMA else url


def database_name(url: str) -> str:
    """The database a URL names (its query, a search_path say, left out)."""
    return urlsplit(url).path.lstrip("/")


def admin_conn(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(libpq_url(server_url), autocommit=True, connect_timeout=10)


def create_database(
    server_url: str, name: str, template: str | None = None, *, adopt: bool = True
) -> str:
    """A new database, empty or a copy of `template`. A copy of a migrated database is
    another database to mediasync, whose deletes it holds until an operator adopts it
    (workers/cleanup/guard.py); the tests' copies are meant, so they are adopted, unless
    `adopt` is False."""
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    with admin_conn(server_url) as conn:
        conn.execute(query)
    url = in_test_schema(with_database(server_url, name))
    if template and adopt:
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute(_ADOPT)
    return url


# (the table exists once the template was migrated past 0009)
_ADOPT = """
DO $$
BEGIN
    IF to_regclass('mediasync_database_identity') IS NOT NULL THEN
        UPDATE mediasync_database_identity i
           SET database_oid = d.oid, database_name = d.datname
          FROM pg_database d WHERE d.datname = current_database();
    END IF;
END;
$$
"""


def drop_database(server_url: str, name: str) -> None:
    with admin_conn(server_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
