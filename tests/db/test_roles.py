"""Least-privilege roles (`mediasync migrate --roles`, db/roles.py), asserted by connecting
as each role to a real database whose mediasync objects live in a schema of their own,
with the mirror shown to the host in its `public` schema through a view."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors

from db.assets_view import AssetsViewError, ensure_assets_view
from db.migrate import MigrationError, migrate
from db.roles import RoleNames, ensure_roles
from db.urls import libpq_url, with_search_path
from tests.pg import admin_conn, create_database, drop_database
from webhook_receiver.inbox_writer import InboxWriter

SCHEMA = "media_sync_roles"
Refused = errors.InsufficientPrivilege


@dataclass(frozen=True)
class Install:
    owner_url: str  # what migrate runs as, search_path = SCHEMA
    names: RoleNames

    def url_as(self, role: str, *, schema: bool = True) -> str:
        parts = urlsplit(libpq_url(self.owner_url))
        host = parts.netloc.rpartition("@")[2]
        url = urlunsplit(parts._replace(netloc=f"{role}@{host}", query=""))
        return with_search_path(url, SCHEMA) if schema else url

    def connect_as(self, role: str, *, schema: bool = True) -> psycopg.Connection:
        return psycopg.connect(self.url_as(role, schema=schema), autocommit=True)

    def owner(self) -> psycopg.Connection:
        return psycopg.connect(libpq_url(self.owner_url), autocommit=True)


@pytest.fixture(scope="module")
def install(pg_server_url: str) -> Iterator[Install]:
    tag = uuid.uuid4().hex[:6]
    name = f"mediasync_roles_{tag}"
    names = RoleNames(
        receiver=f"ms_receiver_{tag}", worker=f"ms_worker_{tag}", app=f"ms_app_{tag}"
    )
    url = with_search_path(create_database(pg_server_url, name), SCHEMA)
    try:
        migrate(url, report=lambda _line: None)
        ensure_assets_view(url, "public")
        ensure_roles(url, names, report=lambda _line: None, assets_view_schema="public")
        # twice: idempotent
        ensure_roles(url, names, report=lambda _line: None, assets_view_schema="public")
        yield Install(url, names)
    finally:
        drop_database(pg_server_url, name)
        with admin_conn(pg_server_url) as conn:
            for role in names.all():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _seed_asset(install: Install, public_id: str) -> int:
    with install.owner() as conn:
        row = conn.execute(
            "INSERT INTO media_assets (public_id, asset_id, version) VALUES (%s, %s, 1)"
            " RETURNING id",
            (public_id, uuid.uuid4().hex),
        ).fetchone()
    assert row is not None
    return int(row[0])


def _cleanups_for(install: Install, public_id: str) -> list[str]:
    with install.owner() as conn:
        rows = conn.execute(
            "SELECT reason FROM cloudinary_cleanup_queue WHERE public_id = %s ORDER BY id",
            (public_id,),
        ).fetchall()
    return [str(reason) for (reason,) in rows]


def test_everything_lands_in_the_schema_and_nothing_in_public(install: Install) -> None:
    with install.owner() as conn:
        in_public = conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'S')"
        ).fetchall()
        functions = conn.execute(
            "SELECT p.proname, n.nspname, p.prosecdef, p.proconfig FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE p.proname LIKE 'media%%'"
        ).fetchall()
    assert in_public == [("media_assets", "v")]  # the host's view, nothing else
    assert {schema for _, schema, _, _ in functions} == {SCHEMA}
    triggers = {name: (definer, config) for name, _, definer, config in functions}
    assert triggers["media_assets_queue_cleanup"] == (
        True,
        [f"search_path={SCHEMA}, pg_temp"],
    )


def test_the_receiver_stores_webhooks_and_reads_nothing_else(install: Install) -> None:
    writer = InboxWriter(install.url_as(install.names.receiver))
    try:
        first = writer.record(
            digest="d1", notification_type="upload", body='{"a": 1}', signed_at=1
        )
        again = writer.record(
            digest="d1", notification_type="upload", body='{"a": 1}', signed_at=1
        )
    finally:
        writer.close()
    assert again.inbox_id == first.inbox_id  # its dedupe reads the stored row back

    with install.connect_as(install.names.receiver) as conn:
        for statement in (
            "SELECT 1 FROM media_assets",
            "UPDATE webhook_inbox SET status = 'applied'",
            "DELETE FROM webhook_inbox",
            "SELECT 1 FROM cloudinary_cleanup_queue",
            "SELECT 1 FROM media_sync_log",
            "CREATE TABLE receiver_was_here (x int)",
        ):
            with pytest.raises(Refused):
                conn.execute(statement)


def test_the_app_deletes_through_its_view_and_the_triggers_queue_cleanups(
    install: Install,
) -> None:
    _seed_asset(install, "app/hard")
    _seed_asset(install, "app/soft")
    _seed_asset(install, "app/undo")
    # the host's own connection: no search_path of ours, the view under its simple name
    with install.connect_as(install.names.app, schema=False) as conn:
        assert conn.execute(
            "SELECT count(*) FROM media_assets WHERE public_id LIKE 'app/%%'"
        ).fetchone() == (3,)
        conn.execute("DELETE FROM media_assets WHERE public_id = 'app/hard'")
        conn.execute(
            "UPDATE media_assets SET deleted_at = now() WHERE public_id = 'app/soft'"
        )
        conn.execute(
            "UPDATE media_assets SET deleted_at = now() WHERE public_id = 'app/undo'"
        )
        conn.execute(
            "UPDATE media_assets SET deleted_at = NULL WHERE public_id = 'app/undo'"
        )
    assert _cleanups_for(install, "app/hard") == ["hard_delete"]
    assert _cleanups_for(install, "app/soft") == ["soft_delete"]
    with install.owner() as conn:
        undone = conn.execute(
            "SELECT status FROM cloudinary_cleanup_queue WHERE public_id = 'app/undo'"
        ).fetchall()
        feed = conn.execute(
            "SELECT op FROM mediasync_changes WHERE public_id = 'app/hard'"
        ).fetchall()
    assert undone == [("skipped",)]  # the undo cancelled it before it was sent
    assert ("deleted",) in feed  # the change feed's trigger ran as its owner too


def test_the_app_cannot_touch_the_queue_the_inbox_or_the_log(install: Install) -> None:
    _seed_asset(install, "app/other")
    with install.connect_as(install.names.app) as conn:
        for statement in (
            "INSERT INTO media_assets (public_id) VALUES ('app/forged')",
            "UPDATE media_assets SET public_id = 'x' WHERE public_id = 'app/other'",
            "TRUNCATE media_assets",
            "SELECT 1 FROM webhook_inbox",
            "SELECT 1 FROM cloudinary_cleanup_queue",
            "UPDATE cloudinary_cleanup_queue SET status = 'cancelled'",
            "DELETE FROM cloudinary_cleanup_queue",
            "INSERT INTO cloudinary_cleanup_queue (public_id, resource_type,"
            " delivery_type, reason) VALUES ('x', 'image', 'upload', 'hard_delete')",
            "SELECT 1 FROM media_sync_log",
            "SELECT 1 FROM mediasync_changes",
        ):
            with pytest.raises(Refused):
                conn.execute(statement)


def test_the_workers_read_and_write_every_table_but_change_no_schema(
    install: Install,
) -> None:
    asset = _seed_asset(install, "worker/one")
    with install.connect_as(install.names.worker) as conn:
        conn.execute("UPDATE media_assets SET tags = '{a}' WHERE id = %s", (asset,))
        conn.execute(
            "INSERT INTO webhook_inbox (digest, notification_type, body)"
            " VALUES ('w1', 'upload', '{}')"
        )
        conn.execute("UPDATE webhook_inbox SET status = 'applied' WHERE digest = 'w1'")
        conn.execute(
            "INSERT INTO media_sync_log (operation, status, source)"
            " VALUES ('test', 'ok', 'operator')"
        )
        conn.execute("DELETE FROM media_assets WHERE id = %s", (asset,))
        conn.execute("SELECT count(*) FROM cloudinary_cleanup_queue")
        for statement in (
            "CREATE TABLE worker_was_here (x int)",
            "ALTER TABLE media_assets ADD COLUMN x int",
            "DROP TABLE media_sync_log",
            "TRUNCATE webhook_inbox",
        ):
            with pytest.raises(Refused):
                conn.execute(statement)


def test_migrate_roles_command_creates_the_roles_idempotently(
    pg_server_url: str,
) -> None:
    tag = uuid.uuid4().hex[:6]
    name = f"mediasync_roles_cli_{tag}"
    url = create_database(pg_server_url, name)
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": url,
        "MEDIASYNC_SCHEMA": "media_sync",
        "MEDIASYNC_RECEIVER_ROLE": f"cli_receiver_{tag}",
        "MEDIASYNC_WORKER_ROLE": f"cli_worker_{tag}",
        "MEDIASYNC_APP_ROLE": f"cli_app_{tag}",
    }
    try:
        for _ in range(2):
            done = subprocess.run(
                [sys.executable, "-m", "mediasync", "migrate", "--roles"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        assert f"role cli_app_{tag}: grants on schema media_sync set" in done.stdout
        app = urlunsplit(
            urlsplit(libpq_url(url))._replace(
                netloc=f"cli_app_{tag}@" + urlsplit(url).netloc.rpartition("@")[2]
            )
        )
        with psycopg.connect(with_search_path(app, "media_sync")) as conn:
            assert conn.execute("SELECT count(*) FROM media_assets").fetchone() == (0,)
            with pytest.raises(Refused):
                conn.execute("SELECT 1 FROM webhook_inbox")
    finally:
        drop_database(pg_server_url, name)
        with admin_conn(pg_server_url) as conn:
            for kind in ("receiver", "worker", "app"):
                conn.execute(f'DROP ROLE IF EXISTS "cli_{kind}_{tag}"')


def test_an_install_in_public_is_not_given_an_empty_twin(pg_server_url: str) -> None:
    name = f"mediasync_twin_{uuid.uuid4().hex[:6]}"
    plain = with_database_only(create_database(pg_server_url, name))
    try:
        migrate(plain, report=lambda _line: None)  # an install from before the setting
        with pytest.raises(MigrationError, match="installed in schema 'public'"):
            migrate(with_search_path(plain, "media_sync"), report=lambda _line: None)
        with pytest.raises(AssetsViewError, match="is not a view"):
            ensure_assets_view(with_search_path(plain, "elsewhere"), "public")
    finally:
        drop_database(pg_server_url, name)


def with_database_only(url: str) -> str:
    """The URL without a search_path (tests may run with MEDIASYNC_SCHEMA set)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=""))


def test_an_existing_role_keeps_its_own_attributes(pg_server_url: str) -> None:
    """The app's role may be the host's own: it gains grants, not lost rights."""
    tag = uuid.uuid4().hex[:6]
    name = f"mediasync_roles_own_{tag}"
    names = RoleNames(
        receiver=f"own_receiver_{tag}", worker=f"own_worker_{tag}", app=f"own_app_{tag}"
    )
    url = with_search_path(create_database(pg_server_url, name), SCHEMA)
    try:
        with admin_conn(pg_server_url) as conn:
            conn.execute(f'CREATE ROLE "{names.app}" LOGIN CREATEDB')
        migrate(url, report=lambda _line: None)
        ensure_roles(url, names, report=lambda _line: None)
        with admin_conn(pg_server_url) as conn:
            row = conn.execute(
                "SELECT rolcreatedb FROM pg_roles WHERE rolname = %s", (names.app,)
            ).fetchone()
        assert row == (True,)
        install = Install(url, names)
        with install.connect_as(names.app) as conn:
            assert conn.execute("SELECT count(*) FROM media_assets").fetchone() == (0,)
    finally:
        drop_database(pg_server_url, name)
        with admin_conn(pg_server_url) as conn:
            for role in names.all():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
