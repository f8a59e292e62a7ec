"""The demo's story through the real pipeline: signed webhooks in at the receiver, applied
by a real Celery worker (its bulk statements fire the feed's triggers), deletes by the host
with plain SQL; a real SSE client sees every change, in order, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import (
    SECRET,
    WEBHOOK,
    forget_stale_broker_pools,
    receiver_app,
    signed,
)
from workers.config import Settings

UPLOADS, RENAMES, HARD_DELETES, SOFT_DELETES = 50, 3, 20, 5


@pytest.fixture
def settings(feed_settings: Settings, redis_url: str) -> Settings:
    forget_stale_broker_pools()
    return Settings(
        **{**feed_settings.__dict__, "redis_url": redis_url, "broker_url": redis_url,
           "webhook_secrets": (SECRET,)}
    )  # fmt: skip


@pytest.fixture
def receiver_client(settings: Settings) -> Iterator[FlaskClient]:
    with receiver_app(settings) as app:
        yield app.test_client()


def post_all(client: FlaskClient, bodies) -> None:
    for body in bodies:
        raw, headers = signed(body)
        assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202


def live(db, public_ids) -> int:
    return int(
        db.execute(
            "SELECT count(*) FROM media_assets"
            " WHERE public_id = ANY(%s) AND deleted_at IS NULL",
            (list(public_ids),),
        ).fetchone()[0]
    )


def test_the_demo_story_arrives_in_order(
    start_feed, settings, receiver_client, celery_worker, db
):
    feed = start_feed(settings)
    client = feed.client()
    names = [f"demo/{i:02}" for i in range(UPLOADS)]
    post_all(receiver_client, [p.upload(n, 1, t=i) for i, n in enumerate(names)])
    wait_until(lambda: live(db, names) == UPLOADS, timeout=60, what="the uploads")
    renamed = [f"{n}-renamed" for n in names[:RENAMES]]
    post_all(
        receiver_client,
        [
            p.rename(old, new, t=100 + i)
            for i, (old, new) in enumerate(zip(names[:RENAMES], renamed, strict=True))
        ],
    )
    wait_until(lambda: live(db, renamed) == RENAMES, timeout=60, what="the renames")
    gone = names[-(HARD_DELETES + SOFT_DELETES) :]
    db.execute(
        "DELETE FROM media_assets WHERE public_id = ANY(%s)", (gone[:HARD_DELETES],)
    )
    db.execute(
        "UPDATE media_assets SET deleted_at = now() WHERE public_id = ANY(%s)",
        (gone[HARD_DELETES:],),
    )
    events = client.events(UPLOADS + RENAMES + HARD_DELETES + SOFT_DELETES, timeout=30)
    ops = [e.data["op"] for e in events]
    assert ops == ["created"] * UPLOADS + ["updated"] * RENAMES + ["deleted"] * 25
    assert sorted(e.data["public_id"] for e in events[:UPLOADS]) == names
    assert [e.data["changed"]["public_id"] for e in events[UPLOADS:53]] == renamed
    assert [e.data["public_id"] for e in events[53:]] == gone
    ids = [e.id for e in events]
    assert ids == sorted(ids)
    # the worker's bookkeeping (stamps, sync_status, synced_at) said nothing more
    assert client.quiet_for(1.0)
