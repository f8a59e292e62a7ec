"""POST /webhooks/cloudinary against real Postgres and Redis (Flask's test client)."""

import io
import json
import logging
import time

import pytest
import redis
from sqlalchemy import func, select

from db.models import MediaAsset, SyncLogEntry, WebhookInbox
from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import SECRET, WEBHOOK, encode, signed
from workers.celery_app import INBOX_QUEUE, session_scope
from workers.inbox import batch as inbox
from workers.inbox.wakeup import WAKEUP_KEY


def inbox_rows():
    with session_scope() as session:
        return session.scalars(select(WebhookInbox).order_by(WebhookInbox.id)).all()


def queued_wakeups(redis_url):
    client = redis.Redis.from_url(redis_url)
    try:
        return client.llen(INBOX_QUEUE)
    finally:
        client.close()


def test_a_signed_notification_is_stored_and_a_worker_woken(client, redis_url):
    body = p.upload("w/one", 1795183407)
    raw, headers = signed(body)
    response = client.post(WEBHOOK, data=raw, headers=headers)
    assert response.status_code == 202
    [row] = inbox_rows()
    assert response.json == {"inbox_id": row.id, "duplicate": False}
    assert (row.notification_type, row.status, row.body) == ("upload", "pending", body)
    assert row.signed_at.timestamp() == int(headers["X-Cld-Timestamp"])
    assert len(row.digest) == 64
    wait_until(lambda: queued_wakeups(redis_url) == 1, what="the wake-up")


def test_the_alias_route_and_sha256_signatures_are_accepted(client):
    raw, headers = signed(p.upload("w/alias", 1), algorithm="sha256")
    assert (
        client.post("/api/cloudinary/webhook", data=raw, headers=headers).status_code
        == 202
    )


def test_a_rotated_secret_is_accepted(receiver_settings):
    import dataclasses

    from tests.webhook_receiver.helpers import receiver_app

    settings = dataclasses.replace(receiver_settings, webhook_secrets=("previous",))
    with receiver_app(settings) as app:
        raw, headers = signed(p.upload("w/rot", 1), secret="previous")
        assert (
            app.test_client().post(WEBHOOK, data=raw, headers=headers).status_code
            == 202
        )


def _unsigned(raw, headers):
    return {k: v for k, v in headers.items() if not k.startswith("X-Cld")}


@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(
            lambda raw, h: (raw, {**h, "X-Cld-Signature": "0" * 40}), id="bad"
        ),
        pytest.param(
            lambda raw, h: signed(raw, timestamp=int(time.time()) - 7300), id="stale"
        ),
        pytest.param(
            lambda raw, h: signed(raw, timestamp=int(time.time()) + 600), id="future"
        ),
        pytest.param(lambda raw, h: (raw.replace(b"w/x", b"w/y"), h), id="tampered"),
        pytest.param(lambda raw, h: (raw, _unsigned(raw, h)), id="unsigned"),
        pytest.param(lambda raw, h: signed(raw, secret="not-ours"), id="wrong-secret"),
        pytest.param(
            lambda raw, h: (raw, {**h, "X-Cld-Timestamp": "soon"}), id="timestamp-text"
        ),
    ],
)
def test_unverifiable_notifications_get_401_and_are_not_stored(client, spoil):
    raw, headers = spoil(*signed(p.upload("w/x", 1)))
    response = client.post(WEBHOOK, data=raw, headers=headers)
    assert response.status_code == 401
    assert inbox_rows() == []


def test_an_oversized_body_gets_413_before_it_is_read(client):
    raw, headers = signed(b"x" * (1024 * 1024 + 1))
    assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 413


def test_an_oversized_chunked_body_gets_413(client):
    raw, headers = signed(b"[" + b"1," * 600_000 + b"1]")
    response = client.post(
        WEBHOOK,
        input_stream=io.BytesIO(raw),
        headers={**headers, "Transfer-Encoding": "chunked"},
        # what gunicorn sets for a chunked request it has de-chunked
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


def test_exactly_one_mebibyte_is_accepted(client):
    filler = "x" * (
        1024 * 1024 - len(json.dumps({"notification_type": "big", "f": ""}))
    )
    raw, headers = signed({"notification_type": "big", "f": filler})
    assert len(raw) == 1024 * 1024
    assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"",
        b"[1, 2]",
        b'"upload"',
        b'{"resources": []}',
        b'{"notification_type": 5}',
        b'{"notification_type": null}',
        b'{"notification_type": ""}',
        b'{"notification_type": ["upload"]}',
        b'{"notification_type": "upload", "v": NaN}',
        b"\xff\xfe{}",
        b'{"notification_type": "upload", "x": "\\u0000"}',
        b'{"notification_type": "upload", "x": "\\ud800"}',
    ],
)
def test_signed_bodies_that_are_not_notifications_get_400(client, raw):
    body, headers = signed(raw)
    assert client.post(WEBHOOK, data=body, headers=headers).status_code == 400
    assert inbox_rows() == []


def test_the_same_notification_five_times_is_one_row_and_one_effect(client, redis_url):
    raw, headers = signed(p.upload("w/dup", 3))
    answers = [client.post(WEBHOOK, data=raw, headers=headers) for _ in range(5)]
    assert [a.status_code for a in answers] == [202] * 5
    assert [a.json["duplicate"] for a in answers] == [False, True, True, True, True]
    assert len({a.json["inbox_id"] for a in answers}) == 1
    inbox.drain(session_scope, fetcher=None)
    # a redelivery after the row was applied needs no worker
    assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(WebhookInbox)) == 1
        assert session.scalar(select(func.count()).select_from(MediaAsset)) == 1
        assert session.scalar(select(func.count()).select_from(SyncLogEntry)) == 1


def test_wake_ups_coalesce_while_one_is_queued(client, redis_url):
    for n in range(4):
        raw, headers = signed(p.upload(f"w/c{n}", 1))
        assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202
    wait_until(lambda: queued_wakeups(redis_url) == 1, what="one wake-up")
    # the drain releases the claim first, so the next notification queues a new one
    redis.Redis.from_url(redis_url).delete(WAKEUP_KEY)
    raw, headers = signed(p.upload("w/c-next", 1))
    client.post(WEBHOOK, data=raw, headers=headers)
    wait_until(lambda: queued_wakeups(redis_url) == 2, what="a second wake-up")
    time.sleep(0.2)
    assert queued_wakeups(redis_url) == 2


def test_unknown_types_are_accepted_and_stored_then_ignored(client):
    raw, headers = signed({"notification_type": "hologram_ready", "id": 7})
    assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202
    inbox.drain(session_scope, fetcher=None)
    [row] = inbox_rows()
    assert (row.notification_type, row.status) == ("hologram_ready", "ignored")


def test_logs_name_the_inbox_id_but_never_the_secret_or_body(client, caplog):
    caplog.set_level(logging.DEBUG)
    body = p.upload("w/private-name", 1)
    raw, headers = signed(body)
    inbox_id = client.post(WEBHOOK, data=raw, headers=headers).json["inbox_id"]
    client.post(WEBHOOK, data=raw, headers={**headers, "X-Cld-Signature": "0" * 40})
    stored = [r for r in caplog.records if getattr(r, "inbox_id", None) == inbox_id]
    assert stored
    text = caplog.text + " ".join(str(vars(r)) for r in caplog.records)
    assert SECRET not in text
    assert "w/private-name" not in text
    assert encode(body).decode() not in text
