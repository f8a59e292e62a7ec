from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from tests.webhook_receiver.helpers import (
    SECRET,
    forget_stale_broker_pools,
    receiver_app,
)
from workers.config import Settings


@pytest.fixture
def settings(committed_db: str, redis_url: str) -> Settings:
    """No Cloudinary account (nothing re-fetches), but a secret that verifies webhooks."""
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=None,
        webhook_secrets=(SECRET,),
    )


@pytest.fixture
def receiver_client(settings: Settings) -> Iterator[FlaskClient]:
    """A receiver on the test's database and Redis; ask for it before `celery_worker`."""
    with receiver_app(settings) as app:
        yield app.test_client()


@pytest.fixture(autouse=True)
def _fresh_broker_pools() -> None:
    forget_stale_broker_pools()
