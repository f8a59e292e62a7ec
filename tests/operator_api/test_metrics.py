"""The sync gauges on GET /metrics: the alert rules' names, real values, and a scrape that
survives a dead database."""

import dataclasses
import math
import re
import time
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.operator_api.conftest import insert_assets, run_sql
from tests.webhook_receiver.helpers import receiver_app
from workers.rate_governor import RateGovernor

RULES = (
    Path(__file__).resolve().parents[2] / "deploy" / "alerts" / "mediasync-rules.yml"
)
EXTRA = {
    "mediasync_inbox_pending",
    "mediasync_inbox_oldest_pending_age_seconds",
    "mediasync_cleanup_pending",
    "mediasync_cleanup_failed",
    "mediasync_cleanup_paused",
    "mediasync_cleanup_held",
    "mediasync_cleanup_breaker_tripped",
    "mediasync_reconcile_drift",
    "mediasync_admin_budget_remaining",
}


def scrape(client):
    answer = client.get("/metrics")
    assert answer.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(answer.get_data(as_text=True)):
        for sample in family.samples:
            key = sample.name
            if sample.labels:
                key += (
                    "{"
                    + ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
                    + "}"
                )
            samples[key] = sample.value
    return samples


def alert_metric_names():
    return set(re.findall(r"\bmediasync_[a-z0-9_]+", RULES.read_text()))


def test_every_metric_the_alerts_use_is_exposed_on_an_empty_system(client):
    samples = scrape(client)
    assert alert_metric_names() <= set(samples)
    assert samples["mediasync_cleanup_oldest_pending_age_seconds"] == 0
    assert samples["mediasync_inbox_failed"] == 0
    # nothing has reported yet: the staleness alerts must be able to fire
    assert math.isinf(samples["mediasync_listener_heartbeat_age_seconds"])
    assert math.isinf(samples["mediasync_canary_age_seconds"])
    assert samples["mediasync_reconcile_last_finished_timestamp_seconds"] == 0
    # no budget observed in this window: nothing is spent
    assert samples["mediasync_admin_budget_remaining_ratio"] == 1
    assert "mediasync_admin_budget_remaining" not in samples
    assert samples["mediasync_sync_gauges_up{source=database}"] == 1
    assert samples["mediasync_sync_gauges_up{source=redis}"] == 1


def test_gauges_follow_real_rows_and_the_shared_budget(client, sessions, settings):
    insert_assets(sessions, [{"public_id": f"m/{n}"} for n in range(3)])
    run_sql(sessions, "UPDATE media_assets SET deleted_at = now()")
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET created_at = now() - interval '700 seconds',"
        " next_attempt_at = now() - interval '650 seconds' WHERE public_id = 'm/0'",
    )
    # waiting out a retry backoff still counts: the delete is held back all the same
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET created_at = now() - interval '800 seconds',"
        " next_attempt_at = now() + interval '1 hour' WHERE public_id = 'm/1'",
    )
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'failed' WHERE public_id = 'm/2'",
    )
    run_sql(
        sessions,
        "INSERT INTO webhook_inbox (digest, notification_type, body, status) VALUES"
        " ('a', 'upload', '{}', 'failed'), ('b', 'upload', '{}', 'pending'),"
        " ('c', 'upload', '{}', 'applied')",
    )
    run_sql(
        sessions,
        "UPDATE webhook_inbox SET next_attempt_at = now() - interval '90 seconds'"
        " WHERE digest = 'b'",
    )
    run_sql(
        sessions,
        "INSERT INTO mediasync_heartbeats (name, last_seen) VALUES"
        " ('worker-canary', now() - interval '42 seconds'),"
        " ('listener:old', now() - interval '500 seconds'),"
        " ('listener:fresh', now() - interval '3 seconds')",
    )
    run_sql(
        sessions,
        "INSERT INTO reconcile_runs (kind, status, started_at, finished_at, counts) VALUES"
        " ('full', 'finished', now() - interval '2 hours', now() - interval '1 hour',"
        '  \'{"inserted": 4, "updated": 2, "marked_deleted": 1, "unchanged": 90}\'),'
        " ('single', 'finished', now(), now(), '{\"inserted\": 1}'),"
        " ('full', 'finished', now(), now(), '{}')",
    )
    # the newest full run is a dry run: it does not count as the safety net
    run_sql(sessions, "UPDATE reconcile_runs SET dry_run = true WHERE id = 3")
    run_sql(sessions, "INSERT INTO mediasync_pauses (flow) VALUES ('cleanup')")
    client_redis = redis.Redis.from_url(settings.redis_url)
    try:
        governor = RateGovernor(client_redis, settings.account.cloud_name)
        governor.observe(limit=500, remaining=40, reset_at=time.time() + 1800)
    finally:
        client_redis.close()

    samples = scrape(client)
    assert 800 <= samples["mediasync_cleanup_oldest_pending_age_seconds"] < 860
    assert samples["mediasync_cleanup_pending"] == 2
    assert samples["mediasync_cleanup_failed"] == 1
    assert samples["mediasync_cleanup_paused"] == 1
    assert samples["mediasync_inbox_failed"] == 1
    assert samples["mediasync_inbox_pending"] == 1
    assert 90 <= samples["mediasync_inbox_oldest_pending_age_seconds"] < 150
    assert 3 <= samples["mediasync_listener_heartbeat_age_seconds"] < 60
    assert 42 <= samples["mediasync_canary_age_seconds"] < 100
    finished = samples["mediasync_reconcile_last_finished_timestamp_seconds"]
    assert 3500 < time.time() - finished < 3700
    # drift of the last finished full/incremental run (the dry run, id 3, counts nothing)
    assert samples["mediasync_reconcile_drift{class=inserted}"] == 0
    run_sql(sessions, "DELETE FROM reconcile_runs WHERE id = 3")
    samples = scrape(client)
    assert samples["mediasync_reconcile_drift{class=inserted}"] == 4
    assert samples["mediasync_reconcile_drift{class=updated}"] == 2
    assert samples["mediasync_reconcile_drift{class=marked_deleted}"] == 1
    assert samples["mediasync_reconcile_drift{class=errors}"] == 0
    assert "mediasync_reconcile_drift{class=unchanged}" not in samples
    assert samples["mediasync_admin_budget_remaining"] == 40
    assert samples["mediasync_admin_budget_remaining_ratio"] == pytest.approx(0.08)
    assert {key.partition("{")[0] for key in samples} >= EXTRA


def test_a_dead_database_leaves_metrics_up_without_the_database_gauges(settings):
    dead = dataclasses.replace(
        settings, database_url="postgresql://postgres@127.0.0.1:1/nothing"
    )
    with receiver_app(dead) as app:
        samples = scrape(app.test_client())
    assert samples["mediasync_sync_gauges_up{source=database}"] == 0
    assert "mediasync_inbox_failed" not in samples
    # Redis still answers: the budget is there
    assert samples["mediasync_admin_budget_remaining_ratio"] == 1


def test_a_dead_redis_leaves_metrics_up_without_the_budget(settings):
    dead = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0")
    with receiver_app(dead) as app:
        samples = scrape(app.test_client())
    assert samples["mediasync_sync_gauges_up{source=redis}"] == 0
    assert "mediasync_admin_budget_remaining_ratio" not in samples
    assert samples["mediasync_inbox_failed"] == 0


def test_multiprocess_exposition_includes_the_sync_gauges(settings, tmp_path):
    shared = dataclasses.replace(settings, prometheus_multiproc_dir=str(tmp_path))
    with receiver_app(shared) as app:
        samples = scrape(app.test_client())
    assert alert_metric_names() <= set(samples)


def test_the_guardrail_gauges_follow_the_breaker_and_the_held_rows(client, sessions):
    samples = scrape(client)
    assert samples["mediasync_cleanup_breaker_tripped"] == 0
    assert samples["mediasync_cleanup_held"] == 0

    insert_assets(sessions, [{"public_id": f"h/{n}"} for n in range(4)])
    run_sql(sessions, "DELETE FROM media_assets")
    run_sql(sessions, "UPDATE mediasync_delete_breaker SET tripped_at = now()")
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'held',"
        " held_reason = 'breaker: test' WHERE public_id <> 'h/0'",
    )
    samples = scrape(client)
    assert samples["mediasync_cleanup_breaker_tripped"] == 1
    assert samples["mediasync_cleanup_held"] == 3
    # held rows are not pending: the backlog alert is not the one that fires for them
    assert samples["mediasync_cleanup_pending"] == 1

    run_sql(
        sessions,
        "UPDATE mediasync_delete_breaker SET tripped_at = NULL, reset_at = now()",
    )
    run_sql(
        sessions,
        "UPDATE cloudinary_cleanup_queue SET status = 'cancelled' WHERE status = 'held'",
    )
    samples = scrape(client)
    assert samples["mediasync_cleanup_breaker_tripped"] == 0
    assert samples["mediasync_cleanup_held"] == 0
