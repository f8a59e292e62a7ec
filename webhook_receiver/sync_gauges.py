"""Sync gauges read at scrape time: queue backlogs, delete guardrails, heartbeats,
reconcile, Admin API budget.

One SQL round trip (workers.operations.queries.sync_snapshot, each part index-backed) and one
Redis HGETALL per scrape. A failing source never breaks /metrics: its gauges are left out,
the failure is logged, and `mediasync_sync_gauges_up{source=…}` says 0. The alert rules
(deploy/alerts/mediasync-rules.yml) read eight of these names; they must not change.

Choices the alerts depend on:
- the cleanup age counts from when the oldest pending row was queued (`created_at`, as
  `mediasync cleanup status` shows it): a delete held back by retries, an exhausted Admin
  API budget or a pause is what its alert is about; the inbox age counts from when the
  oldest pending row became due (`next_attempt_at`: a lost wake-up), as
  workers.inbox.batch.oldest_pending_age_s does; both 0 when there is none;
- the breaker gauge is 1 from the trip until an operator's release or restore closes it
  (`mediasync cleanup status`); the held gauge counts every held row, whichever guard
  held it (the breaker, or a database copy not adopted), so it also catches a copy;
- the listener age is the freshest listener's (one live listener keeps deletes flowing),
  and +Inf when no listener has ever reported or the last one stopped;
- the canary age is +Inf until a worker has run the canary once;
- the reconcile timestamp is the last *full*, writing run that finished (the daily safety
  net the alert is about), 0 before the first one;
- the budget ratio is 1 while the window's budget is unknown (nothing observed since its
  reset, so nothing spent); the budget gauges are absent without a Cloudinary account.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from workers.operations.queries import SyncSnapshot, sync_snapshot
from workers.rate_governor import RateGovernor

logger = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 2000


class SyncGauges(Collector):
    def __init__(
        self, sessions: sessionmaker[Session], governor: RateGovernor | None
    ) -> None:
        self._sessions = sessions
        self._governor = governor

    def describe(self) -> Iterator[Metric]:
        # nothing at registration: describing would run the queries before any scrape
        return iter(())

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "mediasync_sync_gauges_up",
            "Whether the sync gauges' source answered this scrape (1) or not (0).",
            labels=["source"],
        )
        snapshot = self._snapshot()
        up.add_metric(["database"], 0.0 if snapshot is None else 1.0)
        if snapshot is not None:
            yield from _database_gauges(snapshot)
        if self._governor is not None:
            budget = list(self._budget(self._governor))
            up.add_metric(["redis"], 1.0 if budget else 0.0)
            yield from budget
        yield up

    def _snapshot(self) -> SyncSnapshot | None:
        try:
            with self._sessions.begin() as session:
                session.execute(
                    text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
                )
                return sync_snapshot(session)
        except SQLAlchemyError as exc:
            logger.warning("sync gauges: database query failed (%s)", exc.__class__)
            return None

    def _budget(self, governor: RateGovernor) -> Iterator[Metric]:
        try:
            snap = governor.snapshot()
        except redis.RedisError as exc:
            logger.warning("sync gauges: Redis read failed (%s)", exc.__class__)
            return
        ratio = 1.0
        if snap.known and snap.limit and snap.remaining is not None:
            ratio = min(1.0, max(0.0, snap.remaining / snap.limit))
            yield _gauge(
                "mediasync_admin_budget_remaining",
                "Admin API calls left in the current hourly window (shared by workers).",
                snap.remaining,
            )
        yield _gauge(
            "mediasync_admin_budget_remaining_ratio",
            "Remaining / limit of the Cloudinary Admin API hourly budget, 0 to 1.",
            ratio,
        )


def _database_gauges(snap: SyncSnapshot) -> Iterator[Metric]:
    yield _gauge(
        "mediasync_inbox_pending", "webhook_inbox rows pending.", snap.inbox_pending
    )
    yield _gauge(
        "mediasync_inbox_failed", "webhook_inbox rows failed.", snap.inbox_failed
    )
    yield _gauge(
        "mediasync_inbox_oldest_pending_age_seconds",
        "Seconds the oldest due webhook_inbox row has waited; 0 when none is due.",
        snap.inbox_oldest_due_s,
    )
    yield _gauge(
        "mediasync_cleanup_pending",
        "cloudinary_cleanup_queue rows pending.",
        snap.cleanup_pending,
    )
    yield _gauge(
        "mediasync_cleanup_failed",
        "cloudinary_cleanup_queue rows failed.",
        snap.cleanup_failed,
    )
    yield _gauge(
        "mediasync_cleanup_oldest_pending_age_seconds",
        "Seconds since the oldest pending cleanup row was queued; 0 when none.",
        snap.cleanup_oldest_pending_s,
    )
    yield _gauge(
        "mediasync_cleanup_paused",
        "1 while an operator has paused Cloudinary deletes.",
        1.0 if snap.cleanup_paused else 0.0,
    )
    yield _gauge(
        "mediasync_cleanup_held",
        "cloudinary_cleanup_queue rows held for an operator by a delete guardrail.",
        snap.cleanup_held,
    )
    yield _gauge(
        "mediasync_cleanup_breaker_tripped",
        "1 while the mass-delete breaker is tripped (deletes wait for an operator).",
        1.0 if snap.cleanup_breaker_tripped else 0.0,
    )
    yield _gauge(
        "mediasync_listener_heartbeat_age_seconds",
        "Seconds since the freshest listener heartbeat; +Inf when none.",
        snap.listener_age_s,
    )
    yield _gauge(
        "mediasync_canary_age_seconds",
        "Seconds since a worker last ran the canary task; +Inf when never.",
        snap.canary_age_s,
    )
    yield _gauge(
        "mediasync_reconcile_last_finished_timestamp_seconds",
        "Unix time the last full reconcile finished; 0 when none has.",
        snap.full_reconcile_finished_at,
    )
    drift = GaugeMetricFamily(
        "mediasync_reconcile_drift",
        "Rows the last finished full or incremental reconcile changed, by class.",
        labels=["class"],
    )
    for name, count in snap.drift.items():
        drift.add_metric([name], float(count))
    yield drift


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
