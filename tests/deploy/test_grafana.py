"""deploy/grafana/mediasync.json: a Grafana dashboard that parses, and whose panels query
only metrics that exist: mediasync's, as a running receiver's /metrics exposes them, and
Flower's, as the installed Flower declares them (listed below and in deploy/README.md)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.facts import REPO
from tests.operator_api.conftest import TOKEN, run_sql
from tests.webhook_receiver.helpers import (
    WEBHOOK,
    receiver_app,
    signed,
    with_account,
)
from workers.config import Settings

DASHBOARD = REPO / "deploy" / "grafana" / "mediasync.json"
README = REPO / "deploy" / "README.md"
# Celery as Flower's /metrics shows it: workers online, tasks executing and prefetched,
# task events (failures, retries) and runtimes. Flower exports no broker queue length;
# the backlogs are mediasync's own gauges (the database is the queue).
FLOWER_METRICS = frozenset(
    {
        "flower_events_total",
        "flower_task_runtime_seconds",
        "flower_task_prefetch_time_seconds",
        "flower_worker_prefetched_tasks",
        "flower_worker_online",
        "flower_worker_number_of_currently_executing_tasks",
    }
)
METRIC = re.compile(r"\b((?:mediasync|flower)_[a-z0-9_]+)\b")
# what a PromQL name may add to a family's name
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found += [panel, *panel.get("panels", [])]
    return [p for p in found if p["type"] != "row"]


def used_metrics(dashboard: dict[str, Any]) -> set[str]:
    return {
        name
        for panel in panels(dashboard)
        for target in panel["targets"]
        for name in METRIC.findall(target["expr"])
    }


def family(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_the_dashboard_is_well_formed(dashboard):
    assert dashboard["uid"] == "mediasync"
    assert dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["type"] in ("stat", "timeseries"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        grid = panel["gridPos"]
        assert 0 <= grid["x"] <= grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            expr = target["expr"]
            assert expr.count("(") == expr.count(")"), expr
            assert METRIC.search(expr), expr
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "console_url"} <= variables
    # the console's overview and its alert rules page, one click from the dashboard
    assert any(link["url"].endswith("alerts") for link in dashboard["links"])


def test_every_flower_metric_it_uses_is_one_flower_declares(dashboard):
    used = {family(m) for m in used_metrics(dashboard) if m.startswith("flower_")}
    assert used, "the dashboard shows Celery through Flower"
    assert used <= {family(m) for m in FLOWER_METRICS}
    spec = importlib.util.find_spec("flower.events")
    assert spec is not None
    assert spec.origin is not None
    declared = set(
        re.findall(r"['\"](flower_[a-z_]+)['\"]", Path(spec.origin).read_text())
    )
    assert {family(m) for m in FLOWER_METRICS} <= {family(m) for m in declared}
    readme = README.read_text()
    assert all(f"`{name}`" in readme for name in FLOWER_METRICS)


@pytest.fixture
def settings(committed_db: str, redis_url: str) -> Settings:
    """A receiver as deployed: a Cloudinary account (the budget gauges need one) and the
    operator token."""
    return with_account(
        Settings(
            database_url=committed_db,
            redis_url=redis_url,
            cloudinary=None,
            api_token=TOKEN,
        )
    )


def exposed(text: str) -> set[str]:
    return {
        sample.name
        for metrics in text_string_to_metric_families(text)
        for sample in metrics.samples
    }


def test_every_mediasync_metric_it_uses_is_on_a_running_receivers_metrics(
    dashboard, settings, sessions
):
    # a finished reconcile with drift, so the labelled drift gauge has samples
    run_sql(
        sessions,
        "INSERT INTO reconcile_runs (kind, status, counts, finished_at)"
        " VALUES ('full', 'finished', '{\"created\": 2}', now())",
    )
    with receiver_app(settings) as app:
        client = app.test_client()
        # traffic, so the labelled request, notification and refusal series exist
        raw, headers = signed({"notification_type": "upload", "public_id": "g/1"})
        assert client.post(WEBHOOK, data=raw, headers=headers).status_code == 202
        bad = {**headers, "X-Cld-Signature": "0" * 40}
        assert client.post(WEBHOOK, data=raw, headers=bad).status_code == 401
        answer = client.get("/metrics")
        assert answer.status_code == 200
        names = exposed(answer.get_data(as_text=True))
    used = {m for m in used_metrics(dashboard) if m.startswith("mediasync_")}
    assert len(used) >= 15
    missing = {m for m in used if m not in names}
    assert missing == set(), f"not on /metrics: {sorted(missing)}"
