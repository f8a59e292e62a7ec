"""Fixtures for reconciliation: the emulator as Cloudinary (through the real SDK), sessions on
the test's own committed database, the shared governor on the test's Redis index, and a
builder that puts a known amount of each kind of drift between the two."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from cloudinary_emulator import Emulator
from db.models import MediaAsset
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount, Settings
from workers.rate_governor import RateGovernor
from workers.reconcile import driver as reconcile

# Rows the tests build "an hour ago", well outside the grace window.
AN_HOUR_AGO = timedelta(hours=1)
# The fields reconciliation keeps equal to Cloudinary (etag and created_at are not listed).
COMPARED = (
    "asset_id",
    "version",
    "format",
    "bytes",
    "width",
    "height",
    "folder",
    "display_name",
    "tags",
    "context",
    "metadata",
    "secure_url",
)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    with Emulator(cloud_name="demo", api_key="k", api_secret="s", rate_limit=500) as em:
        yield em


@pytest.fixture
def settings(committed_db: str, redis_url: str, account: CloudinaryAccount) -> Settings:
    """Overrides the root fixture: the Celery worker and tasks talk to the emulator."""
    return Settings(database_url=committed_db, redis_url=redis_url, cloudinary=account)


@pytest.fixture
def limits() -> reconcile.Limits:
    return reconcile.Limits()


@dataclass
class Reconciler:
    """start + execute, as the tasks do, with the test's sessions, client and governor."""

    sessions: sessionmaker[Session]
    client: CloudinaryClient
    governor: RateGovernor
    limits: reconcile.Limits

    def start(self, kind: str, **params: Any) -> int:
        with self.sessions.begin() as session:
            run_id, _ = reconcile.start(session, kind, self.limits, **params)
        return run_id

    def execute(self, run_id: int, **options: Any) -> reconcile.Report:
        return reconcile.execute(
            self.sessions, run_id, self.client, self.governor, self.limits, **options
        )

    def run(self, kind: str, **params: Any) -> reconcile.Report:
        return self.execute(self.start(kind, **params))

    def run_waiting(
        self, kind: str, sleep: Callable[[float], None], **params: Any
    ) -> reconcile.Report:
        """As `mediasync reconcile --wait`: sleep through pauses; `sleep` sees each."""

        def recorded_sleep(seconds: float) -> None:
            sleep(seconds)
            time.sleep(seconds)

        return self.execute(self.start(kind, **params), wait=True, sleep=recorded_sleep)


@pytest.fixture
def reconciler(
    sessions: sessionmaker[Session],
    cloudinary: CloudinaryClient,
    governor: RateGovernor,
    limits: reconcile.Limits,
) -> Reconciler:
    return Reconciler(sessions, cloudinary, governor, limits)


def expected_row(asset: dict[str, Any]) -> dict[str, Any]:
    """What the mirror should hold for an emulator asset (written independently of the
    code under test, from the Admin API's documented shape)."""
    return {
        "asset_id": asset["asset_id"],
        "public_id": asset["public_id"],
        "resource_type": asset["resource_type"],
        "delivery_type": asset["type"],
        "version": asset["version"],
        "format": asset.get("format") or None,
        "bytes": asset.get("bytes"),
        "width": asset.get("width"),
        "height": asset.get("height"),
        "folder": asset.get("asset_folder"),
        "display_name": asset.get("display_name"),
        "tags": sorted(asset.get("tags") or []),
        "context": (asset.get("context") or {}).get("custom", {}),
        "metadata": asset.get("metadata") or {},
        "secure_url": asset.get("secure_url"),
    }


def live_rows(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str], dict]:
    with sessions.begin() as session:
        rows = session.execute(
            text("SELECT * FROM media_assets WHERE deleted_at IS NULL")  # every column
        ).mappings()
        return {
            (r["public_id"], r["resource_type"], r["delivery_type"]): {
                **dict(r),
                "tags": sorted(r["tags"]),
            }
            for r in rows
        }


def mirror_differences(
    cloud: Emulator,
    sessions: sessionmaker[Session],
    *,
    except_ids: set[str] = frozenset(),
) -> list[str]:
    """Every way the live mirror differs from the emulator (empty: they match exactly)."""
    rows = live_rows(sessions)
    problems: list[str] = []
    for asset in cloud.client.assets():
        if asset["public_id"] in except_ids:
            continue
        want = expected_row(asset)
        key = (want["public_id"], want["resource_type"], want["delivery_type"])
        have = rows.pop(key, None)
        if have is None:
            problems.append(f"missing row {key}")
            continue
        for name in COMPARED:
            if have[name] != want[name]:
                problems.append(f"{key} {name}: {have[name]!r} != {want[name]!r}")
    problems += [f"extra live row {key}" for key in rows]
    return problems


@dataclass
class Drift:
    """Which public_ids were put in each drift class by `make_drift`."""

    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    tombstoned: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    in_sync: list[str] = field(default_factory=list)


def make_drift(
    cloud: Emulator,
    sessions: sessionmaker[Session],
    *,
    total: int,
    stale: int,
    missing: int,
    tombstoned: int,
    gone: int,
    prefix: str = "drift/",
) -> Drift:
    """`total` assets in the emulator; a mirror built an hour ago that has `stale` of them
    with an older version and other tags, lacks `missing`, holds `tombstoned` as deleted
    rows (no cleanup row: it was lost), and has `gone` live rows with no asset."""
    cloud.client.seed(count=total, prefix=prefix)
    assets = sorted(cloud.client.assets(), key=lambda a: a["public_id"])
    then = datetime.now(UTC) - AN_HOUR_AGO
    drift = Drift()
    rows: list[dict[str, Any]] = []
    for index, asset in enumerate(assets):
        row = expected_row(asset) | {"created_at": then, "updated_at": then}
        if index < stale:
            row.update(version=asset["version"] - 1, tags=["old"])
            drift.stale.append(asset["public_id"])
        elif index < stale + missing:
            drift.missing.append(asset["public_id"])
            continue
        elif index < stale + missing + tombstoned:
            row["deleted_at"] = then
            drift.tombstoned.append(asset["public_id"])
        else:
            drift.in_sync.append(asset["public_id"])
        rows.append(row)
    for n in range(gone):
        public_id = f"gone/{n:05d}"
        rows.append(
            {
                "public_id": public_id,
                "asset_id": f"{n:032x}",
                "resource_type": "image",
                "delivery_type": "upload",
                "version": 1,
                "created_at": then,
                "updated_at": then,
            }
        )
        drift.gone.append(public_id)
    rows = [_rename_folder(row) for row in rows]
    with sessions.begin() as session:
        if rows:
            session.execute(insert(MediaAsset), rows)
    return drift


def _rename_folder(row: dict[str, Any]) -> dict[str, Any]:
    # the model's attribute for the `metadata` column is metadata_ (Base.metadata is taken)
    if "metadata" in row:
        row = {**row, "metadata_": row["metadata"]}
        del row["metadata"]
    return row


def scalar(sessions: sessionmaker[Session], sql: str, **params: Any) -> Any:
    with sessions.begin() as session:
        return session.execute(text(sql), params).scalar()
