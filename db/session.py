"""Engine and session factories; they take a URL and never read the environment."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from db.urls import sqlalchemy_url


def make_engine(url: str, *, pool_size: int = 5, **kwargs: object) -> Engine:
    # pool_pre_ping: a worker that outlives a Postgres restart gets a fresh connection instead
    # of an error on its first query.
    return create_engine(
        sqlalchemy_url(url), pool_size=pool_size, pool_pre_ping=True, **kwargs
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
