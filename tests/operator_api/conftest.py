"""Fixtures for the operator API: a receiver app with a token and the emulator's account,
its test client with and without the bearer header, and sessions on the test's database."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from tests.webhook_receiver.helpers import forget_stale_broker_pools, receiver_app
from workers.config import CloudinaryAccount, Settings

TOKEN = "operator-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(cloud_name="ops-tests", rate_limit=5000) as em:
        yield em


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    """Overrides the root fixture: the API is on and the workers talk to the emulator."""
    return Settings(
        database_url=committed_db,
        redis_url=redis_url,
        cloudinary=account,
        api_token=TOKEN,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    forget_stale_broker_pools()
    with receiver_app(settings) as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Api:
    """The test client with the bearer token on every call."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=AUTH, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=AUTH, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=AUTH, **kw)


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


def without_token(settings: Settings) -> Settings:
    return dataclasses.replace(settings, api_token=None)


def run_sql(sessions: sessionmaker[Session], sql: str, **params: Any) -> Any:
    with sessions.begin() as session:
        result = session.execute(text(sql), params)
        return result.all() if result.returns_rows else None


def insert_assets(
    sessions: sessionmaker[Session], rows: list[dict[str, Any]]
) -> list[int]:
    """Mirror rows with sensible defaults; their ids in order."""
    ids = []
    with sessions.begin() as session:
        for row in rows:
            values = {
                "resource_type": "image",
                "delivery_type": "upload",
                "bytes": 100,
                "folder": None,
                "display_name": None,
                "tags": [],
                "sync_status": "synced",
                **row,
            }
            ids.append(
                session.execute(
                    text(
                        "INSERT INTO media_assets (public_id, asset_id, resource_type,"
                        " delivery_type, bytes, folder, display_name, tags, sync_status,"
                        " version) VALUES (:public_id, md5(:public_id), :resource_type,"
                        " :delivery_type, :bytes, :folder, :display_name, :tags,"
                        " :sync_status, 1) RETURNING id"
                    ),
                    values,
                ).scalar_one()
            )
    return ids
