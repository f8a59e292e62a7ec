"""The live changes page as the server renders it: the latest changes from
mediasync_changes with the feed's filters, the markup the script needs, the grant it is
given in place of a token, and the CSP that lets it reach the feed's origin alone."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest

from tests.console.conftest import ALICE, BOB, Browser
from tests.operator_api.conftest import TOKEN, insert_assets, run_sql
from tests.webhook_receiver.helpers import receiver_app
from webhook_receiver.change_feed import grants
from workers.config import Settings

FEED_URL = "http://feed.example.test:8001"
SCRIPT = "<script>alert('pwned')</script>"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, feed_public_url=FEED_URL)


def rows(page: str) -> list[dict[str, str]]:
    """Each change row's id, op, public_id (unescaped), folder and fields."""
    found = []
    for match in re.finditer(
        r'<tr data-id="(\d+)" class="change op-(\w+)">(.*?)</tr>', page, re.S
    ):
        cells = dict(re.findall(r'<td class="(\w+)">(.*?)</td>', match.group(3), re.S))
        pid = re.search(r'class="pid"><a href="[^"]*">(.*?)</a>', match.group(3), re.S)
        assert pid
        found.append(
            {
                "id": match.group(1),
                "op": match.group(2),
                "public_id": html.unescape(pid.group(1)),
                "folder": html.unescape(cells["folder"]),
                "fields": cells["fields"],
            }
        )
    return found


def make_changes(sessions) -> None:
    insert_assets(
        sessions,
        [
            {"public_id": "shop/shoe", "folder": "shop"},
            {"public_id": f"shop/{SCRIPT}", "folder": "shop/x"},
            {"public_id": "blog/video", "resource_type": "video", "folder": "blog"},
        ],
    )
    run_sql(
        sessions,
        "UPDATE media_assets SET bytes = 7, tags = '{a}' WHERE public_id = 'shop/shoe'",
    )
    run_sql(sessions, "DELETE FROM media_assets WHERE public_id = 'blog/video'")


def test_the_latest_changes_newest_first_with_their_fields(alice, sessions):
    make_changes(sessions)
    answer = alice.get("/console/changes")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    shown = rows(page)
    assert [(r["op"], r["public_id"]) for r in shown] == [
        ("deleted", "blog/video"),
        ("updated", "shop/shoe"),
        ("created", "blog/video"),
        ("created", f"shop/{SCRIPT}"),
        ("created", "shop/shoe"),
    ]
    assert shown[1]["fields"] == "bytes, tags"
    assert SCRIPT not in page  # escaped: shown as text
    assert html.escape(f"shop/{SCRIPT}", quote=False).replace("'", "&#39;") in page
    ids = [int(r["id"]) for r in shown]
    assert ids == sorted(ids, reverse=True)
    assert 'id="refresh-changes" href="/console/changes"' in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("prefix=shop/", ["shop/shoe", f"shop/{SCRIPT}", "shop/shoe"]),
        ("folder=/shop/", ["shop/shoe", f"shop/{SCRIPT}", "shop/shoe"]),
        ("folder=shop/x", [f"shop/{SCRIPT}"]),
        ("resource_type=video", ["blog/video", "blog/video"]),
        ("prefix=shop/&resource_type=video", []),
    ],
)
def test_filters_mean_what_the_feeds_do(alice, sessions, query, expected):
    make_changes(sessions)
    page = alice.get(f"/console/changes?{query}").get_data(as_text=True)
    assert [r["public_id"] for r in rows(page)] == expected
    if not expected:
        assert 'id="no-rows"' in page


def test_older_changes_page_by_id_and_do_not_go_live(alice, sessions):
    insert_assets(sessions, [{"public_id": f"many/{n}"} for n in range(60)])
    first = alice.get("/console/changes").get_data(as_text=True)
    assert len(rows(first)) == 50
    older = re.search(r'id="next-page" rel="next" href="([^"]+)"', first)
    assert older
    second = alice.get(html.unescape(older.group(1))).get_data(as_text=True)
    assert [r["public_id"] for r in rows(second)] == [
        f"many/{n}" for n in range(9, -1, -1)
    ]
    assert "live_changes.js" not in second
    assert 'id="live-status"' not in second


def test_a_bad_filter_is_a_400_naming_it(alice):
    answer = alice.get("/console/changes?resource_type=pdf")
    assert answer.status_code == 400
    assert "resource_type must be one of" in answer.get_data(as_text=True)
    assert alice.get("/console/changes?folder=/").status_code == 400


def test_the_page_carries_the_feed_and_a_grant_never_a_token(alice, sessions):
    make_changes(sessions)
    answer = alice.get("/console/changes?prefix=shop/&resource_type=image")
    page = answer.get_data(as_text=True)
    assert '<script src="/console/static/live_changes.js" defer></script>' in page
    status = re.search(r'<p id="live-status"(.*?)>', page, re.S)
    assert status
    attrs = dict(re.findall(r'(data-[\w-]+)="([^"]*)"', status.group(1)))
    assert attrs["data-feed-url"] == f"{FEED_URL}/api/changes"
    assert attrs["data-grant-url"] == "/console/changes/grant"
    assert attrs["data-filter-public-id"] == "shop/"
    assert attrs["data-filter-resource-type"] == "image"
    assert "data-filter-folder" not in attrs
    head = run_sql(sessions, "SELECT max(id) FROM mediasync_changes")[0][0]
    assert attrs["data-last-id"] == str(head)
    # the operator's token is nowhere; the grant verifies under it, for alice
    assert TOKEN not in page
    assert ALICE not in page
    grant = grants.verify(attrs["data-grant"], (TOKEN,))
    assert grant is not None
    assert grant.operator == "alice"
    # the feed's origin is allowed for connections, and for nothing else
    csp = answer.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["connect-src"] == f"'self' {FEED_URL}"
    assert directives["script-src"] == "'self'"
    assert csp.count("feed.example.test") == 1


def test_a_read_only_operator_gets_a_fresh_grant_as_json(bob):
    answer = bob.get("/console/changes/grant")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    grant = grants.verify(body["token"], (TOKEN,))
    assert grant is not None
    assert grant.operator == "bob"
    assert body["expires_at"] == grant.expires_at
    assert BOB not in answer.get_data(as_text=True)


def test_no_grant_without_a_login(browser):
    answer = browser.get("/console/changes/grant")
    assert answer.status_code == 302
    assert "/console/login" in answer.headers["Location"]


def test_without_the_feed_url_the_page_lists_and_says_why_it_is_not_live(
    settings, sessions
):
    make_changes(sessions)
    with receiver_app(dataclasses.replace(settings, feed_public_url=None)) as app:
        reader = Browser(app.test_client())
        assert reader.login(BOB).status_code == 200
        answer = reader.get("/console/changes")
        page = answer.get_data(as_text=True)
        assert len(rows(page)) == 5
        assert 'data-state="unavailable"' in page
        assert "MEDIASYNC_FEED_PUBLIC_URL" in page
        assert "live_changes.js" not in page
        assert "connect-src 'self';" in answer.headers["Content-Security-Policy"]
        assert reader.get("/console/changes/grant").status_code == 404


def test_the_assets_page_links_the_live_changes_of_its_search(alice):
    page = alice.get("/console/assets?prefix=shop/&folder=shop").get_data(as_text=True)
    link = re.search(r'id="live-changes-link" href="([^"]+)"', page)
    assert link
    assert html.unescape(link.group(1)) == "/console/changes?prefix=shop/&folder=shop"
