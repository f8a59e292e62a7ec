"""Whatever arrives, the receiver answers 2xx/4xx, never 5xx (a little fuzzing, seeded)."""

import json
import os
import random

import pytest
from sqlalchemy import select

from db.models import WebhookInbox
from tests.webhook_receiver.helpers import WEBHOOK, signed
from workers.celery_app import session_scope
from workers.inbox import batch as inbox


def odd_bodies(rng: random.Random) -> list[bytes]:
    values = [None, True, 1, -1, 2**70, 1.5, "", "x" * 300, [], {}, [1, [2]], {"a": {}}]
    bodies = [os.urandom(rng.randrange(0, 2000)) for _ in range(40)]
    bodies += [b"[" * depth + b"]" * depth for depth in (10, 999, 1001, 50_000)]
    bodies += [b'{"a":' * 20_000 + b"1" + b"}" * 20_000]
    bodies += [
        json.dumps({"notification_type": "upload", **{"x" + str(n): v}}).encode()
        for n, v in enumerate(values)
    ]
    bodies += [json.dumps({"notification_type": t}).encode() for t in values]
    # known types with every field the wrong type: stored (202), the worker copes
    for kind in ("upload", "delete", "rename", "move", "resource_tags_changed"):
        body = {"notification_type": kind}
        for key in ("public_id", "asset_id", "version", "resources", "tags", "context"):
            body[key] = rng.choice(values)
        bodies.append(json.dumps(body).encode())
    return bodies


@pytest.mark.parametrize("signing", ["signed", "unsigned"])
def test_no_body_gets_a_server_error(client, signing):
    rng = random.Random(signing)  # noqa: S311 -- seeded, reproducible fuzzing
    for raw in odd_bodies(rng):
        body, headers = signed(raw)
        if signing == "unsigned":
            headers = {"X-Cld-Timestamp": headers["X-Cld-Timestamp"]}
        status = client.post(WEBHOOK, data=body, headers=headers).status_code
        assert status < 500, raw[:80]
        assert status in ((202, 400) if signing == "signed" else (401,)), raw[:80]


def test_odd_headers_get_401_not_a_server_error(client):
    body, headers = signed(b'{"notification_type": "upload"}')
    for stamp in ("", "-1", "99999999999999999999", "0x10", "1e3", "\t12"):
        answer = client.post(
            WEBHOOK, data=body, headers={**headers, "X-Cld-Timestamp": stamp}
        )
        assert answer.status_code == 401
    for signature in ("", "g" * 40, "a" * 39, "é" * 40, "a" * 64 + " "):
        answer = client.post(
            WEBHOOK, data=body, headers={**headers, "X-Cld-Signature": signature}
        )
        assert answer.status_code == 401


def test_the_worker_copes_with_every_body_the_receiver_stored(client):
    for raw in odd_bodies(random.Random("worker")):  # noqa: S311 -- seeded fuzzing
        body, headers = signed(raw)
        client.post(WEBHOOK, data=body, headers=headers)
    result = inbox.drain(session_scope, fetcher=None)
    assert result.claimed > 10
    with session_scope() as session:
        rows = session.execute(
            select(WebhookInbox.status, WebhookInbox.last_error)
        ).all()
    assert {status for status, _ in rows} <= {"applied", "ignored"}, rows
