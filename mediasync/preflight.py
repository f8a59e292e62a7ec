"""Quick connects before a command hands the process to a long-running server.

Celery (worker, beat, flower) retries an unreachable broker forever and gunicorn starts a
receiver whatever the database says, so a wrong URL shows up as endless retries or a
traceback per request. One connect to each, with a short timeout, turns it into the CLI's
one-line error (mediasync/errors.py) before anything starts.
"""

from __future__ import annotations

import kombu.exceptions
import psycopg
import redis

from db.urls import libpq_url
from workers.config import Settings

CONNECT_TIMEOUT_S = 2


def check_database(url: str) -> None:
    """Raises psycopg.OperationalError when the database does not accept us."""
    with psycopg.connect(libpq_url(url), connect_timeout=CONNECT_TIMEOUT_S) as conn:
        conn.execute("SELECT 1")


def check_redis(url: str) -> None:
    """Raises a redis.exceptions.RedisError when Redis does not answer a PING."""
    client = redis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=CONNECT_TIMEOUT_S
    )
    try:
        client.ping()
    finally:
        client.close()


def check_connections(settings: Settings, *, redis_too: bool = True) -> None:
    """The database, Redis and (when it is another server) the broker answer."""
    check_database(settings.database_url)
    if not redis_too:
        return
    check_redis(settings.redis_url)
    if settings.broker_url != settings.redis_url:
        try:
            check_redis(settings.broker_url)
        except redis.exceptions.RedisError as exc:
            # what Celery itself raises for its broker: explained as CELERY_BROKER_URL
            raise kombu.exceptions.OperationalError(str(exc)) from exc
