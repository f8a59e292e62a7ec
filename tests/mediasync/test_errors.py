"""The one-line explanations themselves (the subprocess table is test_one_line_errors)."""

import psycopg
import pytest
import redis

from mediasync.errors import describe, scrub
from workers.config import SettingsError

ENV = {
    "DATABASE_URL": "postgresql://app:Secret-pw-1@db.example:6432/shop",
    "REDIS_URL": "redis://:Redis-pw-22@cache.example/3",
}


def test_a_database_connection_failure_names_the_variable_host_and_port():
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://app:Secret-pw-1@127.0.0.1:1/shop")
    line = describe(refused.value, ENV)
    assert line is not None
    assert line.startswith("DATABASE_URL: cannot connect to PostgreSQL at ")
    assert "db.example:6432/shop" in line
    assert "Connection refused" in line
    assert "Secret-pw-1" not in line


def test_a_redis_failure_uses_the_default_port_when_the_url_has_none():
    with pytest.raises(redis.exceptions.ConnectionError) as refused:
        redis.Redis.from_url("redis://127.0.0.1:1/0").ping()
    line = describe(refused.value, ENV)
    assert line == "REDIS_URL: cannot connect to Redis at cache.example:6379/3: " + (
        "Connection refused"
    )


def test_settings_errors_keep_their_message_and_other_errors_are_not_explained():
    assert describe(SettingsError("X is not set"), ENV) == (
        "configuration error: X is not set"
    )
    assert describe(KeyError("a bug"), ENV) is None


def test_scrub_removes_passwords_and_joins_lines():
    line = scrub(
        "to postgresql://app:Secret-pw-1@h/db failed\nsee Redis-pw-22 and "
        "cloudinary://KEY:API_SECRET@CLOUD",
        ENV,
    )
    assert line == (
        "to postgresql://app:***@h/db failed see *** and cloudinary://KEY:API_SECRET@CLOUD"
    )
