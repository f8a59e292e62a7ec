"""Ingest latency: webhook POST to row visible in media_assets, end to end, at a steady rate.

The real receiver (`python -m mediasync receiver`) and one worker (`python -m mediasync
worker -c 2 -Q mediasync.inbox`) run as deployed; a paced sender (a few threads, each with a
keep-alive http.client connection) posts unique, freshly signed upload notifications on a
fixed schedule and records when each was sent. A notification's latency is its
inbox row's applied_at minus its send time (the same machine's clock): applied_at is taken
(clock_timestamp()) by the apply transaction's last statement, right before the commit that
makes the media_assets row visible, so the figure leaves out only that commit.

Before the measured seconds, 3 s are sent at the same rate and not measured (`--warmup`):
the target is about a steady flow, not the first connections of freshly started processes.

    python -m bench.ingest_latency            # 500/s for 60 s (target: p50 < 30 ms, p99 < 100 ms)
    python -m bench.ingest_latency --quick    # 200/s for 5 s, a CI smoke run

DATABASE_URL / REDIS_URL name servers to use (a scratch database is created and dropped);
without them, throwaway embedded servers are started.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from bench.cleanup_drain import spawn, stop_all, wait_workers_ready
from bench.procstat import CpuWindow, MachineCpu, cores, cpu_seconds
from bench.receiver import BODY, wait_healthy
from bench.services import configured_settings, scratch_services
from db.urls import libpq_url
from mediasync.embedded import free_port
from webhook_receiver.signature import sign
from workers.celery_app import INBOX_QUEUE
from workers.config import Settings

TARGET_P50_MS = 30.0
TARGET_P99_MS = 100.0
SECRET = "bench-secret"  # noqa: S105 -- a throwaway signing key for loopback load
# no Admin API call is expected (uploads carry the full state); should one happen, it fails
# fast against a closed port instead of reaching the internet
CLOUDINARY_URL = (
    f"cloudinary://bench-key:{SECRET}@bench?upload_prefix=http://127.0.0.1:9"
)
SETTLE_S = 30.0  # longest wait, after the last send, for the rows still being applied
WARMUP_S = 3.0  # sent at the rate before the measured seconds, not measured
LATE_S = 0.010
# Before the full run, REDUCED_S at this share of the rate on the same processes: where the
# machine is saturated at the full rate, it shows the latency below saturation.
REDUCED_SHARE = 0.6
REDUCED_S = (
    15.0  # a send this far behind its schedule counts as late (the sender lagged)
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_latency")
    parser.add_argument("--quick", action="store_true", help="200/s for 5 s (CI smoke)")
    parser.add_argument("--rate", type=float, default=None, help="notifications/s")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--senders", type=int, default=8, help="sender threads")
    parser.add_argument(
        "--warmup",
        type=float,
        default=WARMUP_S,
        help="seconds sent at the same rate first and not measured",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    rate = args.rate or (200.0 if args.quick else 500.0)
    seconds = args.seconds or (5.0 if args.quick else 60.0)
    with ExitStack() as stack:
        database_url, redis_url = scratch_services(stack)
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        result = run(
            database_url,
            redis_url,
            rate,
            seconds,
            args.senders,
            log_dir,
            args.warmup,
            reduced_seconds=0.0 if args.quick else REDUCED_S,
        )
    print(json.dumps(result, indent=2) if args.json else _table(result))
    met = (
        result["errors"] == 0
        and result["missing"] == 0
        and result["p50_ms"] is not None
        and result["p50_ms"] < TARGET_P50_MS
        and result["p99_ms"] is not None
        and result["p99_ms"] < TARGET_P99_MS
    )
    return 0 if args.quick or met else 1


def run(
    database_url: str,
    redis_url: str,
    rate: float,
    seconds: float,
    senders: int,
    log_dir: Path,
    warmup: float = 0.0,
    reduced_seconds: float = 0.0,
) -> dict[str, Any]:
    """The figure at `rate`; with `reduced_seconds`, also at REDUCED_SHARE of it just before,
    on the same processes (below saturation, when `rate` saturates this machine)."""
    settings = configured_settings(database_url, redis_url, CLOUDINARY_URL)
    port = free_port()
    with services(settings, port, log_dir) as (worker, receiver):
        if warmup:
            # first connections, first imports, first plans: a steady state is measured
            Sender(port, rate, warmup, senders).run()
        if reduced_seconds:
            # first, so that the full rate's aftermath (autovacuum, a backlog) is not in it
            reduced = _measure(
                database_url,
                port,
                rate * REDUCED_SHARE,
                reduced_seconds,
                senders,
                worker,
                receiver,
            )
        result = _measure(database_url, port, rate, seconds, senders, worker, receiver)
    result.update(
        target_rate=rate,
        seconds=seconds,
        warmup_seconds=warmup,
        senders=senders,
        worker=f"1 x `python -m mediasync worker -c 2 -Q {INBOX_QUEUE}`",
        target_p50_ms=TARGET_P50_MS,
        target_p99_ms=TARGET_P99_MS,
    )
    if reduced_seconds:
        result["reduced"] = {**reduced, "rate": rate * REDUCED_SHARE}
        result["reduced"]["seconds"] = reduced_seconds
    return result


def _measure(
    database_url: str,
    port: int,
    rate: float,
    seconds: float,
    senders: int,
    worker: subprocess.Popen[bytes],
    receiver: subprocess.Popen[bytes],
) -> dict[str, Any]:
    sender = Sender(port, rate, seconds, senders)
    cpu = CpuWindow({"receiver": [receiver.pid], "worker": [worker.pid]})
    machine = MachineCpu()
    load_generator = cpu_seconds([os.getpid()])
    cpu.open()
    sent = sender.run()
    cpu.close()
    load_generator = cpu_seconds([os.getpid()]) - load_generator
    busy = machine.busy_share()
    accepted = {pid: at for pid, (at, status) in sent.items() if status == 202}
    created = _wait_visible(database_url, list(accepted), SETTLE_S)
    transactions = _apply_transactions(database_url, list(created))
    latencies = sorted(
        (created[pid] - at) * 1000 for pid, at in accepted.items() if pid in created
    )
    send_times = sorted(at for at, _ in sent.values())
    span = send_times[-1] - send_times[0] if len(send_times) > 1 else 0.0
    return {
        "sent": len(sent),
        "accepted": len(accepted),
        "errors": len(sent) - len(accepted),
        "achieved_rate": round((len(sent) - 1) / span, 1) if span else 0.0,
        "late_sends": sender.late,
        "visible": len(latencies),
        "missing": len(accepted) - len(latencies),
        # over every accepted notification: a row never seen ranks above all seen ones,
        # and a percentile that falls on one is null
        "p50_ms": _percentile(latencies, len(accepted), 0.50),
        "p99_ms": _percentile(latencies, len(accepted), 0.99),
        "max_ms": None if len(latencies) < len(accepted) else _max(latencies),
        "max_visible_ms": _max(latencies),
        "apply_transactions": transactions,
        "rows_per_apply_transaction": round(len(created) / max(1, transactions), 2),
        # shares of one core over the sending window; `machine_busy_share` is the share of
        # all cores busy (PostgreSQL and Redis are the bulk of what the three leave)
        "cores": cores(),
        "machine_busy_share": round(busy, 3),
        "receiver_cpu_share": round(cpu.share("receiver"), 3),
        "worker_cpu_share": round(cpu.share("worker"), 3),
        "load_generator_cpu_share": round(load_generator / cpu.wall_s, 3),
    }


def _percentile(values: list[float], total: int, share: float) -> float | None:
    index = min(total - 1, int(total * share))
    return round(values[index], 1) if 0 <= index < len(values) else None


def _max(values: list[float]) -> float | None:
    return round(values[-1], 1) if values else None


class Sender:
    """Posts notification k at start + k/rate from `threads` keep-alive connections."""

    def __init__(self, port: int, rate: float, seconds: float, threads: int) -> None:
        self.port, self.rate, self.threads = port, rate, threads
        self.total = int(rate * seconds)
        self.tag = uuid.uuid4().hex[:8]
        self.sent: dict[str, tuple[float, int]] = {}
        self.lock = threading.Lock()
        self.late = 0  # sends more than LATE_S behind their schedule

    def run(self) -> dict[str, tuple[float, int]]:
        start = time.time() + 0.5
        pool = [
            threading.Thread(target=self._send_share, args=(n, start), daemon=True)
            for n in range(self.threads)
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return self.sent

    def _send_share(self, n: int, start: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        late = 0
        for k in range(n, self.total, self.threads):
            due = start + k / self.rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            public_id = f"bench/{self.tag}-{k}"
            body = BODY.replace(b"@ID@", f"{self.tag}-{k}".encode())
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "X-Cld-Timestamp": stamp,
                "X-Cld-Signature": sign(body, stamp, SECRET),
            }
            sent_at = time.time()
            late += sent_at - due > LATE_S
            try:
                conn.request("POST", "/webhooks/cloudinary", body, headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status = 0
            with self.lock:
                self.sent[public_id] = (sent_at, status)
        conn.close()
        with self.lock:
            self.late += late


def _wait_visible(
    database_url: str, public_ids: list[str], timeout: float
) -> dict[str, float]:
    """public_id -> when its row became visible (epoch seconds: the applied_at of the inbox
    row that created it), for every row that appeared within timeout."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        while True:
            rows = conn.execute(
                "SELECT m.public_id, extract(epoch FROM i.applied_at)::float8"
                "  FROM media_assets m"
                "  JOIN webhook_inbox i ON i.body->>'public_id' = m.public_id"
                " WHERE m.public_id = ANY(%s) AND i.status = 'applied'",
                (public_ids,),
            ).fetchall()
            if len(rows) >= len(public_ids) or time.monotonic() > deadline:
                return dict(rows)
            time.sleep(0.2)


def _apply_transactions(database_url: str, public_ids: list[str]) -> int:
    """How many apply transactions made these rows visible (an inbox row's xmin is the
    transaction that marked it applied)."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT xmin::text) FROM webhook_inbox"
            " WHERE body->>'public_id' = ANY(%s) AND status = 'applied'",
            (public_ids,),
        ).fetchone()
    return int(row[0]) if row else 0


@contextmanager
def services(
    settings: Settings, port: int, log_dir: Path
) -> Iterator[tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]]:
    """The worker and the receiver, ready; stopped on exit."""
    worker = [sys.executable, "-m", "mediasync", "worker", "-c", "2"]
    worker += ["-Q", INBOX_QUEUE, "-n", "bench-ingest@%h"]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    receiver = [sys.executable, "-m", "mediasync", "receiver", "--port", str(port)]
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in (("worker", worker), ("receiver", receiver)):
            started.append(spawn(command, settings, log_dir / f"{name}.log"))
        wait_workers_ready(["bench-ingest"])
        wait_healthy(port, started[1])
        yield started[0], started[1]
    finally:
        stop_all(started[::-1])


def _table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| rate (target / achieved) | seconds | sent | errors | missing | p50 ms "
            "| p99 ms | max ms | target p50 / p99 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {r['target_rate']:.0f} / {r['achieved_rate']} | {r['seconds']:.0f} "
            f"| {r['sent']} | {r['errors']} | {r['missing']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['max_ms']} "
            f"| < {r['target_p50_ms']:.0f} / < {r['target_p99_ms']:.0f} |",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
