"""deploy/alerts/mediasync-rules.yml: Prometheus rule-file shape, and the metric names the
lead's /metrics must expose, as written down in deploy/README.md."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.deploy.facts import REPO

RULES = REPO / "deploy" / "alerts" / "mediasync-rules.yml"
README = REPO / "deploy" / "README.md"
REQUIRED_EXPRESSIONS = (
    "mediasync_cleanup_oldest_pending_age_seconds > 600",
    "mediasync_inbox_failed > 0",
    "mediasync_listener_heartbeat_age_seconds > 60",
    "mediasync_canary_age_seconds > 300",
    "time() - mediasync_reconcile_last_finished_timestamp_seconds > 93600",
    "mediasync_admin_budget_remaining_ratio < 0.1",
    "mediasync_cleanup_breaker_tripped == 1",
    "mediasync_cleanup_held > 0",
)
METRIC = re.compile(r"\bmediasync_[a-z0-9_]+")
DURATION = re.compile(r"(\d+(ms|s|m|h|d|w|y))+")
ALERT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"}
    found = []
    for group in doc["groups"]:
        assert set(group) <= {"name", "interval", "limit", "rules"}, group.keys()
        assert group["name"]
        found += group["rules"]
    return found


def _normal(expr: str) -> str:
    return " ".join(expr.split())


def test_every_required_alert_is_there(rules):
    expressions = {_normal(r["expr"]) for r in rules}
    assert set(REQUIRED_EXPRESSIONS) - expressions == set()


def test_rules_are_well_formed(rules):
    names = [r["alert"] for r in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {
            "alert",
            "expr",
            "for",
            "keep_firing_for",
            "labels",
            "annotations",
        }
        assert ALERT_NAME.fullmatch(rule["alert"])
        assert DURATION.fullmatch(rule.get("for", "0s")), rule
        assert rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]
        assert rule["expr"].count("(") == rule["expr"].count(")")


def test_readme_lists_exactly_the_metrics_the_alerts_use(rules):
    used = {m for r in rules for m in METRIC.findall(r["expr"])}
    readme = README.read_text()
    section = readme.split("### Metrics the alerts use", 1)
    assert len(section) == 2, (
        "deploy/README.md needs a 'Metrics the alerts use' section"
    )
    body = re.split(r"\n#{1,3} ", section[1], maxsplit=1)[0]
    listed = set(re.findall(r"^- `(mediasync_[a-z0-9_]+)`", body, re.MULTILINE))
    assert listed == used
