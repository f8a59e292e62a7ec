"""The core flows end to end with mediasync in a schema of its own and each process on its
own role (#19), configured as a user would: MEDIASYNC_SCHEMA, one DATABASE_URL per process.

A fresh database is migrated by the owner into SCHEMA, with the host's `public.media_assets`
view and the three roles (`mediasync migrate --roles` does the same). Then, through the
emulator and the real SDK: Cloudinary notifies the receiver (receiver role; its operator
engine on the worker role), a real Celery worker (worker role) applies the notifications,
the host application (app role, plain search_path, through the view) deletes rows, the
listener and the worker (worker role) delete those assets from Cloudinary, and a full
reconcile (worker role, `mediasync reconcile` in its own process) finds nothing to repair.
Nothing but the view lands in `public`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import cloudinary.api
import cloudinary.uploader
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import make_server

from cloudinary_emulator import Emulator
from db.assets_view import ensure_assets_view
from db.migrate import migrate
from db.models import Base
from db.roles import RoleNames, ensure_roles
from db.session import make_engine, make_sessionmaker
from db.urls import libpq_url, schema_of, with_database, with_search_path
from tests.cleanup.conftest import ListenerThread
from tests.cloudinary_emulator.helpers import png_bytes
from tests.pg import admin_conn, create_database, drop_database
from tests.reconcile.conftest import mirror_differences
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import WEBHOOK, receiver_app
from workers.celery_app import get_settings
from workers.cleanup.listener import Listener
from workers.cleanup.tasks import enqueue_drains
from workers.config import Settings

SCHEMA = "media_sync_e2e"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Install:
    """A database migrated into SCHEMA, and how each process reaches it."""

    server_url: str
    database: str
    names: RoleNames
    passwords: dict[str, str]

    def url_as(self, role: str) -> str:
        """The role's plain URL, as a deployment's secret holds it (no search_path: the
        process adds MEDIASYNC_SCHEMA; the host app keeps its own)."""
        parts = urlsplit(libpq_url(with_database(self.server_url, self.database)))
        host = parts.netloc.rpartition("@")[2]
        login = f"{quote(role)}:{quote(self.passwords[role], safe='')}"
        return urlunsplit(parts._replace(netloc=f"{login}@{host}", query=""))

    def env_as(self, role: str, **extra: str) -> dict[str, str]:
        return {"DATABASE_URL": self.url_as(role), "MEDIASYNC_SCHEMA": SCHEMA, **extra}

    def owner(self) -> psycopg.Connection:
        url = with_database(self.server_url, self.database)
        return psycopg.connect(libpq_url(url), autocommit=True)


@pytest.fixture
def install(pg_server_url: str) -> Iterator[Install]:
    tag = uuid.uuid4().hex[:8]
    database = f"mediasync_e2e_{tag}"
    names = RoleNames(
        receiver=f"e2e_receiver_{tag}", worker=f"e2e_worker_{tag}", app=f"e2e_app_{tag}"
    )
    passwords = {role: uuid.uuid4().hex for role in names.all()}
    owner_url = with_search_path(create_database(pg_server_url, database), SCHEMA)
    try:
        migrate(owner_url, report=lambda _line: None)
        ensure_assets_view(owner_url, "public")
        ensure_roles(
            owner_url,
            names,
            passwords,
            report=lambda _line: None,
            assets_view_schema="public",
        )
        yield Install(pg_server_url, database, names, passwords)
    finally:
        drop_database(pg_server_url, database)
        with admin_conn(pg_server_url) as conn:
            for role in names.all():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def _settings(install: Install, role: str, redis_url: str, cloud: Emulator, **env: str):
    return Settings.from_env(
        install.env_as(
            role, REDIS_URL=redis_url, CLOUDINARY_URL=cloud.cloudinary_url, **env
        )
    )


@pytest.fixture
def settings(install: Install, redis_url: str, cloud: Emulator) -> Settings:
    """Overrides the root fixture: the Celery worker runs as the worker role."""
    return _settings(install, install.names.worker, redis_url, cloud)


@pytest.fixture
def receiver(install: Install, redis_url: str, cloud: Emulator) -> Iterator[str]:
    """The receiver on the receiver role, served over HTTP, the emulator notifying it.
    Made before `celery_worker`: create_app points this process's Celery app at its own
    settings, and the worker's must be the last word."""
    worker_url = install.url_as(install.names.worker)
    settings = _settings(
        install,
        install.names.receiver,
        redis_url,
        cloud,
        MEDIASYNC_OPERATOR_DATABASE_URL=worker_url,
    )
    with receiver_app(settings) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}{WEBHOOK}"
        cloud.client.notifications(True, url=url, attempts=5, base_delay=0.05)
        try:
            yield url
        finally:
            cloud.client.notifications(False)
            server.shutdown()
            server.server_close()
            thread.join(10)


@pytest.fixture
def as_worker(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """The test's own reads and writes, on the worker role like the processes'."""
    engine = make_engine(settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def settled(cloud: Emulator, sessions: sessionmaker[Session]) -> None:
    """Every notification delivered (202) and applied by the worker."""
    assert cloud.wait_deliveries_idle(20)
    assert all(d.get("status") == 202 for d in cloud.client.deliveries())

    def applied() -> bool:
        with sessions.begin() as session:
            statuses = set(session.scalars(text("SELECT status FROM webhook_inbox")))
        return bool(statuses) and statuses <= {"applied", "ignored"}

    wait_until(applied, timeout=30, what="the worker to apply every notification")


def test_the_core_flows_run_in_their_own_schema_each_process_on_its_own_role(
    install, receiver, celery_worker, settings, as_worker, cloud
):
    names = install.names
    assert schema_of(settings.database_url) == SCHEMA
    assert get_settings().database_url == settings.database_url  # the worker's role

    # Cloudinary -> receiver (receiver role) -> inbox -> worker (worker role) -> mirror
    sdk = settings.account.sdk_config()
    for public_id in ("shop/shoe", "shop/hat", "shop/sock", "shop/gone"):
        cloudinary.uploader.upload(png_bytes(3, 2), public_id=public_id, **sdk)
    cloudinary.uploader.add_tag("sale", ["shop/shoe"], **sdk)
    cloudinary.api.update("shop/shoe", display_name="Shoe", **sdk)
    cloudinary.uploader.rename("shop/hat", "shop/cap", **sdk)
    cloudinary.uploader.destroy("shop/gone", **sdk)
    settled(cloud, as_worker)

    with install.owner() as conn:
        sessions_by_program = conn.execute(
            "SELECT DISTINCT application_name, usename::text FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND application_name LIKE 'mediasync-%%'"
        ).fetchall()
        users = conn.execute(
            "SELECT DISTINCT usename::text FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    assert ("mediasync-receiver", names.receiver) in sessions_by_program
    assert {user for (user,) in users} == {names.receiver, names.worker}

    # the host application: its own role, its own search_path, the view's simple name
    with psycopg.connect(install.url_as(names.app), autocommit=True) as app:
        assert app.execute("SHOW search_path").fetchone() == ('"$user", public',)
        live = app.execute(
            "SELECT public_id, tags, display_name FROM media_assets"
            " WHERE deleted_at IS NULL ORDER BY public_id"
        ).fetchall()
        assert live == [
            ("shop/cap", [], "hat"),  # renamed: the display name stays
            ("shop/shoe", ["sale"], "Shoe"),
            ("shop/sock", [], "sock"),
        ]
        assert app.execute(
            "SELECT deleted_at IS NOT NULL FROM media_assets WHERE public_id = 'shop/gone'"
        ).fetchone() == (True,)

        # the app's deletes -> triggers (SECURITY DEFINER) -> listener -> worker -> Cloudinary
        listener = ListenerThread(
            Listener(settings.database_url, enqueue_drains, heartbeat_s=0.5, poll_s=0.2)
        ).start()
        try:
            app.execute("DELETE FROM media_assets WHERE public_id = 'shop/sock'")
            app.execute(
                "UPDATE media_assets SET deleted_at = now() WHERE public_id = 'shop/cap'"
            )
            wait_until(
                lambda: (
                    sorted(a["public_id"] for a in cloud.client.assets())
                    == ["shop/shoe"]
                ),
                timeout=15,
                what="the app's two deletes to reach Cloudinary",
            )
        finally:
            listener.stop()
    with as_worker.begin() as session:
        queue = session.execute(
            text(
                "SELECT public_id, reason, status FROM cloudinary_cleanup_queue"
                " ORDER BY public_id"
            )
        ).all()
        mine = session.scalar(text("SELECT current_user"))
    assert mine == names.worker
    assert [tuple(row) for row in queue] == [
        ("shop/cap", "soft_delete", "completed"),
        ("shop/sock", "hard_delete", "completed"),
    ]
    # Cloudinary's own notifications of those deletes come back and are applied
    settled(cloud, as_worker)

    # a full reconcile (worker role, its own process) finds the mirror in step
    done = subprocess.run(
        [sys.executable, "-m", "mediasync", "reconcile", "--full", "--wait", "--json"],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **install.env_as(
                names.worker,
                REDIS_URL=settings.redis_url,
                CLOUDINARY_URL=cloud.cloudinary_url,
            ),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "finished", report
    repairs = ("inserted", "updated", "marked_deleted", "requeued_cleanup", "errors")
    assert {name: report["counts"][name] for name in repairs} == dict.fromkeys(
        repairs, 0
    )
    assert mirror_differences(cloud, as_worker) == []

    # everything of mediasync's is in SCHEMA; the host's public schema got the view alone
    with install.owner() as conn:
        in_public = conn.execute(
            "SELECT c.relname::text, c.relkind::text FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"
        ).fetchall()
        functions_in_public = conn.execute(
            "SELECT p.proname::text FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        ).fetchall()
        ours = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            (SCHEMA,),
        ).fetchone()
    assert in_public == [("media_assets", "v")]
    assert functions_in_public == []
    # every table of the ORM, and the migrations' own record
    assert ours == (len(Base.metadata.tables) + 1,)
