"""`mediasync receiver`: the shipped gunicorn server, over real HTTP on loopback."""

import json
import os
import subprocess
import sys

import pytest

from tests.inbox import payloads as p
from tests.waiting import wait_until
from tests.webhook_receiver.helpers import SECRET, WEBHOOK, signed
from tests.webhook_receiver.servers import ROOT, request
from tests.webhook_receiver.servers import gunicorn_receiver as running_receiver


@pytest.fixture
def server(settings, tmp_path):
    log = tmp_path / "receiver.log"
    with running_receiver(settings, log) as port:
        yield port, log


def test_gunicorn_serves_signed_notifications_and_metrics(server):
    port, log = server
    raw, headers = signed(p.upload("srv/one", 1))
    status, body = request(port, "POST", WEBHOOK, raw, headers)
    assert status == 202
    inbox_id = json.loads(body)["inbox_id"]
    assert (
        request(port, "POST", WEBHOOK, raw, {**headers, "X-Cld-Signature": "0" * 40})[0]
        == 401
    )
    assert request(port, "GET", "/readyz")[0] == 200
    status, metrics = request(port, "GET", "/metrics")
    assert status == 200
    assert b"mediasync_receiver_requests_total" in metrics

    def logged():
        lines = [
            json.loads(line)
            for line in log.read_text().splitlines()
            if line.startswith("{")
        ]
        return [line for line in lines if line.get("inbox_id") == inbox_id]

    [entry] = wait_until(logged, what="the JSON log line naming the inbox id")
    assert entry["level"] == "DEBUG"
    assert SECRET not in log.read_text()
    assert "srv/one" not in log.read_text()


def test_chunked_bodies_are_read_to_the_end_and_limited_to_1_mib(server):
    port, _ = server
    raw, headers = signed(p.upload("srv/chunked", 1))
    chunks = iter([raw[:100], raw[100:]])
    assert request(port, "POST", WEBHOOK, chunks, headers)[0] == 202

    big, headers = signed(b'{"notification_type":"x","f":"' + b"a" * 1_100_000 + b'"}')
    pieces = iter([big[i : i + 65536] for i in range(0, len(big), 65536)])
    assert request(port, "POST", WEBHOOK, pieces, headers)[0] == 413
    assert request(port, "POST", WEBHOOK, big, headers)[0] == 413


def test_with_a_multiprocess_directory_metrics_add_up_every_worker(settings, tmp_path):
    shared = tmp_path / "metrics"
    shared.mkdir()
    log = tmp_path / "receiver.log"
    with running_receiver(settings, log, PROMETHEUS_MULTIPROC_DIR=str(shared)) as port:
        for n in range(6):  # separate connections: gunicorn spreads them over workers
            raw, headers = signed(p.upload(f"srv/mp{n}", 1))
            assert request(port, "POST", WEBHOOK, raw, headers)[0] == 202
        text = request(port, "GET", "/metrics")[1].decode()
    assert len(list(shared.glob("*.db"))) >= 2  # more than one process wrote samples
    totals = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("mediasync_receiver_requests_total{")
        and 'route="/webhooks/cloudinary"' in line
        and 'status="202"' in line
    ]
    assert totals == [6.0]


def test_receiver_help_lists_its_options():
    result = subprocess.run(
        [sys.executable, "-m", "mediasync", "receiver", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for option in ("--host", "--port", "--workers", "--threads"):
        assert option in result.stdout
    # every route, the operator API's included
    for route in ("/webhooks/cloudinary", "/metrics", "/api/", "/api/openapi.json"):
        assert route in result.stdout


def test_the_wsgi_module_builds_the_app_from_the_environment(settings):
    env = {
        "PATH": os.environ["PATH"],
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "CLOUDINARY_URL": f"cloudinary://key:{SECRET}@demo",
    }
    code = (
        "from webhook_receiver.wsgi import app\n"
        "print(app.test_client().get('/readyz').status_code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "200"
