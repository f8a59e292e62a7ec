"""GET /healthz, /readyz and /metrics."""

import dataclasses

from prometheus_client.parser import text_string_to_metric_families

from mediasync.embedded import free_port
from tests.inbox import payloads as p
from tests.webhook_receiver.helpers import WEBHOOK, receiver_app, signed


def samples(client):
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_answers_while_the_process_runs(client):
    assert client.get("/healthz").status_code == 200


def test_readyz_is_200_when_database_and_broker_answer(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_names_the_broker_when_it_is_down(receiver_settings):
    down = f"redis://127.0.0.1:{free_port()}/0"
    settings = dataclasses.replace(receiver_settings, redis_url=down, broker_url=down)
    with receiver_app(settings) as app:
        answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["broker"]


def test_readyz_names_the_database_when_it_is_down(receiver_settings):
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/nothing"
    settings = dataclasses.replace(receiver_settings, database_url=down)
    with receiver_app(settings) as app:
        answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["database"]


def test_metrics_count_requests_by_route_and_status_and_refusals_by_reason(client):
    raw, headers = signed(p.upload("m/one", 1))
    client.post(WEBHOOK, data=raw, headers=headers)
    client.post(WEBHOOK, data=raw, headers=headers)
    client.post(WEBHOOK, data=raw, headers={**headers, "X-Cld-Signature": "0" * 40})
    client.post(WEBHOOK, data=raw)
    found = samples(client)
    route = ("route", "/webhooks/cloudinary")
    assert found[("mediasync_receiver_requests_total", (route, ("status", "202")))] == 2
    assert found[("mediasync_receiver_requests_total", (route, ("status", "401")))] == 2
    assert (
        found[
            (
                "mediasync_receiver_verification_failures_total",
                (("reason", "mismatch"),),
            )
        ]
        == 1
    )
    assert (
        found[
            (
                "mediasync_receiver_verification_failures_total",
                (("reason", "missing_signature"),),
            )
        ]
        == 1
    )
    assert (
        found[("mediasync_receiver_notifications_total", (("outcome", "duplicate"),))]
        == 1
    )
    assert found[("mediasync_receiver_request_duration_seconds_count", (route,))] == 4


def test_each_app_has_its_own_registry(receiver_settings, client):
    raw, headers = signed(p.upload("m/two", 1))
    client.post(WEBHOOK, data=raw, headers=headers)
    with receiver_app(receiver_settings) as other:
        fresh = samples(other.test_client())
    assert not any(name == "mediasync_receiver_requests_total" for name, _ in fresh)
