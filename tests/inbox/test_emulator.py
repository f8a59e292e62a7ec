"""End to end with the Cloudinary emulator: it posts signed notifications to a live receiver,
a real worker applies them, and re-fetches go to its Admin API through the real SDK."""

import http.client
import json
import threading
import time
from collections.abc import Iterator

import cloudinary.api
import cloudinary.uploader
import pytest
import redis
from sqlalchemy import select, text
from werkzeug.serving import make_server

from cloudinary_emulator import Emulator
from db.models import MediaAsset, WebhookInbox
from tests.cloudinary_emulator.helpers import png_bytes
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import WEBHOOK, receiver_app
from webhook_receiver.signature import sign
from workers.celery_app import session_scope
from workers.config import CloudinaryAccount, Settings
from workers.inbox.tasks import wake
from workers.rate_governor import RateGovernor


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(notification_attempts=5, notification_base_delay=0.05) as em:
        yield em


@pytest.fixture
def settings(committed_db, redis_url, emulator) -> Settings:
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=CloudinaryAccount.parse(emulator.cloudinary_url),
    )


@pytest.fixture
def receiver_url(settings, emulator) -> Iterator[str]:
    """The receiver over real HTTP on loopback, and the emulator notifying it."""
    with receiver_app(settings) as app:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        emulator.client.notifications(True, url=url + WEBHOOK)
        try:
            yield url
        finally:
            server.shutdown()
            thread.join(10)


def sdk(settings):
    return settings.account.sdk_config()


def settled(emulator):
    assert emulator.wait_deliveries_idle(20)
    assert all(
        d.get("status") in (202, None) or d.get("ok")
        for d in emulator.client.deliveries()
    )

    def done():
        with session_scope() as session:
            statuses = set(session.scalars(select(WebhookInbox.status)))
        return statuses and statuses <= {"applied", "ignored"}

    wait_until(done, timeout=30, what="the worker to apply every notification")


def mirror(public_id):
    with session_scope() as session:
        return session.scalars(
            select(MediaAsset).where(MediaAsset.public_id == public_id)
        ).all()


def post_signed(url, settings, body):
    """A notification the emulator does not send itself, signed as Cloudinary would."""
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()))
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        conn.request(
            "POST",
            WEBHOOK,
            body=raw,
            headers={
                "X-Cld-Timestamp": stamp,
                "X-Cld-Signature": sign(raw, stamp, settings.account.api_secret),
            },
        )
        answer = conn.getresponse()
        assert answer.status == 202, answer.read()
        return json.loads(answer.read())["inbox_id"]
    finally:
        conn.close()


def test_every_change_the_emulator_notifies_ends_in_the_mirror(
    emulator, receiver_url, celery_worker, settings
):
    opts = sdk(settings)
    cloudinary.uploader.upload(
        png_bytes(4, 3),
        public_id="shop/shoe",
        tags=["new"],
        context={"alt": "x"},
        **opts,
    )
    cloudinary.uploader.add_tag("sale", ["shop/shoe"], **opts)
    cloudinary.uploader.remove_tag("new", ["shop/shoe"], **opts)
    cloudinary.uploader.add_context({"caption": "c"}, ["shop/shoe"], **opts)
    cloudinary.api.update(
        "shop/shoe", display_name="Shoe", asset_folder="archive", **opts
    )
    # structured metadata: the field exists first (Cloudinary refuses undefined ones)
    field = {"external_id": "sku", "label": "SKU", "type": "string"}
    cloudinary.api.add_metadata_field(field, **opts)
    cloudinary.api.update("shop/shoe", metadata={"sku": "S-1"}, **opts)
    cloudinary.uploader.rename("shop/shoe", "shop/red-shoe", **opts)
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="shop/gone", **opts)
    cloudinary.uploader.destroy("shop/gone", **opts)
    settled(emulator)

    [row] = mirror("shop/red-shoe")
    truth = emulator.client.asset("image", "upload", "shop/red-shoe")
    assert row.deleted_at is None
    assert row.asset_id == truth["asset_id"]
    assert row.version == truth["version"]
    assert sorted(row.tags) == sorted(truth["tags"]) == ["sale"]
    assert row.context == {"alt": "x", "caption": "c"}
    assert (row.display_name, row.folder) == ("Shoe", "archive")
    assert row.metadata_ == {"sku": "S-1"}
    assert (row.width, row.height, row.format) == (4, 3, truth["format"])
    assert mirror("shop/shoe") == []
    [gone] = mirror("shop/gone")
    assert gone.deleted_at is not None
    with session_scope() as session:
        queued = session.scalar(text("SELECT count(*) FROM cloudinary_cleanup_queue"))
    assert queued == 0  # deletions Cloudinary made are not sent back to it


def test_a_rate_limited_re_fetch_marks_the_row_for_reconciliation(
    emulator, receiver_url, celery_worker, settings
):
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="rl/pic", **sdk(settings))
    settled(emulator)
    [row] = mirror("rl/pic")
    emulator.client.set_rate_limit(500, remaining=0)
    body = {
        "notification_type": "resource_metadata_changed",
        "resources": {"rl/pic": {"asset_id": row.asset_id, "type": "upload"}},
    }
    post_signed(receiver_url, settings, body)
    settled(emulator)
    [row] = mirror("rl/pic")
    assert row.sync_status == "needs_refresh"


def test_a_re_fetch_that_finds_the_asset_gone_tombstones_it(
    emulator, receiver_url, celery_worker, settings
):
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="nf/pic", **sdk(settings))
    settled(emulator)
    emulator.client.notifications(False)
    cloudinary.uploader.destroy("nf/pic", **sdk(settings))
    [row] = mirror("nf/pic")
    body = {
        "notification_type": "delete_by_token",
        "resources": [{"asset_id": row.asset_id, "public_id": "nf/pic"}],
    }
    post_signed(receiver_url, settings, body)
    settled(emulator)
    [row] = mirror("nf/pic")
    assert row.deleted_at is not None


def test_a_cloudinary_error_during_a_re_fetch_is_retried(
    emulator, receiver_url, celery_worker, settings
):
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="err/pic", **sdk(settings))
    settled(emulator)
    [row] = mirror("err/pic")
    emulator.client.fault("get_resource", status=500, count=1)
    body = {
        "notification_type": "restore_asset_version",
        "asset_id": row.asset_id,
        "public_id": "err/pic",
    }
    inbox_id = post_signed(receiver_url, settings, body)

    def attempt():
        with session_scope() as session:
            return session.get_one(WebhookInbox, inbox_id)

    failed_once = wait_until(
        lambda: (r := attempt()).attempts == 1 and r, what="the first attempt"
    )
    assert (failed_once.status, failed_once.last_error[:12]) == (
        "pending",
        "GeneralError",
    )
    with session_scope() as session:  # skip the 10 s backoff
        session.execute(
            text("UPDATE webhook_inbox SET next_attempt_at = now() WHERE id = :id"),
            {"id": inbox_id},
        )
    wake()
    wait_until(lambda: attempt().status == "applied", what="the retry")
    assert attempt().attempts == 2


def test_a_re_fetch_waits_for_the_shared_admin_budget_instead_of_spending_its_reserve(
    emulator, receiver_url, celery_worker, settings
):
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="gov/pic", **sdk(settings))
    settled(emulator)
    [row] = mirror("gov/pic")
    # another worker learnt that only 5 of 100 calls are left this hour (reserve: 10)
    governor = RateGovernor(redis.Redis.from_url(settings.redis_url), "demo")
    governor.observe(100, 5, time.time() + 3600)
    emulator.client.reset_counters()
    body = {
        "notification_type": "access_control_changed",
        "resources": [{"asset_id": row.asset_id, "public_id": "gov/pic"}],
    }
    post_signed(receiver_url, settings, body)
    settled(emulator)
    [row] = mirror("gov/pic")
    assert row.sync_status == "needs_refresh"
    assert emulator.client.counters().get("get_resource", 0) == 0


def test_a_re_fetch_teaches_the_shared_budget_what_cloudinary_reports(
    emulator, receiver_url, celery_worker, settings
):
    cloudinary.uploader.upload(png_bytes(2, 2), public_id="gov/learn", **sdk(settings))
    settled(emulator)
    [row] = mirror("gov/learn")
    emulator.client.set_rate_limit(500, remaining=321)
    body = {"notification_type": "restore_asset_version", "asset_id": row.asset_id}
    post_signed(receiver_url, settings, body)
    settled(emulator)
    snapshot = RateGovernor(redis.Redis.from_url(settings.redis_url), "demo").snapshot()
    assert (snapshot.limit, snapshot.remaining) == (500, 320)
