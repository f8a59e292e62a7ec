"""Access in a real browser: logging in, and the refusals a person can run into (a wrong
token, a form without its CSRF token, an expired session, a read-only operator trying to
act); and a public_id holding markup shown as text."""

from __future__ import annotations

import dataclasses
import json
import time
from urllib.parse import quote, urlsplit

from tests.console.browser.conftest import log_in, serving
from tests.console.conftest import ALICE, BOB
from tests.console.helpers import add_cleanups, add_inbox, set_cleanup_status
from tests.operator_api.conftest import insert_assets, run_sql
from tests.webhook_receiver.helpers import receiver_app

COOKIE = "mediasync_console"


def session_cookie(page):
    found = [c for c in page.context.cookies() if c["name"] == COOKIE]
    return found[0] if found else None


def pauses(sessions):
    return run_sql(sessions, "SELECT flow FROM mediasync_pauses ORDER BY flow")


def test_logging_in_shows_the_overview_as_the_operator(page):
    page.goto("/console/cleanups")
    assert page.url.endswith("/console/login?next=/console/cleanups?")
    answer = log_in(page, ALICE)
    assert answer.status == 302
    assert urlsplit(page.url).path == "/console/cleanups"  # where the visitor was going
    assert page.is_visible("#cleanup-filter")
    assert page.text_content("#operator-name") == "alice (admin)"
    cookie = session_cookie(page)
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console/"
    page.click("#console-nav >> text=Overview")
    assert page.is_visible("#inbox-counts")


def test_a_wrong_token_is_refused(page, sessions):
    answer = log_in(page, "not-a-token-of-ours")
    assert answer.status == 401
    assert page.is_visible("#login-error")
    assert page.is_visible("#login-form")
    assert session_cookie(page) is None or "name" not in session_cookie(page)["value"]
    page.goto("/console/")
    assert "/console/login" in page.url
    assert run_sql(
        sessions,
        "SELECT status FROM media_sync_log WHERE operation = 'console.login'",
    ) == [("refused",)]


def test_a_form_without_its_csrf_token_is_refused(page, sessions):
    log_in(page, ALICE)
    page.goto("/console/?refresh=0")
    # what a forged cross-site form looks like: everything but the token
    page.evaluate(
        'document.querySelector(\'form[action$="/flows/cleanup/pause"]'
        " input[name=csrf_token]').remove()"
    )
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#pause-cleanup")
    assert answer.value.status == 400
    assert "CSRF token is missing" in page.text_content("main")
    assert pauses(sessions) == []
    # the same form with its token goes through
    page.goto("/console/?refresh=0")
    page.click("#pause-cleanup")
    assert page.get_attribute("#flow-cleanup", "data-paused") == "true"
    assert pauses(sessions) == [("cleanup",)]


def test_an_expired_session_is_refused(new_page, settings, sessions):
    short = dataclasses.replace(settings, console_session_max_age_s=2)
    with receiver_app(short) as app, serving(app) as url:
        page = new_page(base_url=url)
        log_in(page, ALICE)
        page.goto("/console/?refresh=0")
        assert page.is_visible("#pause-cleanup")
        kept = session_cookie(page)
        time.sleep(3.2)
        # the browser has dropped the cookie: the form is refused, the page asks for a login
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#pause-cleanup")
        assert answer.value.status in (400, 401)
        page.goto("/console/")
        assert "/console/login" in page.url
        # a kept copy of the cookie is refused by the server too (signed with its time)
        page.context.add_cookies(
            [
                {
                    "name": COOKIE,
                    "value": kept["value"],
                    "url": f"{url}/console/",
                }
            ]
        )
        page.goto("/console/")
        assert "/console/login" in page.url
    assert pauses(sessions) == []


def test_a_read_only_operator_cannot_act(page, sessions):
    (queue_id,) = add_cleanups(sessions, ["ro/1"])
    set_cleanup_status(sessions, [queue_id], "failed")
    log_in(page, BOB)
    assert page.text_content("#operator-name") == "bob (read)"
    page.goto("/console/?refresh=0")
    assert page.locator("#pause-cleanup").count() == 0  # nothing to press
    page.goto(f"/console/cleanups/{queue_id}")
    assert page.locator("#retry").count() == 0
    # build the form the page withholds, with bob's own valid CSRF token
    page.evaluate(
        """(path) => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = path;
          const token = document.querySelector('#logout-form input[name=csrf_token]');
          form.appendChild(token.cloneNode());
          document.body.appendChild(form);
          form.submit();
        }""",
        f"/console/cleanups/{queue_id}/retry",
    )
    page.wait_for_selector("#error-message")
    assert "read-only operator" in page.text_content("#error-message")
    assert run_sql(
        sessions,
        "SELECT status FROM cloudinary_cleanup_queue WHERE id = :id",
        id=queue_id,
    ) == [("failed",)]
    assert run_sql(
        sessions,
        "SELECT details->>'operator', details->>'path' FROM media_sync_log"
        " WHERE operation = 'console.refused'",
    ) == [("bob", f"/console/cleanups/{queue_id}/retry")]


def test_a_public_id_holding_markup_renders_as_text(new_page, sessions):
    evil = 'xss/<script>alert("pwned")</script><img src=x onerror=alert(2)>'
    insert_assets(sessions, [{"public_id": evil, "tags": ["<b>bold</b>"]}])
    add_inbox(sessions, 1, "failed", public_id=evil)
    (queue_id,) = add_cleanups(sessions, [evil + "-gone"])
    # without the Content-Security-Policy a missed escape would run: only escaping guards
    page = new_page(bypass_csp=True)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    log_in(page, ALICE)
    page.goto("/console/asset?public_id=" + quote(evil, safe=""))
    assert page.text_content("#asset-public-id") == evil
    assert page.get_by_text(evil, exact=True).first.is_visible()
    for path in (
        "/console/assets?prefix=xss/",
        "/console/inbox?prefix=xss/",
        f"/console/cleanups/{queue_id}",
        "/console/cleanups?prefix=xss/",
    ):
        page.goto(path)
        assert evil in page.text_content("main"), path
        assert page.locator("main script, main img, main b").count() == 0, path
    page.wait_for_timeout(300)  # an onerror would fire by now
    assert dialogs == []
    stored = run_sql(sessions, "SELECT body FROM webhook_inbox")[0][0]
    assert json.dumps(stored["public_id"]) == json.dumps(evil)
