"""`mediasync doctor` against a whole healthy stack, then with one part broken at a time:
each failure is reported on its own line, and only there."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from celery.worker import WorkController

from cloudinary_emulator import Emulator
from db.urls import libpq_url
from mediasync import notification_triggers
from mediasync.cli import main
from mediasync.doctor import ORDER, Result, local, run_checks
from mediasync.embedded import free_port
from tests.mediasync.doctor_stack import (
    ListenerThread,
    beat_process,
    environment,
    forget_triggers,
    served_receiver,
    with_account,
)
from tests.pg import create_database, drop_database
from tests.waiting import wait_until
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount, Settings
from workers.heartbeats import CANARY

pytestmark = pytest.mark.timeout(180)


@dataclass
class Stack:
    env: dict[str, str]
    listener: ListenerThread
    client: CloudinaryClient


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    """The emulator's account for the worker too (conftest's `celery_worker` follows it)."""
    return Settings(database_url=committed_db, redis_url=redis_url, cloudinary=account)


@pytest.fixture
def stack_without_worker(
    settings: Settings, cloud: Emulator, account: CloudinaryAccount
) -> Iterator[Stack]:
    forget_triggers(account)
    client = CloudinaryClient(account, timeout=10)
    listener = ListenerThread(settings.database_url)
    try:
        with served_receiver(settings) as base:
            env = environment(settings, cloud, base)
            url = notification_triggers.webhook_url(base)
            notification_triggers.apply(client, notification_triggers.plan([], url))
            with beat_process(env), local.connect(settings.database_url, 5) as conn:
                wait_until(
                    lambda: local.beat(conn).passed and local.listener(conn).passed,
                    timeout=60,
                    what="beat to lead and the listener to beat",
                )
                yield Stack(env, listener, client)
    finally:
        listener.stop()
        forget_triggers(account)


@pytest.fixture
def stack(stack_without_worker: Stack, celery_worker: WorkController) -> Stack:
    return stack_without_worker


def checks(env: dict[str, str]) -> dict[str, Result]:
    results = run_checks(env, timeout_s=2, apply_wait_s=15)
    assert [r.check for r in results] == list(ORDER)
    return {r.check: r for r in results}


def failing(results: dict[str, Result]) -> set[str]:
    return {name for name, r in results.items() if not r.passed}


def test_a_healthy_stack_passes_every_check_and_leaves_no_trace(
    stack: Stack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    results = checks(stack.env)
    assert failing(results) == set(), [r.line() for r in results.values()]
    assert "per-upload notification_url" in results["webhook triggers"].warning

    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(ORDER) + 1
    assert all(line.startswith("✓ ") for line in lines[:-1]), lines
    assert lines[-1] == "all checks pass"

    # the test notifications were applied, then their records removed
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as conn:
        inbox = conn.execute("SELECT count(*) FROM webhook_inbox").fetchone()
        log = conn.execute(
            "SELECT count(*) FROM media_sync_log WHERE operation = 'create_folder'"
        ).fetchone()
        assets = conn.execute("SELECT count(*) FROM media_assets").fetchone()
    assert (inbox, log, assets) == ((0,), (0,), (0,))


def test_unreachable_database_is_reported_on_its_line_in_json(
    cloud: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:1/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("CLOUDINARY_URL", cloud.cloudinary_url)
    assert main(["doctor", "--json", "--timeout", "1"]) == 1
    out, err = capsys.readouterr()
    document = json.loads(out)
    # stderr: one line, the first thing to fix, naming its variable
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(
        "mediasync: database: DATABASE_URL: cannot connect to 127.0.0.1:1"
    )
    assert "hunter2" not in err
    assert document["ok"] is False
    found = {c["check"]: c for c in document["checks"]}
    assert found["database"]["status"] == "fail"
    assert "127.0.0.1:1" in found["database"]["detail"]
    assert "hunter2" not in json.dumps(document)
    assert found["migrations"]["status"] == "skip"
    assert found["broker"]["status"] == "fail"
    assert found["cloudinary credentials"]["status"] == "pass"


def test_missing_migrations(
    pg_server_url: str, redis_url: str, cloud: Emulator
) -> None:
    name = f"mediasync_doctor_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name)
    try:
        env = {
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "CLOUDINARY_URL": cloud.cloudinary_url,
        }
        results = checks(env)
    finally:
        drop_database(pg_server_url, name)
    assert results["database"].passed
    assert not results["migrations"].passed
    assert "0001_create_tables" in results["migrations"].detail
    assert "mediasync migrate" in results["migrations"].fix
    assert results["delete triggers"].status == "skip"


def test_no_worker(stack_without_worker: Stack) -> None:
    results = checks(stack_without_worker.env)
    assert failing(results) == {"workers", "webhook applied"}
    assert "nobody consumes mediasync.inbox" in results["workers"].detail
    assert results["webhook applied"].status == "skip"


def test_workers_that_answer_but_run_no_canary(stack: Stack) -> None:
    """Workers can answer `inspect` yet take no tasks: the canary's age gives them away."""
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"]), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO mediasync_heartbeats (name, last_seen)"
            " VALUES (%s, now() - interval '1 hour')"
            " ON CONFLICT (name) DO UPDATE SET last_seen = EXCLUDED.last_seen",
            (CANARY,),
        )
        results = checks(stack.env)
    assert failing(results) == {"workers", "webhook applied"}
    assert "canary task last completed 3600 s ago" in results["workers"].detail
    assert results["webhook applied"].status == "skip"


def test_dead_listener(stack: Stack) -> None:
    stack.listener.stop()
    results = checks(stack.env)
    assert failing(results) == {"listener"}
    assert "mediasync listener" in results["listener"].fix


def test_wrong_secret(stack: Stack) -> None:
    account = CloudinaryAccount.parse(stack.env["CLOUDINARY_URL"])
    wrong = stack.env["CLOUDINARY_URL"].replace(account.api_secret, "not-the-secret")
    results = checks({**stack.env, "CLOUDINARY_URL": wrong})
    assert not results["cloudinary credentials"].passed
    assert "refused the API key and secret" in results["cloudinary credentials"].detail
    assert results["signature algorithm"].status == "skip"
    # the receiver refuses a notification signed with the wrong secret too
    assert "401" in results["webhook applied"].detail
    assert failing(results) == {
        "cloudinary credentials",
        "signature algorithm",
        "webhook triggers",
        "webhook applied",
    }


def test_signature_algorithm_the_account_refuses() -> None:
    """A SHA-256 account refuses SHA-1 signatures (a SHA-1 account takes either)."""
    with Emulator(cloud_name="sha256-account", signature_algorithm="sha256") as em:
        right = em.cloudinary_url
        assert "signature_algorithm=sha256" in right
        wrong = right.replace("&signature_algorithm=sha256", "")
        base = {
            "DATABASE_URL": "postgresql://127.0.0.1:1/x",
            "REDIS_URL": "redis://127.0.0.1:1",
        }
        refused = checks({**base, "CLOUDINARY_URL": wrong})
        accepted = checks({**base, "CLOUDINARY_URL": right})
    assert refused["cloudinary credentials"].passed
    assert not refused["signature algorithm"].passed
    assert "signature_algorithm=sha256" in refused["signature algorithm"].fix
    assert accepted["signature algorithm"].passed


def test_missing_trigger(stack: Stack) -> None:
    upload = stack.client.triggers("upload")
    stack.client.delete_trigger(upload[0]["id"])
    results = checks(stack.env)
    assert failing(results) == {"webhook triggers"}
    assert "does not post upload to" in results["webhook triggers"].detail
    assert "mediasync connect --public-url" in results["webhook triggers"].fix


def test_unreachable_receiver(stack: Stack) -> None:
    elsewhere = f"http://127.0.0.1:{free_port()}"
    results = checks({**stack.env, "MEDIASYNC_PUBLIC_URL": elsewhere})
    assert failing(results) == {"receiver", "webhook triggers", "webhook applied"}
    assert "does not answer" in results["receiver"].detail
    assert results["webhook applied"].status == "skip"


def test_notification_not_applied(stack: Stack, settings: Settings) -> None:
    """A receiver that verifies with another secret answers 401: nothing is applied."""
    other = dataclasses.replace(settings.account, api_secret="another-secret")
    with served_receiver(with_account(settings, other)) as base:
        url = notification_triggers.webhook_url(base)
        notification_triggers.apply(stack.client, notification_triggers.plan([], url))
        results = checks({**stack.env, "MEDIASYNC_PUBLIC_URL": base})
    assert failing(results) == {"webhook applied"}
    assert "refused the account's signature (401)" in results["webhook applied"].detail
