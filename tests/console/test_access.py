"""Who gets in: the login form, the session cookie and its expiry, CSRF, the read-only kind,
and the console off without any operator token."""

from __future__ import annotations

import dataclasses
import time

import pytest

from tests.console.conftest import ALICE, Browser
from tests.operator_api.conftest import TOKEN, run_sql
from tests.webhook_receiver.helpers import receiver_app
from workers.config import ConsoleOperator, Settings, SettingsError


def failed_cleanup(sessions) -> int:
    run_sql(
        sessions,
        "INSERT INTO media_assets (public_id, asset_id, version) VALUES ('acc/1', 'a1', 1)",
    )
    run_sql(sessions, "DELETE FROM media_assets WHERE public_id = 'acc/1'")
    (queue_id,) = run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'failed', attempts = 8,"
        " last_error = 'boom' RETURNING id",
    )[0]
    return queue_id


def test_off_without_any_operator_token(settings):
    off = dataclasses.replace(settings, api_token=None, console_operators=())
    with receiver_app(off) as app:
        client = app.test_client()
        assert client.get("/console/").status_code == 404
        assert client.get("/console/login").status_code == 404
        assert client.post("/console/login", data={"token": "x"}).status_code == 404


def test_named_operators_alone_turn_it_on(settings):
    named = dataclasses.replace(settings, api_token=None)
    with receiver_app(named) as app:
        browser = Browser(app.test_client())
        assert browser.login(ALICE).status_code == 200
        assert browser.login(TOKEN).status_code == 401


def test_a_visitor_is_sent_to_the_login_form(browser):
    answer = browser.get("/console/inbox?status=failed")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/console/login?next=")
    assert browser.client.post("/console/flows/cleanup/pause").status_code == 400


def test_the_right_token_logs_in_and_names_the_operator(browser):
    answer = browser.login(ALICE)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert 'id="operator-name" data-kind="admin">alice (admin)' in page
    assert 'id="inbox-counts"' in page


def test_the_operator_token_logs_in_as_operator(browser):
    page = browser.login(TOKEN).get_data(as_text=True)
    assert ">operator (admin)<" in page


def test_a_wrong_token_is_refused(browser, sessions):
    answer = browser.login("not-a-token")
    assert answer.status_code == 401
    assert 'id="login-error"' in answer.get_data(as_text=True)
    assert browser.get("/console/").status_code == 302
    refused = run_sql(
        sessions,
        "SELECT status FROM media_sync_log WHERE operation = 'console.login'",
    )
    assert refused == [("refused",)]


def test_the_session_cookie_is_locked_down(browser):
    browser.get("/console/login")
    answer = browser.post("/console/login", {"token": ALICE})
    assert answer.status_code == 302
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/console/" in cookie
    assert "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain HTTP here; see the HTTPS test


def test_the_cookie_is_secure_over_https(app):
    client = app.test_client()
    page = client.get("/console/login", base_url="https://localhost")
    csrf = (
        page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]
    )
    answer = client.post(
        "/console/login",
        data={"token": ALICE, "csrf_token": csrf},
        base_url="https://localhost",
    )
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"]


def test_a_session_expires(settings):
    short = dataclasses.replace(settings, console_session_max_age_s=1)
    with receiver_app(short) as app:
        browser = Browser(app.test_client())
        assert browser.login(ALICE).status_code == 200
        assert browser.get("/console/").status_code == 200
        time.sleep(2.1)
        answer = browser.get("/console/")
        assert answer.status_code == 302
        assert "/console/login" in answer.headers["Location"]


def test_a_changed_token_ends_the_session(settings, app):
    browser = Browser(app.test_client())
    assert browser.login(ALICE).status_code == 200
    rotated = dataclasses.replace(
        settings,
        console_operators=(ConsoleOperator("alice", "a-new-token-000", "admin"),),
    )
    with receiver_app(rotated) as other:
        client = other.test_client()
        cookie = browser.client.get_cookie("mediasync_console", path="/console/")
        client.set_cookie(cookie.key, cookie.value, path="/console/")
        assert client.get("/console/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(alice, sessions):
    queue_id = failed_cleanup(sessions)
    answer = alice.post(f"/console/cleanups/{queue_id}/retry", csrf=False)
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    wrong = alice.post(f"/console/cleanups/{queue_id}/retry", {"csrf_token": "forged"})
    assert wrong.status_code == 400
    assert run_sql(
        sessions,
        "SELECT status FROM cloudinary_cleanup_queue WHERE id = :id",
        id=queue_id,
    ) == [("failed",)]


def test_logout_needs_the_csrf_token_and_ends_the_session(alice):
    assert alice.post("/console/logout", csrf=False).status_code == 400
    assert alice.get("/console/").status_code == 200
    assert alice.post("/console/logout").status_code == 302
    assert alice.get("/console/").status_code == 302


def test_a_read_only_operator_reads_but_cannot_act(bob, sessions):
    queue_id = failed_cleanup(sessions)
    page = bob.get(f"/console/cleanups/{queue_id}").get_data(as_text=True)
    assert 'id="retry"' not in page  # no button to press
    answer = bob.post(f"/console/cleanups/{queue_id}/retry")
    assert answer.status_code == 403
    assert bob.post("/console/flows/cleanup/pause").status_code == 403
    assert run_sql(
        sessions,
        "SELECT status FROM cloudinary_cleanup_queue WHERE id = :id",
        id=queue_id,
    ) == [("failed",)]
    assert run_sql(sessions, "SELECT count(*) FROM mediasync_pauses") == [(0,)]
    refusals = run_sql(
        sessions,
        "SELECT details->>'operator', status FROM media_sync_log"
        " WHERE operation = 'console.refused' ORDER BY id",
    )
    assert refusals == [("bob", "refused"), ("bob", "refused")]


def test_no_get_changes_anything(alice, sessions):
    queue_id = failed_cleanup(sessions)
    for path in (
        f"/console/cleanups/{queue_id}/retry",
        "/console/flows/cleanup/pause",
        "/console/logout",
    ):
        assert alice.get(path).status_code == 405
    assert alice.get("/console/cleanups/bulk").status_code == 200  # a preview only
    assert run_sql(
        sessions,
        "SELECT status FROM cloudinary_cleanup_queue WHERE id = :id",
        id=queue_id,
    ) == [("failed",)]


def test_console_operators_setting_is_parsed_and_checked():
    env = {
        "DATABASE_URL": "postgresql://u@h/d",
        "REDIS_URL": "redis://h:6379/0",
        "CLOUDINARY_URL": "cloudinary://k:s@c",
        "MEDIASYNC_CONSOLE_OPERATORS": "alice:a:b:admin, bob:tok:read",
        "MEDIASYNC_CONSOLE_SESSION_MAX_AGE": "3600",
    }
    settings = Settings.from_env(env)
    assert [(o.name, o.token, o.kind) for o in settings.console_operators] == [
        ("alice", "a:b", "admin"),
        ("bob", "tok", "read"),
    ]
    assert settings.console_session_max_age_s == 3600
    assert "a:b" not in repr(settings)
    for bad in ("alice:secret-value", "alice:secret-value:root", "a:x:read,a:y:read"):
        with pytest.raises(
            SettingsError, match="MEDIASYNC_CONSOLE_OPERATORS"
        ) as refused:
            Settings.from_env(env | {"MEDIASYNC_CONSOLE_OPERATORS": bad})
        assert "secret-value" not in str(refused.value)


def test_every_post_form_carries_a_csrf_token(alice, sessions):
    queue_id = failed_cleanup(sessions)
    run_sql(
        sessions,
        "INSERT INTO reconcile_runs (kind, status, dry_run, params, counts, report,"
        " finished_at) VALUES ('full', 'finished', true, '{}', '{}', '{}', now())",
    )
    pages = [
        "/console/",
        f"/console/cleanups/{queue_id}",
        "/console/cleanups/bulk",
        "/console/reconcile",
        "/console/reconcile/1",
        "/console/asset?public_id=acc/1",
    ]
    forms = 0
    for path in pages:
        page = alice.get(path).get_data(as_text=True)
        for form in page.split('method="post"')[1:]:
            body = form.split("</form>")[0]
            token = body.split('name="csrf_token" value="')[1].split('"')[0]
            assert token == alice.csrf, path
            forms += 1
    assert forms >= 8
