from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db.urls import libpq_url
from tests.change_feed.sse import API_TOKEN, FEED_TOKEN, RunningFeed
from workers.config import Settings


@pytest.fixture
def feed_settings(committed_db: str) -> Settings:
    """The feed needs only the database and its tokens."""
    return Settings(
        database_url=committed_db,
        redis_url="redis://127.0.0.1:1/0",
        cloudinary=None,
        api_token=API_TOKEN,
        feed_token=FEED_TOKEN,
    )


@pytest.fixture
def start_feed(feed_settings: Settings) -> Iterator[Any]:
    started: list[RunningFeed] = []

    def start(settings: Settings | None = None, **options: Any) -> RunningFeed:
        running = RunningFeed(settings or feed_settings, **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def feed(start_feed: Any) -> RunningFeed:
    running: RunningFeed = start_feed()
    return running


@pytest.fixture
def db(committed_db: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(libpq_url(committed_db), autocommit=True) as conn:
        yield conn
