"""Least-privilege roles for the processes that share the host's database.

Three roles, each with only what its process needs; the owner (whoever runs
`mediasync migrate`) keeps the DDL:

- the receiver stores webhooks: INSERT and SELECT on webhook_inbox (its dedupe reads the
  stored row back), nothing else; it cannot read media_assets;
- the workers apply, clean up and reconcile: read and write every mediasync table, no DDL
  (they own nothing, and CREATE on the schema is not granted);
- the host application reads media_assets and deletes or soft-deletes rows, which is what
  starts cleanups: the triggers that queue them are SECURITY DEFINER functions with a fixed
  search_path (migration 0013), so the app needs no right on the queue itself, and it
  cannot see the inbox, the queue or the audit log.

`ensure_roles` is idempotent: it creates what is missing, then revokes and grants so that
a second run (after a migration adds a table) leaves each role with exactly this set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from db.models import Base  # the ORM lists every table (tests/db checks it)
from db.urls import libpq_url, schema_of


@dataclass(frozen=True)
class RoleNames:
    receiver: str = "mediasync_receiver"
    worker: str = "mediasync_worker"
    app: str = "mediasync_app"

    def all(self) -> tuple[str, str, str]:
        return (self.receiver, self.worker, self.app)


def _mediasync_tables() -> list[str]:
    """Every table of ours, by name: grants and revokes name them one by one, never
    `ALL TABLES IN SCHEMA`, which in a shared schema (public) would reach the host's."""
    return sorted(Base.metadata.tables)


def ensure_roles(
    database_url: str,
    names: RoleNames,
    passwords: dict[str, str] | None = None,
    report: Callable[[str], None] = print,
    *,
    assets_view_schema: str | None = None,
) -> None:
    """Create the roles (LOGIN, with a password when one is given) and set their grants
    on our tables in the schema the URL's search_path names (else the default schema)."""
    passwords = passwords or {}
    tables = _mediasync_tables()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        schema = schema_of(database_url) or _current_schema(conn)
        view = assets_view_schema
        with conn.transaction():
            for role in names.all():
                _create_or_alter(conn, role, passwords.get(role))
                _revoke_ours(conn, role, schema, tables, view)
                _run(conn, "GRANT USAGE ON SCHEMA {schema} TO {role}", schema, role)
            for role in (names.receiver, names.worker):
                # the app's role is the host's: its search_path is the host's business
                _run(conn, "ALTER ROLE {role} SET search_path = {schema}", schema, role)
            _run(
                conn,
                "GRANT SELECT, INSERT ON {schema}.webhook_inbox TO {role}",
                schema,
                names.receiver,
            )
            for table in tables:
                _run(
                    conn,
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.{table} TO {role}",
                    schema,
                    names.worker,
                    table=table,
                )
            for sequence in _sequences(conn, schema, tables):
                _run(
                    conn,
                    "GRANT USAGE, SELECT, UPDATE ON SEQUENCE {schema}.{table} TO {role}",
                    schema,
                    names.worker,
                    table=sequence,
                )
            for where in [schema] + ([view] if view else []):
                if where != schema:
                    _run(
                        conn,
                        "GRANT USAGE ON SCHEMA {schema} TO {role}",
                        where,
                        names.app,
                    )
                # reading, and the deletes and soft deletes (and their undo) that the
                # cleanup triggers watch
                _run(
                    conn,
                    "GRANT SELECT, DELETE ON {schema}.media_assets TO {role}",
                    where,
                    names.app,
                )
                _run(
                    conn,
                    "GRANT UPDATE (deleted_at) ON {schema}.media_assets TO {role}",
                    where,
                    names.app,
                )
        for role in names.all():
            report(f"role {role}: grants on schema {schema} set")


def _run(
    conn: psycopg.Connection, statement: str, schema: str, role: str, *, table: str = ""
) -> None:
    conn.execute(
        sql.SQL(statement).format(
            schema=sql.Identifier(schema),
            role=sql.Identifier(role),
            table=sql.Identifier(table),
        )
    )


def _revoke_ours(
    conn: psycopg.Connection,
    role: str,
    schema: str,
    tables: list[str],
    view: str | None,
) -> None:
    """Back to nothing on our objects, so a second run never leaves an old grant."""
    for table in tables:
        _run(
            conn,
            "REVOKE ALL ON {schema}.{table} FROM {role}",
            schema,
            role,
            table=table,
        )
    for sequence in _sequences(conn, schema, tables):
        _run(
            conn,
            "REVOKE ALL ON SEQUENCE {schema}.{table} FROM {role}",
            schema,
            role,
            table=sequence,
        )
    if view:
        _run(conn, "REVOKE ALL ON {schema}.media_assets FROM {role}", view, role)


def _sequences(conn: psycopg.Connection, schema: str, tables: list[str]) -> list[str]:
    """The sequences behind our tables' identity and serial columns."""
    rows = conn.execute(
        "SELECT s.relname FROM pg_depend d"
        " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class t ON t.oid = d.refobjid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " WHERE n.nspname = %s AND t.relname = ANY(%s)",
        (schema, tables),
    ).fetchall()
    return sorted(str(name) for (name,) in rows)


def _create_or_alter(conn: psycopg.Connection, role: str, password: str | None) -> None:
    """Create a missing role as a plain login. An existing one keeps its attributes (the
    app's role may be the host's own, with rights of its own); only a password given
    here is set."""
    exists = conn.execute(
        "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if exists is None:
        verb = "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"
    elif password is not None:
        verb = "ALTER ROLE {}"
    else:
        return
    statement: sql.Composed = sql.SQL(verb).format(sql.Identifier(role))
    if password is not None:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    conn.execute(statement)


def _current_schema(conn: psycopg.Connection) -> str:
    row = conn.execute("SELECT current_schema()").fetchone()
    if row is None or row[0] is None:
        raise RuntimeError("the connection has no current schema; run migrate first")
    return str(row[0])
