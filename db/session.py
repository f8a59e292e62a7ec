"""Engine and session factories; they take a URL and never read the environment."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from db import json_codec
from db.urls import sqlalchemy_url


def make_engine(url: str, *, pool_size: int = 5, **kwargs: object) -> Engine:
    # pool_pre_ping: a worker that outlives a Postgres restart gets a fresh connection instead
    # of an error on its first query. json_deserializer: jsonb values (inbox bodies above
    # all) are parsed by orjson, exactly (db/json_codec.py).
    return create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        pool_pre_ping=True,
        json_deserializer=json_codec.loads,
        **kwargs,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
