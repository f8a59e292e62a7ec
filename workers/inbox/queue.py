"""The webhook inbox's rows outside the apply: operator retries, counts, the sweep's probe
for lost wake-ups, and the retention purge. (The claim and the apply are workers/inbox/batch.py.)
Functions take a Session and never commit.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from db.models import WebhookInbox

STATUSES = ("pending", "applied", "ignored", "failed")


def retry_failed(session: Session, ids: list[int] | None = None) -> int:
    """Put failed rows (all, or these ids) back to pending, due now; returns how many.

    The caller commits and then wakes the apply (tasks.inbox.apply_inbox.delay()).
    """
    query = (
        update(WebhookInbox)
        .where(WebhookInbox.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=func.now())
    )
    if ids is not None:
        query = query.where(WebhookInbox.id.in_(ids))
    return len(session.execute(query.returning(WebhookInbox.id)).all())


# One partial index per status answers each part (db/migrations/0014): a GROUP BY over
# the table would read every row.
_STATUS_COUNTS = text("""
SELECT 'pending', count(*) FROM webhook_inbox WHERE status = 'pending'
UNION ALL
SELECT 'failed', count(*) FROM webhook_inbox WHERE status = 'failed'
UNION ALL
SELECT status, count(*) FROM webhook_inbox WHERE status IN ('applied', 'ignored')
 GROUP BY status
""")


def status_counts(session: Session) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in session.execute(_STATUS_COUNTS):
        counts[status] = int(count)
    return counts


def oldest_pending_age_s(session: Session) -> float | None:
    """Seconds the oldest due row has waited (an SLO signal: stuck wake-ups show here)."""
    age = session.scalar(
        select(
            func.extract("epoch", func.now() - func.min(WebhookInbox.next_attempt_at))
        ).where(
            WebhookInbox.status == "pending", WebhookInbox.next_attempt_at <= func.now()
        )
    )
    return None if age is None else float(age)


def has_overdue(session: Session, older_than: timedelta) -> bool:
    """Whether a pending row has been due for longer than `older_than` (a lost wake-up)."""
    return bool(
        session.scalar(
            select(
                select(WebhookInbox.id)
                .where(
                    WebhookInbox.status == "pending",
                    WebhookInbox.next_attempt_at <= func.now() - older_than,
                )
                .exists()
            )
        )
    )


def purge_processed(session: Session, older_than_days: int, limit: int = 10_000) -> int:
    """Delete up to `limit` applied/ignored rows older than the retention; returns how many.

    Failed rows stay until an operator retries them.
    """
    doomed = (
        select(WebhookInbox.id)
        .where(
            WebhookInbox.status.in_(("applied", "ignored")),
            WebhookInbox.applied_at < func.now() - timedelta(days=older_than_days),
        )
        .limit(limit)
        .scalar_subquery()
    )
    result = session.execute(delete(WebhookInbox).where(WebhookInbox.id.in_(doomed)))
    return int(getattr(result, "rowcount", 0))
