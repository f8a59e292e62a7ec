"""Console pages on a large mirror: every page's GET, timed through the real app.

A scratch database is seeded (bench/console_seed.py: 100,000 assets, 100,000 inbox rows,
10,000 cleanups, 100,000 audit entries, 200 reconcile runs), then the receiver's Flask app
(create_app, as gunicorn serves it) is logged in to as an operator and every console page
is requested through it (the WSGI stack: access hooks, queries, templates), once to warm
up and then `--requests` times; the median and the slowest are reported per page. Every
SQL statement a page runs is also EXPLAINed (once, after the timings): a sequential scan
of one of the big tables is reported against the page.

    python -m bench.console_pages               # target: every page's slowest GET < 200 ms
    python -m bench.console_pages --quick       # 5,000 / 5,000 / 1,000 rows, 3 GETs a page
    python -m bench.console_pages --explain /tmp/console_explain.txt
        # also EXPLAIN (ANALYZE, BUFFERS) every statement of the overview into that file
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, event

from bench.console_seed import TABLES, seed
from bench.services import scratch_services
from webhook_receiver import create_app
from webhook_receiver.operator_api.state import operator
from webhook_receiver.state import receiver
from workers.config import Settings

TARGET_MS = 200.0
TOKEN = "bench-console-token-0123456789"  # noqa: S105 -- a throwaway login for loopback
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")


def pages(assets: int) -> dict[str, str]:
    """name -> path: every console page, with the filters an operator uses."""
    some = f"bench/{assets // 2:06d}"
    return {
        "login": "/console/login",
        "overview": "/console/?refresh=0",
        "alerts": "/console/alerts",
        "inbox": "/console/inbox",
        "inbox failed": "/console/inbox?status=failed",
        "inbox prefix": f"/console/inbox?prefix={some[:-1]}",
        "inbox prefix (every upload)": "/console/inbox?prefix=bench/",
        "inbox prefix (in resources)": "/console/inbox?prefix=gone/00001",
        "inbox type+status": "/console/inbox?type=delete&status=pending",
        "inbox since": "/console/inbox?since=2000-01-01T00:00",
        "inbox bulk preview": f"/console/inbox/bulk?status=failed&prefix={some[:-2]}",
        "inbox bulk preview (all failed)": "/console/inbox/bulk?status=failed",
        "inbox row": "/console/inbox/1",
        "cleanups": "/console/cleanups",
        "cleanups failed": "/console/cleanups?status=failed",
        "cleanups prefix": "/console/cleanups?prefix=gone/00005",
        "cleanups bulk preview": "/console/cleanups/bulk?status=failed",
        "cleanup row": "/console/cleanups/1",
        "assets": "/console/assets",
        "assets prefix": f"/console/assets?prefix={some[:-1]}",
        "assets folder": "/console/assets?folder=folder-7",
        "assets tag": "/console/assets?tag=tag-7",
        "asset page": f"/console/asset?public_id={some}",
        "reconcile runs": "/console/reconcile",
        "reconcile run": "/console/reconcile/199",
        "audit": "/console/audit",
        "audit by operator": "/console/audit?operator=alice",
        "audit console actions": "/console/audit?operation=console.",
        "audit prefix": f"/console/audit?prefix={some}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.console_pages")
    parser.add_argument("--quick", action="store_true", help="small tables (CI smoke)")
    parser.add_argument("--requests", type=int, default=None, help="timed GETs a page")
    parser.add_argument("--explain", type=Path, default=None, help="overview's plans")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    sizes = (
        {"assets": 5_000, "inbox": 5_000, "cleanups": 1_000}
        if args.quick
        else {"assets": 100_000, "inbox": 100_000, "cleanups": 10_000}
    )
    requests = args.requests or (3 if args.quick else 9)
    with ExitStack() as stack:
        database_url, redis_url = scratch_services(stack)
        started = time.monotonic()
        seed(database_url, **sizes)
        seeded_s = time.monotonic() - started
        result = run(database_url, redis_url, sizes, requests, args.explain)
    result["seed_seconds"] = round(seeded_s, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(table(result))
    return 0 if result["met"] or args.quick else 1


def run(
    database_url: str,
    redis_url: str,
    sizes: dict[str, int],
    requests: int,
    explain_to: Path | None,
) -> dict[str, Any]:
    settings = Settings(
        database_url=database_url, redis_url=redis_url, cloudinary=None, api_token=TOKEN
    )
    app = create_app(settings)
    try:
        client = app.test_client()
        _log_in(client)
        timings = {
            name: _time(client, path, requests)
            for name, path in pages(sizes["assets"]).items()
        }
        engine: Engine = operator(app).engine
        scans = {
            name: _seq_scans(client, engine, path)
            for name, path in pages(sizes["assets"]).items()
        }
        if explain_to is not None:
            explain_to.write_text(_explain(client, engine, "/console/?refresh=0"))
    finally:
        receiver(app).close()
    slowest = max(timings, key=lambda n: timings[n]["max_ms"])
    return {
        **sizes,
        "audit_entries": sizes["inbox"],
        "requests_per_page": requests,
        "target_ms": TARGET_MS,
        "pages": {
            name: {**timings[name], "seq_scans": scans[name]} for name in timings
        },
        "slowest_page": slowest,
        "slowest_max_ms": timings[slowest]["max_ms"],
        "slowest_median_ms": max(t["median_ms"] for t in timings.values()),
        "met": all(t["max_ms"] < TARGET_MS for t in timings.values()),
    }


def _log_in(client: FlaskClient) -> None:
    page = client.get("/console/login").get_data(as_text=True)
    found = _CSRF.search(page)
    assert found, "the login form has no CSRF token"
    answer = client.post(
        "/console/login", data={"token": TOKEN, "csrf_token": found.group(1)}
    )
    assert answer.status_code == 302, answer.status_code


def _time(client: FlaskClient, path: str, requests: int) -> dict[str, Any]:
    assert client.get(path).status_code == 200, path  # warm: plans, templates
    took = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    return {
        "path": path,
        "median_ms": round(statistics.median(took), 1),
        "max_ms": round(max(took), 1),
    }


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement (and its parameters) the engine sends while the block runs."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
    ) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _plans(
    client: FlaskClient, engine: Engine, path: str, options: str
) -> list[tuple[str, str]]:
    with _statements(engine) as seen:
        assert client.get(path).status_code == 200, path
    plans = []
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in seen:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            cursor.execute(f"EXPLAIN ({options}) {statement}", parameters)
            plans.append((statement, "\n".join(str(r[0]) for r in cursor.fetchall())))
        raw.rollback()
    finally:
        raw.close()
    return plans


def _seq_scans(client: FlaskClient, engine: Engine, path: str) -> list[str]:
    """The big tables a page's plans read whole."""
    found: set[str] = set()
    for _statement, plan in _plans(client, engine, path, "COSTS OFF"):
        found.update(t for t in _SEQ_SCAN.findall(plan) if t in TABLES)
    return sorted(found)


def _explain(client: FlaskClient, engine: Engine, path: str) -> str:
    parts = [f"EXPLAIN (ANALYZE, BUFFERS) of every statement GET {path} runs\n"]
    for statement, plan in _plans(client, engine, path, "ANALYZE, BUFFERS"):
        parts += ["-" * 88, statement.strip(), "", plan, ""]
    return "\n".join(parts)


def table(result: dict[str, Any]) -> str:
    lines = [
        f"console pages: {result['assets']:,} assets, {result['inbox']:,} inbox rows, "
        f"{result['cleanups']:,} cleanups; {result['requests_per_page']} GETs a page",
        "",
        "| page | median | slowest | sequential scans of big tables |",
        "|---|---|---|---|",
    ]
    for name, page in result["pages"].items():
        lines.append(
            f"| {name} (`{page['path']}`) | {page['median_ms']:.0f} ms | "
            f"{page['max_ms']:.0f} ms | {', '.join(page['seq_scans']) or 'none'} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
