"""Putting notifications in the inbox without HTTP, and reading the mirror back."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import MediaAsset, SyncLogEntry, WebhookInbox


def add_notification(session: Session, body: dict[str, Any]) -> int:
    """An inbox row as the receiver would store it (signed_at: none; bodies carry times)."""
    raw = json.dumps(body)
    row = WebhookInbox(
        digest=hashlib.sha256(raw.encode()).hexdigest(),
        notification_type=body["notification_type"],
        body=body,
    )
    session.add(row)
    session.flush()
    return row.id


def assets(session: Session, public_id: str | None = None) -> list[MediaAsset]:
    query = select(MediaAsset).order_by(MediaAsset.id)
    if public_id is not None:
        query = query.where(MediaAsset.public_id == public_id)
    session.expire_all()
    return list(session.scalars(query))


def live(session: Session, public_id: str) -> MediaAsset | None:
    rows = [a for a in assets(session, public_id) if a.deleted_at is None]
    assert len(rows) <= 1
    return rows[0] if rows else None


def inbox_row(session: Session, inbox_id: int) -> WebhookInbox:
    session.expire_all()
    return session.get_one(WebhookInbox, inbox_id)


def log_for(session: Session, inbox_id: int) -> list[SyncLogEntry]:
    return list(
        session.scalars(
            select(SyncLogEntry)
            .where(SyncLogEntry.details["inbox_id"].as_integer() == inbox_id)
            .order_by(SyncLogEntry.id)
        )
    )
