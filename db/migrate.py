"""Apply db/migrations/NNNN_*.sql in order, once each, under an advisory lock."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from db.urls import SCHEMA_NAME, libpq_url, schema_of

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "mediasync_schema_migrations"
# Any constant works; it only has to be the same in every process that migrates this database.
_LOCK_KEY = 0x6D656469  # "medi"
_FILE_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The migrations on disk and the ones recorded in the database disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file name {path.name!r} is not NNNN_name.sql"
            )
        migrations.append(Migration(int(match.group(1)), path.stem, path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


def migrate(
    database_url: str,
    *,
    directory: Path = MIGRATIONS_DIR,
    report: Callable[[str], None] = print,
) -> list[str]:
    """Apply what is missing; return the names applied (empty when up to date).

    Each migration runs in its own transaction with its version row, so a failure leaves the
    database at the last good version. The session-level advisory lock makes concurrent
    runs (several replicas starting at once) queue up; the later ones find nothing to do.
    """
    migrations = discover(directory)
    table = sql.Identifier(VERSION_TABLE)
    applied_now: list[str] = []
    # The schema is the one the URL's search_path names (db.urls.with_search_path), else
    # the server's default. Every object, the version table included, lands there, and the
    # trigger functions keep this search_path (0013), whoever's statement fires them.
    schema = schema_of(database_url)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            if schema is not None:
                if not SCHEMA_NAME.match(schema):
                    raise MigrationError(f"not a plain schema name: {schema!r}")
                _refuse_a_second_install(conn, schema)
                conn.execute(
                    sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        sql.Identifier(schema)
                    )
                )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
                ).format(table)
            )
            rows = conn.execute(
                sql.SQL("SELECT version, name, checksum FROM {}").format(table)
            )
            recorded = {version: (name, checksum) for version, name, checksum in rows}
            for migration in migrations:
                if migration.version in recorded:
                    name, checksum = recorded[migration.version]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"migration {name} was edited after it was applied; "
                            "fix forward with a new file instead"
                        )
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        sql.SQL(
                            "INSERT INTO {} (version, name, checksum) VALUES (%s, %s, %s)"
                        ).format(table),
                        (migration.version, migration.name, migration.checksum),
                    )
                report(f"applied {migration.name}")
                applied_now.append(migration.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    if not applied_now:
        report("database is up to date; nothing to apply")
    return applied_now


def _refuse_a_second_install(conn: psycopg.Connection, schema: str) -> None:
    """An install in public (every install made before MEDIASYNC_SCHEMA existed) must not
    get an empty twin when the setting appears: the workers would then mirror into tables
    nobody reads, while the app's rows and their triggers stay where they were. (Installs
    in two named schemas of one database, one per account, are fine.)"""
    ours = conn.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = %s AND n.nspname = %s",
        (VERSION_TABLE, schema),
    ).fetchone()
    if ours is not None or schema == "public":
        return
    elsewhere = conn.execute(
        "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relname = %s AND c.relkind = 'r' AND n.nspname = 'public'",
        (VERSION_TABLE,),
    ).fetchone()
    if elsewhere is not None:
        raise MigrationError(
            f"mediasync is installed in schema {elsewhere[0]!r}, and MEDIASYNC_SCHEMA asks "
            f"for {schema!r}, where it is not: unset MEDIASYNC_SCHEMA (or set it to "
            f"{elsewhere[0]!r}) to keep that install, or move it first (README, "
            '"Own schema and roles")'
        )
