"""SQLAlchemy 2.0 models mirroring db/migrations (the SQL is the truth; never create_all).

Every table has a model, including those the code reaches only through SQL (beat state,
heartbeats, pauses, reconcile runs, name holders): together they are the schema's map in
Python, for host apps that join media_assets to their own models and for readers, and
tests/db/test_models_match_schema.py holds each one to the migrated database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, Integer, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, OID, TIMESTAMP
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Timestamp = TIMESTAMP(timezone=True)


class Base(DeclarativeBase):
    pass


class MediaAsset(Base):
    __tablename__ = "media_assets"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    asset_id: Mapped[str | None] = mapped_column(Text)
    public_id: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text, server_default="image")
    delivery_type: Mapped[str] = mapped_column(Text, server_default="upload")
    version: Mapped[int | None] = mapped_column(BigInteger)
    format: Mapped[str | None] = mapped_column(Text)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    duration: Mapped[float | None] = mapped_column(Double)
    folder: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    context: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default="{}"
    )
    secure_url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    cloudinary_created_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sync_status: Mapped[str] = mapped_column(Text, server_default="synced")
    synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_event_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # when Cloudinary last wrote each field group (docs/ordering.md, workers/inbox/stamps.py)
    stamps: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    # the latest moderation and the access settings (db/migrations/0010)
    moderation_status: Mapped[str | None] = mapped_column(Text)
    moderation_kind: Mapped[str | None] = mapped_column(Text)
    access_mode: Mapped[str | None] = mapped_column(Text)
    access_control: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class AssetHolder(Base):
    """Which asset holds a name (identity), as of when (docs/ordering.md)."""

    __tablename__ = "media_asset_holders"

    public_id: Mapped[str] = mapped_column(Text, primary_key=True)
    resource_type: Mapped[str] = mapped_column(Text, primary_key=True)
    delivery_type: Mapped[str] = mapped_column(Text, primary_key=True)
    asset_id: Mapped[str | None] = mapped_column(Text)
    stamp: Mapped[str] = mapped_column(Text(collation="C"))


class WebhookInbox(Base):
    __tablename__ = "webhook_inbox"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    digest: Mapped[str] = mapped_column(Text, unique=True)
    notification_type: Mapped[str] = mapped_column(Text)
    body: Mapped[dict[str, Any]] = mapped_column(JSONB)
    signed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    received_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime | None] = mapped_column(Timestamp)


class CleanupQueueItem(Base):
    __tablename__ = "cloudinary_cleanup_queue"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    media_asset_id: Mapped[int | None] = mapped_column(BigInteger)
    asset_id: Mapped[str | None] = mapped_column(Text)
    public_id: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text)
    delivery_type: Mapped[str] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="8")
    next_attempt_at: Mapped[datetime] = mapped_column(
        Timestamp, server_default=func.now()
    )
    locked_at: Mapped[datetime | None] = mapped_column(Timestamp)
    locked_by: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    held_reason: Mapped[str | None] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(Timestamp)
    released_by: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(Text)
    folder: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str] | None] = mapped_column(ARRAY(Text))


class DeleteBreaker(Base):
    __tablename__ = "mediasync_delete_breaker"

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    tripped_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reset_at: Mapped[datetime] = mapped_column(Timestamp, server_default="-infinity")
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class DatabaseIdentity(Base):
    __tablename__ = "mediasync_database_identity"

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    database_oid: Mapped[int] = mapped_column(OID)
    database_name: Mapped[str] = mapped_column(Text)
    system_identifier: Mapped[str | None] = mapped_column(Text)
    cloud_name: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    adopted_by: Mapped[str | None] = mapped_column(Text)


class SyncLogEntry(Base):
    __tablename__ = "media_sync_log"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operation: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    public_id: Mapped[str | None] = mapped_column(Text)
    asset_id: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    error_message: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Double)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class BeatState(Base):
    __tablename__ = "mediasync_beat_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column(Timestamp)
    run_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    fired_by: Mapped[str | None] = mapped_column(Text)


class Heartbeat(Base):
    __tablename__ = "mediasync_heartbeats"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")


class Pause(Base):
    __tablename__ = "mediasync_pauses"

    flow: Mapped[str] = mapped_column(Text, primary_key=True)
    paused_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    paused_by: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)


class ReconcileRun(Base):
    __tablename__ = "reconcile_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, server_default="false")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    report: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    error: Mapped[str | None] = mapped_column(Text)
    resume_at: Mapped[datetime | None] = mapped_column(Timestamp)
    started_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp)


class ReconcileSeen(Base):
    __tablename__ = "reconcile_seen"

    run_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    media_asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class ReconcileWatermark(Base):
    __tablename__ = "reconcile_watermarks"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    watermark: Mapped[datetime] = mapped_column(Timestamp)
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())


class FeedChange(Base):
    """One change of media_assets, for the live feed (db/migrations/0011, `mediasync feed`)."""

    __tablename__ = "mediasync_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(Timestamp, server_default=func.now())
    # created | updated | deleted | restored
    op: Mapped[str] = mapped_column(Text)
    media_asset_id: Mapped[int] = mapped_column(BigInteger)
    public_id: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text)
    delivery_type: Mapped[str] = mapped_column(Text)
    asset_folder: Mapped[str | None] = mapped_column(Text)
    asset_id: Mapped[str | None] = mapped_column(Text)
    changed: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    previous: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
