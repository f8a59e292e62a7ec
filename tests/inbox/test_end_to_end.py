"""Signed notifications in at the receiver, applied by a real Celery worker through Redis."""

from sqlalchemy import select

from db.models import MediaAsset, SyncLogEntry, WebhookInbox
from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import WEBHOOK, signed
from workers.celery_app import session_scope


def post(client, body):
    raw, headers = signed(body)
    answer = client.post(WEBHOOK, data=raw, headers=headers)
    assert answer.status_code == 202
    return answer.json["inbox_id"]


def all_done(ids):
    with session_scope() as session:
        rows = session.execute(
            select(WebhookInbox.id, WebhookInbox.status).where(WebhookInbox.id.in_(ids))
        ).all()
    return len(rows) == len(ids) and all(s in ("applied", "ignored") for _, s in rows)


def test_the_receiver_enqueues_and_a_worker_applies(receiver_client, celery_worker):
    ids = [
        post(receiver_client, p.upload("e2e/shoe", 10, t=0, tags=["new"])),
        post(receiver_client, p.tags_changed("e2e/shoe", ["sale"], ["new"], t=5)),
        post(receiver_client, p.rename("e2e/shoe", "e2e/red-shoe", t=10)),
        post(receiver_client, p.upload("e2e/gone", 3, t=0)),
        post(receiver_client, p.delete("e2e/gone", 3, t=20)),
        post(receiver_client, p.upload("e2e/gone", 2, t=-1)),  # late and older
        post(receiver_client, {"notification_type": "never_heard_of_it"}),
    ]
    wait_until(lambda: all_done(ids), timeout=30, what="the worker to apply the inbox")
    with session_scope() as session:
        rows = {
            a.public_id: a
            for a in session.scalars(select(MediaAsset).order_by(MediaAsset.id))
        }
        assert set(rows) == {"e2e/red-shoe", "e2e/gone"}
        assert rows["e2e/red-shoe"].tags == ["sale"]
        assert rows["e2e/red-shoe"].deleted_at is None
        assert rows["e2e/gone"].deleted_at is not None
        logged = session.scalars(select(SyncLogEntry.status)).all()
    assert sorted(logged) == sorted(["applied"] * 5 + ["stale", "ignored"])
