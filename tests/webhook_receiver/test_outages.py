"""Broker and database outages at the receiver, on servers these tests start and stop."""

import dataclasses
import time

import kombu.pools
import pytest
from celery.contrib.testing.worker import start_worker
from sqlalchemy import select

from db.migrate import migrate
from db.models import MediaAsset, WebhookInbox
from mediasync.embedded import LocalPostgres, LocalRedis, free_port
from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import (
    WEBHOOK,
    forget_stale_broker_pools,
    receiver_app,
    signed,
)
from tests.webhook_receiver.test_health import samples
from workers.celery_app import ALL_QUEUES, app, session_scope
from workers.inbox.tasks import sweep_inbox

ENQUEUE_FAILURES = ("mediasync_receiver_enqueue_failures_total", ())


@pytest.fixture(autouse=True)
def _forget_these_brokers():
    # the next test must not publish through a broker these tests started and stopped
    yield
    kombu.pools.reset()
    forget_stale_broker_pools()


def statuses():
    with session_scope() as session:
        return dict(session.execute(select(WebhookInbox.id, WebhookInbox.status)).all())


def public_ids():
    with session_scope() as session:
        return set(session.scalars(select(MediaAsset.public_id)))


def worker():
    return start_worker(
        app, pool="solo", perform_ping_check=False, queues=list(ALL_QUEUES)
    )


def post(client, public_id):
    raw, headers = signed(p.upload(public_id, 1))
    started = time.monotonic()
    answer = client.post(WEBHOOK, data=raw, headers=headers)
    # the broker is never on the request path: no connect timeout, no retry loop
    assert time.monotonic() - started < 1.0
    assert answer.status_code == 202
    return answer.json["inbox_id"]


def on_local_redis(receiver_settings, server):
    return dataclasses.replace(
        receiver_settings, redis_url=server.url, broker_url=server.url
    )


def test_with_redis_down_the_notification_is_stored_and_the_sweep_applies_it_later(
    receiver_settings, tmp_path
):
    port = free_port()
    first = LocalRedis(tmp_path / "redis-1", port=port)
    first.start()
    settings = on_local_redis(receiver_settings, first)
    with receiver_app(settings) as receiver:
        client = receiver.test_client()
        first.stop()
        inbox_id = post(client, "out/redis")
        assert statuses() == {inbox_id: "pending"}
        wait_until(
            lambda: samples(client).get(ENQUEUE_FAILURES), what="a failed wake-up"
        )
    # that receiver is gone; its wake-up never left. Redis comes back, empty.
    second = LocalRedis(tmp_path / "redis-2", port=port)
    second.start()
    try:
        assert sweep_inbox(overdue_s=0) is True
        with worker():
            wait_until(
                lambda: statuses()[inbox_id] == "applied", what="the sweep's drain"
            )
            with receiver_app(settings) as receiver:
                # and a receiver wakes workers again by itself
                later = post(receiver.test_client(), "out/redis-2")
                wait_until(lambda: statuses()[later] == "applied", what="a wake-up")
    finally:
        second.stop()
    assert public_ids() == {"out/redis", "out/redis-2"}


def test_a_wake_up_owed_during_an_outage_is_sent_when_redis_returns(
    receiver_settings, tmp_path
):
    port = free_port()
    first = LocalRedis(tmp_path / "redis-1", port=port)
    first.start()
    settings = on_local_redis(receiver_settings, first)
    with receiver_app(settings) as receiver:
        client = receiver.test_client()
        first.stop()
        inbox_id = post(client, "out/retried")
        wait_until(
            lambda: samples(client).get(ENQUEUE_FAILURES), what="a failed wake-up"
        )
        second = LocalRedis(tmp_path / "redis-2", port=port)
        second.start()
        try:
            with worker():  # no sweep: the receiver's own retry wakes it
                wait_until(
                    lambda: statuses()[inbox_id] == "applied",
                    timeout=20,
                    what="the retried wake-up",
                )
        finally:
            second.stop()


def test_with_postgres_down_the_answer_is_503_until_it_returns(
    receiver_settings, server_dir
):
    server = LocalPostgres(server_dir / "pg", durable=False)
    server.start()
    try:
        migrate(server.url, report=lambda _line: None)
        settings = dataclasses.replace(receiver_settings, database_url=server.url)
        with receiver_app(settings) as receiver:
            client = receiver.test_client()

            def status(public_id):
                raw, headers = signed(p.upload(public_id, 1))
                return client.post(WEBHOOK, data=raw, headers=headers).status_code

            assert status("out/pg-1") == 202
            server.stop()
            assert status("out/pg-2") == 503
            ready = client.get("/readyz")
            assert (ready.status_code, ready.json["failed"]) == (503, ["database"])
            server.start()
            # the broken connections were dropped; the next request connects afresh
            assert status("out/pg-3") == 202
            assert client.get("/readyz").status_code == 200
    finally:
        server.stop()
