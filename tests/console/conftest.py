"""Fixtures for the console: a receiver app with the operator token and two named
operators (alice may act, bob may only read), and a browser-like client that logs in and
keeps the CSRF token of the last page it read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.operator_api.conftest import TOKEN
from tests.webhook_receiver.helpers import forget_stale_broker_pools, receiver_app
from workers.config import ConsoleOperator, Settings

ALICE = "alice-token-0123456789"
BOB = "bob-token-0123456789"
OPERATORS = (
    ConsoleOperator("alice", ALICE, "admin"),
    ConsoleOperator("bob", BOB, "read"),
)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def settings(committed_db: str, redis_url: str) -> Settings:
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=None,
        api_token=TOKEN,
        console_operators=OPERATORS,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    forget_stale_broker_pools()
    with receiver_app(settings) as app:
        yield app


class Browser:
    """The test client as a browser would use the console: forms carry the CSRF token the
    last page rendered."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kw: Any) -> TestResponse:
        answer = self.client.get(path, **kw)
        self._remember(answer)
        return answer

    def post(
        self,
        path: str,
        data: dict[str, Any] | None = None,
        *,
        csrf: bool = True,
        **kw: Any,
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        answer = self.client.post(path, data=form, **kw)
        self._remember(answer)
        return answer

    def login(self, token: str) -> TestResponse:
        self.get("/console/login")
        return self.post("/console/login", {"token": token}, follow_redirects=True)

    def _remember(self, answer: TestResponse) -> None:
        found = _CSRF.search(answer.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def alice(browser: Browser) -> Browser:
    assert browser.login(ALICE).status_code == 200
    return browser


@pytest.fixture
def bob(app: Flask) -> Browser:
    reader = Browser(app.test_client())
    assert reader.login(BOB).status_code == 200
    return reader


def number(page: str, element_id: str) -> int:
    """The whole number shown in the element with this id."""
    found = re.search(rf'id="{re.escape(element_id)}"[^>]*>\s*([0-9]+)\s*<', page)
    assert found, f"no number in #{element_id}"
    return int(found.group(1))
