"""A `media_assets` view in a schema of the host's, over the mirror in mediasync's own.

The host application then keeps its simple name (`SELECT … FROM media_assets` with its
usual search_path) while every mediasync table stays in MEDIASYNC_SCHEMA. The view is
simple, so PostgreSQL lets DELETE and UPDATE through it, and the base table's triggers
queue cleanups exactly as for a delete on the table itself.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.urls import libpq_url, schema_of


class AssetsViewError(Exception):
    """The view cannot be placed where asked."""


def ensure_assets_view(database_url: str, view_schema: str) -> str:
    """(Re)create `<view_schema>.media_assets`; returns its qualified name.

    Run after every migration: `SELECT *` is expanded when the view is made, so a column
    a later migration adds reaches the view only when it is made again.
    """
    schema = schema_of(database_url)
    if schema is None or schema == view_schema:
        raise AssetsViewError(
            "MEDIASYNC_ASSETS_VIEW needs MEDIASYNC_SCHEMA set to another schema"
        )
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (view_schema,)
        ).fetchone()
        if found is None:
            raise AssetsViewError(f"schema {view_schema!r} does not exist")
        taken = conn.execute(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = 'media_assets'",
            (view_schema,),
        ).fetchone()
        if taken is not None and taken[0] != "v":
            raise AssetsViewError(
                f"{view_schema}.media_assets exists and is not a view (an install in "
                f"{view_schema}?): unset MEDIASYNC_ASSETS_VIEW, or move that install "
                '(README, "Own schema and roles")'
            )
        conn.execute(
            sql.SQL(
                "CREATE OR REPLACE VIEW {}.media_assets AS SELECT * FROM {}.media_assets"
            ).format(sql.Identifier(view_schema), sql.Identifier(schema))
        )
    return f"{view_schema}.media_assets"
