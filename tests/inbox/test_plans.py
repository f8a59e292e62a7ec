"""The apply's statements find their rows through the indexes, even in a plan made while
the tables were small.

A worker prepares each statement and PostgreSQL may keep one generic plan for it; made while
the tables were nearly empty, that plan scanned the whole inbox (or media_assets) per batch
once they had grown, and a minute at 500 notifications/s had PostgreSQL's CPU triple
(bench/ingest_latency.py). Here each statement is prepared and planned generically on small
tables under the apply's own settings, the tables grow to 20,000 rows, and the plan the
worker would keep must touch them only through index conditions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from db.urls import libpq_url
from workers.inbox import asset_row, asset_store
from workers.inbox import batch as inbox
from workers.inbox import records as inbox_record

TABLES = (
    "media_assets",
    "webhook_inbox",
    "cloudinary_cleanup_queue",
    "media_sync_log",
    "media_asset_holders",
)
IDENTITIES = (
    '[{"public_id": "p/7", "resource_type": "image", "delivery_type": "upload"}]'
)
ASSET_ROWS = (
    '[{"id": 7, "public_id": "p/7", "resource_type": "image", "delivery_type": "upload",'
    ' "tags": ["a"], "context": {}, "metadata_": {}, "sync_status": "synced",'
    ' "stamps": {}}]'
)
STATEMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "claim": (inbox._CLAIM.text, {"limit": 500}),
    "load rows": (
        asset_store._ASSETS.text,
        {"identities": IDENTITIES, "asset_ids": '["a7"]'},
    ),
    "load cleanups and holders": (
        asset_store._CLEANUPS_AND_HOLDERS.text,
        {"identities": IDENTITIES, "asset_ids": '["a7"]'},
    ),
    "statuses and audit": (
        inbox_record._APPLIED_AND_LOG.text,
        {"rows": '[{"id": 7, "status": "applied"}]', "ids": "{7}", "log": "[]"},
    ),
    "update rows": (asset_row._UPDATE.text, {"rows": ASSET_ROWS, "ids": "{7}"}),
}

GROW = [
    "INSERT INTO webhook_inbox (digest, notification_type, body)"
    " SELECT 'd' || g, 'upload', jsonb_build_object('public_id', 'p/' || g)"
    "   FROM generate_series(1, 20000) g",
    "INSERT INTO media_assets (public_id, asset_id)"
    " SELECT 'p/' || g, 'a' || g FROM generate_series(1, 20000) g",
    "INSERT INTO cloudinary_cleanup_queue"
    " (public_id, resource_type, delivery_type, asset_id, reason, status)"
    " SELECT 'p/' || g, 'image', 'upload', 'a' || g, 'operator', 'completed'"
    "   FROM generate_series(1, 20000) g",
    "INSERT INTO media_asset_holders"
    " (public_id, resource_type, delivery_type, asset_id, stamp)"
    " SELECT 'p/' || g, 'image', 'upload', NULL, 's' || g"
    "   FROM generate_series(1, 20000) g",
]


@pytest.fixture
def conn(committed_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(libpq_url(committed_db)) as connection:
        # a few rows as the first notifications leave them, then their statistics
        connection.execute(
            "INSERT INTO media_assets (public_id, asset_id)"
            " SELECT 'small/' || g, 'small' || g FROM generate_series(1, 10) g"
        )
        for table in TABLES:
            connection.execute(f"ANALYZE {table}")  # statistics of small tables
        connection.commit()
        yield connection


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_the_plan_kept_from_small_tables_still_uses_index_conditions(
    conn: psycopg.Connection[Any], name: str
) -> None:
    sql, params = STATEMENTS[name]
    conn.execute(inbox._SETTINGS.text)  # the apply transaction's own settings
    conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    prepared, values = _prepared(sql, params)
    conn.execute(f"PREPARE apply_statement AS {prepared}")
    conn.execute(f"EXPLAIN EXECUTE apply_statement({values})")  # the plan is made now
    for statement in GROW:
        conn.execute(statement)
    plan = [
        row[0] for row in conn.execute(f"EXPLAIN EXECUTE apply_statement({values})")
    ]
    conn.rollback()
    assert _unindexed_scans(plan) == [], "\n".join(plan)


def _prepared(sql: str, params: dict[str, Any]) -> tuple[str, str]:
    """`sql` with its :names as $1, $2... and the literal values in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in order:
            order.append(match.group(1))
        return f"${order.index(match.group(1)) + 1}"

    prepared = re.sub(r"(?<!:):([a-z_]+)", number, sql)
    values = ", ".join(
        str(params[key]) if isinstance(params[key], int) else _quote(params[key])
        for key in order
    )
    return prepared, values


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _unindexed_scans(plan: list[str]) -> list[str]:
    """Plan nodes that read one of TABLES other than through an index condition: a
    sequential scan, a bitmap heap scan of the whole index, or an index scan with no
    Index Cond (a walk of the whole index)."""
    found = []
    for n, line in enumerate(plan):
        node = re.search(
            r"(Seq Scan|Index Scan|Index Only Scan) (?:using \S+ )?on (\w+)", line
        )
        if node is None or node.group(2) not in TABLES:
            continue
        if node.group(1) == "Seq Scan":
            found.append(line.strip())
            continue
        indent = len(line) - len(line.lstrip(" ->"))
        details = []
        for following in plan[n + 1 :]:
            if "->" in following or len(following) - len(following.lstrip()) < indent:
                break
            details.append(following)
        if not any("Index Cond" in detail for detail in details):
            found.append(line.strip())
    return found
