"""What the operator API and the sync gauges share per app: a small SQLAlchemy pool and the
Admin API budget's Redis client. Nothing connects until the first request or scrape."""

from __future__ import annotations

import redis
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from db.session import make_engine, make_sessionmaker
from workers.config import Settings
from workers.rate_governor import RateGovernor

EXTENSION = "mediasync.operator"
# An operator waits on these; a scrape must not hang on a dead server either.
CONNECT_TIMEOUT_S = 3
REDIS_TIMEOUT_S = 1.0


class Operator:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # operator calls and scrapes are few: a small pool, separate from the hot path's
        self.engine = make_engine(
            settings.operator_url,
            pool_size=2,
            max_overflow=4,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
        )
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)
        self._redis = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
        account = settings.cloudinary
        self.governor = (
            RateGovernor(self._redis, account.cloud_name) if account else None
        )

    def close(self) -> None:
        self.engine.dispose()
        self._redis.close()


def operator(app: Flask) -> Operator:
    state: Operator = app.extensions[EXTENSION]
    return state
