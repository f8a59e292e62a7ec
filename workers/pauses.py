"""Operator pauses of a flow, kept in mediasync_pauses: while the cleanup flow is paused no
Cloudinary delete is sent (rows stay pending). The operator commands set them; the flows
read them on their hot path.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

CLEANUP_FLOW = "cleanup"


def is_paused(session: Session, flow: str = CLEANUP_FLOW) -> bool:
    found = session.execute(
        text("SELECT 1 FROM mediasync_pauses WHERE flow = :flow"), {"flow": flow}
    ).first()
    return found is not None


def pause(
    session: Session,
    *,
    by: str | None = None,
    reason: str | None = None,
    flow: str = CLEANUP_FLOW,
) -> bool:
    """Stop Cloudinary deletes (rows stay pending); False if it was already paused."""
    created = session.execute(
        text(
            "INSERT INTO mediasync_pauses (flow, paused_by, reason)"
            " VALUES (:flow, :by, :reason) ON CONFLICT (flow) DO NOTHING RETURNING flow"
        ),
        {"flow": flow, "by": by, "reason": reason},
    ).first()
    return created is not None


def resume(session: Session, flow: str = CLEANUP_FLOW) -> bool:
    """Lift the pause; False if it was not paused. The caller then enqueues a drain."""
    removed = session.execute(
        text("DELETE FROM mediasync_pauses WHERE flow = :flow RETURNING flow"),
        {"flow": flow},
    ).first()
    return removed is not None


# the flows an operator may pause: cleanup (no deletes) and reconcile (runs wait, paused)
FLOWS = (CLEANUP_FLOW, "reconcile")


def paused_flows(session: Session) -> list[dict[str, object]]:
    """Every pause in force: flow, paused_at, paused_by, reason."""
    rows = session.execute(
        text(
            "SELECT flow, paused_at, paused_by, reason FROM mediasync_pauses ORDER BY flow"
        )
    ).mappings()
    return [dict(row) for row in rows]
