"""A worker SIGKILLed in the middle of a batch: every event still takes effect exactly once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text

from db.models import MediaAsset, SyncLogEntry, WebhookInbox
from mediasync.embedded import free_port
from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import WEBHOOK, signed
from workers.celery_app import INBOX_QUEUE, session_scope
from workers.inbox.tasks import sweep_inbox

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 30


def start_worker(settings, log: Path, *, row_delay_ms: int | None = None):
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        # uploads need no Admin API; a closed port makes any call fail at once
        "CLOUDINARY_URL": f"cloudinary://k:s@demo?upload_prefix=http://127.0.0.1:{free_port()}",
    }
    if row_delay_ms:
        env["MEDIASYNC_APPLY_ROW_DELAY_MS"] = str(row_delay_ms)
    command = [sys.executable, "-m", "mediasync", "worker", "-c", "1"]
    command += ["--pool", "prefork", "-Q", INBOX_QUEUE, "--without-heartbeat"]
    with open(log, "ab") as out:
        # its own session, so the whole process group (parent and pool child) can be killed
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )


def open_writing_transactions():
    """Backends of this database inside a transaction that has already written."""
    with session_scope() as session:
        return session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_xid IS NOT NULL"
            )
        )


def counts_by_status():
    with session_scope() as session:
        return dict(
            session.execute(
                select(WebhookInbox.status, func.count()).group_by(WebhookInbox.status)
            ).all()
        )


def test_a_worker_killed_mid_batch_leaves_every_event_applied_once(
    receiver_client, settings, tmp_path
):
    ids = []
    for n in range(EVENTS):
        raw, headers = signed(p.upload(f"kill/{n}", 100 + n))
        ids.append(
            receiver_client.post(WEBHOOK, data=raw, headers=headers).json["inbox_id"]
        )

    slow = start_worker(settings, tmp_path / "slow.log", row_delay_ms=150)
    try:
        wait_until(
            open_writing_transactions,
            timeout=60,
            interval=0.02,
            what="a batch to start",
        )
        time.sleep(1.0)  # several rows applied inside the open transaction by now
        assert counts_by_status() == {"pending": EVENTS}  # and none committed
    finally:
        os.killpg(slow.pid, signal.SIGKILL)
        slow.wait(30)
    # Postgres notices the dead connection and rolls the batch back
    wait_until(lambda: open_writing_transactions() == 0, what="the rollback")
    assert counts_by_status() == {"pending": EVENTS}

    fast = start_worker(settings, tmp_path / "fast.log")
    try:
        # The killed worker's message stays unacked in Redis until the visibility timeout;
        # the beat sweep is what finds the rows again.
        assert sweep_inbox(overdue_s=0) is True
        wait_until(
            lambda: counts_by_status() == {"applied": EVENTS},
            timeout=60,
            what="the second worker to apply everything",
        )
    finally:
        fast.terminate()
        fast.wait(30)

    with session_scope() as session:
        per_asset = session.execute(
            select(MediaAsset.public_id, func.count()).group_by(MediaAsset.public_id)
        ).all()
        assert sorted(per_asset) == sorted((f"kill/{n}", 1) for n in range(EVENTS))
        logged = session.execute(
            select(SyncLogEntry.details["inbox_id"].as_integer(), SyncLogEntry.status)
        ).all()
        assert sorted(logged) == sorted((i, "applied") for i in ids)
        attempts = set(session.scalars(select(WebhookInbox.attempts)))
        assert attempts == {1}  # the killed attempt left no trace
