"""The live changes page in a real browser against a real `mediasync feed` process on
another origin: a change written to media_assets appears within seconds, as text; the
grant the page holds renews itself when the feed lets it expire, without losing changes."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from tests.change_feed.process import running_feed
from tests.console.browser.conftest import log_in
from tests.console.conftest import BOB
from tests.operator_api.conftest import TOKEN, run_sql
from tests.waiting import wait_until
from webhook_receiver.change_feed import grants
from workers.config import Settings

MARKUP = 'live/<img src=x onerror="document.title=1">'


@pytest.fixture
def feed_port(committed_db: str) -> Iterator[int]:
    """`mediasync feed` in its own process, with the console's operator token (the
    console signs its grants under it)."""
    with running_feed(committed_db, MEDIASYNC_API_TOKEN=TOKEN) as (_, port):
        yield port


@pytest.fixture
def settings(settings: Settings, feed_port: int) -> Settings:
    return dataclasses.replace(
        settings, feed_public_url=f"http://127.0.0.1:{feed_port}"
    )


def insert(sessions, public_id: str, folder: str = "live") -> None:
    run_sql(
        sessions,
        "INSERT INTO media_assets (public_id, asset_id, folder)"
        " VALUES (:pid, md5(:pid), :folder)",
        pid=public_id,
        folder=folder,
    )


def live_rows(page):
    return page.eval_on_selector_all(
        "#change-rows tr.live",
        "rows => rows.map(r => [r.querySelector('.op').textContent,"
        " r.querySelector('.pid a').textContent, r.querySelector('.folder').textContent,"
        " r.querySelector('.fields').textContent])",
    )


def open_live_page(page, query: str = "prefix=live/") -> None:
    log_in(page, BOB)
    page.goto(f"/console/changes?{query}")
    page.wait_for_selector("#live-status[data-state=live]", timeout=10_000)


def test_a_change_appears_live_as_text(page, sessions):
    insert(sessions, "live/before")
    open_live_page(page)
    assert page.locator("#change-rows tr.live").count() == 0  # the server drew that one
    assert page.text_content("#change-rows .pid a") == "live/before"
    started = time.monotonic()
    insert(sessions, MARKUP)
    page.wait_for_selector("#change-rows tr.live", timeout=5_000)
    assert time.monotonic() - started < 5
    assert live_rows(page) == [["created", MARKUP, "live", ""]]
    assert page.locator("#change-rows img").count() == 0  # text, not markup
    assert page.title() != "1"
    href = page.get_attribute("#change-rows tr.live .pid a", "href")
    assert href is not None
    assert href.startswith("/console/asset?public_id=live")
    # an update shows its fields; a change outside the filter does not come
    insert(sessions, "elsewhere/x", folder="other")
    run_sql(
        sessions,
        "UPDATE media_assets SET bytes = 5, tags = '{t}' WHERE public_id = 'live/before'",
    )
    wait_until(lambda: len(live_rows(page)) == 2, timeout=5, what="the update")
    assert live_rows(page)[0] == ["updated", "live/before", "live", "bytes, tags"]
    # the operator's token never reached the page
    assert TOKEN not in page.content()


def test_an_expired_grant_is_renewed_and_nothing_is_missed(page, sessions, monkeypatch):
    monkeypatch.setattr(grants, "TTL_S", 3)
    renewals: list[str] = []
    page.on(
        "request",
        lambda r: renewals.append(r.url) if "/console/changes/grant" in r.url else None,
    )
    open_live_page(page, "folder=live")
    insert(sessions, "live/a")
    wait_until(lambda: len(live_rows(page)) == 1, timeout=5, what="the first change")
    # the feed ends the stream when the grant expires; the browser's reconnect is refused
    # (401), the script fetches a new grant and resumes after the last id it showed
    time.sleep(3)
    insert(sessions, "live/b")  # possibly while no stream is open
    wait_until(
        lambda: [r[1] for r in live_rows(page)] == ["live/b", "live/a"],
        timeout=20,
        what="the change written across the renewal",
    )
    page.wait_for_selector("#live-status[data-state=live]", timeout=10_000)
    assert renewals  # it was the renewal that carried the stream on
    insert(sessions, "live/c")
    wait_until(
        lambda: [r[1] for r in live_rows(page)] == ["live/c", "live/b", "live/a"],
        timeout=10,
        what="a change after the renewal",
    )
