from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.webhook_receiver.helpers import (
    forget_stale_broker_pools,
    receiver_app,
    with_account,
)
from workers.config import Settings


@pytest.fixture
def receiver_settings(settings: Settings) -> Settings:
    return with_account(settings)


@pytest.fixture
def app(receiver_settings: Settings) -> Iterator[Flask]:
    with receiver_app(receiver_settings) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(autouse=True)
def _fresh_broker_pools() -> None:
    forget_stale_broker_pools()
