"""The console's grants (change_feed/grants.py) at the feed: accepted in place of a token,
refused once expired, forged or for another scope, ending the stream they opened when they
expire; and read-only: neither the operator API nor the console's login takes one."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import quote

import pytest

from tests.change_feed.sse import API_TOKEN, FEED_TOKEN
from tests.change_feed.test_http import raw
from tests.webhook_receiver.helpers import receiver_app
from webhook_receiver.change_feed import grants


def insert(db, public_id: str) -> None:
    db.execute(
        "INSERT INTO media_assets (public_id, asset_id) VALUES (%s, md5(%s))",
        (public_id, public_id),
    )


@pytest.mark.parametrize("signed_with", [FEED_TOKEN, API_TOKEN])
@pytest.mark.parametrize("how", ["header", "query"])
def test_a_grant_under_either_token_opens_the_stream(feed, db, signed_with, how):
    grant = grants.issue(signed_with, "alice").token
    assert FEED_TOKEN not in grant
    assert API_TOKEN not in grant
    if how == "header":
        client = feed.client("public_id=g/", token=grant)
    else:
        client = feed.client(f"public_id=g/&access_token={quote(grant)}", token=None)
    assert client.status == 200
    assert client.head["access-control-allow-origin"] == "*"
    insert(db, "g/one")
    assert client.next_event().data["public_id"] == "g/one"


def test_a_grant_with_last_event_id_resumes(feed, db):
    watching = feed.client(token=grants.issue(FEED_TOKEN, "alice").token)
    insert(db, "r/1")
    first = watching.next_event().id
    insert(db, "r/2")
    grant = grants.issue(FEED_TOKEN, "alice").token
    client = feed.client(f"last_event_id={first}&access_token={grant}", token=None)
    assert client.next_event().data["public_id"] == "r/2"


def forged(scope: str = grants.SCOPE, exp: float | None = None, key: str = FEED_TOKEN):
    payload = {"scope": scope, "sub": "mallory", "exp": int(exp or time.time() + 60)}
    return grants.PREFIX + grants._serializer(key).dumps(payload)


@pytest.mark.parametrize(
    "grant",
    [
        pytest.param(
            lambda: grants.issue(FEED_TOKEN, "alice", ttl_s=-1).token, id="expired"
        ),
        pytest.param(lambda: forged(exp=time.time() - 1), id="expired-exp"),
        pytest.param(lambda: forged(key="some-other-token"), id="another-key"),
        pytest.param(lambda: forged(scope="operator"), id="another-scope"),
        pytest.param(
            lambda: grants.issue(FEED_TOKEN, "alice").token[:-2] + "xx", id="tampered"
        ),
        pytest.param(lambda: grants.PREFIX + "not-a-grant", id="garbage"),
    ],
)
def test_a_bad_grant_is_refused(feed, grant):
    client = feed.client(token=grant())
    assert client.status == 401
    assert "grant is expired or not valid" in client.error()


def test_a_grant_is_good_until_it_expires(feed):
    now = time.time()
    grant = grants.issue(FEED_TOKEN, "alice", ttl_s=60, now=now)
    assert grants.verify(grant.token, (FEED_TOKEN,), now=now + 59) is not None
    assert grants.verify(grant.token, (FEED_TOKEN,), now=now + 61) is None
    assert grants.verify(grant.token, (None, API_TOKEN, FEED_TOKEN)) is not None
    assert grants.verify(grant.token, (API_TOKEN,)) is None


def test_the_stream_a_grant_opened_ends_when_it_expires(feed, db):
    grant = grants.issue(FEED_TOKEN, "alice", ttl_s=3).token
    client = feed.client(token=grant)
    assert client.status == 200
    insert(db, "soon/1")
    assert client.next_event().data["public_id"] == "soon/1"
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        client.next_event(timeout=10)
    assert time.monotonic() - started < 5
    # and the same grant cannot open another
    assert feed.client(token=grant).status == 401
    # a token's stream is not cut: it has no expiry
    assert feed.client(token=FEED_TOKEN).quiet_for(1)


def test_a_token_that_looks_like_a_grant_is_still_a_token(start_feed, feed_settings):
    odd = grants.PREFIX + "a-feed-token-of-that-shape"
    running = start_feed(dataclasses.replace(feed_settings, feed_token=odd))
    assert running.client(token=odd).status == 200


def test_a_grant_is_read_only_the_operator_api_and_console_refuse_it(
    feed, feed_settings
):
    grant = grants.issue(API_TOKEN, "operator").token
    # the feed only reads: any other method is refused before the grant is looked at
    status, _, _ = raw(
        feed.port,
        f"DELETE /api/changes HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {grant}"
        "\r\n\r\n".encode(),
    )
    assert status == 405
    with receiver_app(feed_settings) as app:
        client = app.test_client()
        bearer = {"Authorization": f"Bearer {grant}"}
        assert client.get("/api/cleanup", headers=bearer).status_code == 401
        assert client.post("/api/sync", headers=bearer, json={}).status_code == 401
        good = {"Authorization": f"Bearer {API_TOKEN}"}
        assert client.get("/api/cleanup", headers=good).status_code == 200
        # nor does the console take it as a login
        page = client.get("/console/login").get_data(as_text=True)
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        answer = client.post(
            "/console/login", data={"token": grant, "csrf_token": csrf}
        )
        assert answer.status_code == 401
