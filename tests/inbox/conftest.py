from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

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


@pytest.fixture
def poison(db_session):
    """A real Postgres failure for one public_id (DDL in the test's rolled-back transaction)."""
    db_session.execute(
        text(
            """
            CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.public_id = 'f/poison' THEN RAISE EXCEPTION 'boom'; END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_poison BEFORE INSERT OR UPDATE ON media_assets
                FOR EACH ROW EXECUTE FUNCTION test_poison();
            """
        )
    )
    yield
    db_session.execute(text("DROP TRIGGER IF EXISTS test_poison ON media_assets"))
