"""Receiver benchmark: signed webhooks accepted per second by `mediasync receiver` (verify,
inbox commit, wake-up, 202) next to two baselines under the same gunicorn settings:

- bare:  a Flask endpoint that answers 202 and does nothing else (the ceiling);
- ideal: the least a durable receiver can do: SHA-1 verify, INSERT … ON CONFLICT of the
         jsonb body into webhook_inbox, commit, LPUSH the id to Redis, 202.

Rounds interleave the three so drift on a shared machine hits them alike; the table shows
medians. Load: a small multi-process keep-alive client on loopback sending unique, freshly
signed upload notifications (~1 kB).

    python -m bench.receiver            # 3 rounds of 5 s (target: mediasync >= 0.9 x ideal)
    python -m bench.receiver --quick    # 1 round of 2 s, a CI smoke run

DATABASE_URL names a PostgreSQL server to use (a scratch database is created and dropped);
without it a throwaway durable one is started. Redis is always a throwaway one.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import redis
from flask import Flask, request
from gunicorn.app.base import BaseApplication

from bench.services import scratch_services
from db.urls import libpq_url
from webhook_receiver.server import (
    DEFAULT_THREADS,
    ReceiverServer,
    default_workers,
    gunicorn_options,
)
from workers.config import Settings
from workers.embedded import free_port
from workers.tasks.inbox import WAKEUP_KEY

KINDS = ("bare", "ideal", "mediasync")
TARGET_RATIO = 0.9
SECRET = "bench-secret"  # noqa: S105 -- a throwaway signing key for loopback load
REPO = Path(__file__).resolve().parent.parent
# A worker deletes the wake-up key as it starts a drain; no worker runs here (it would
# compete for the same cores), so the runner deletes the key at a busy worker's pace.
DRAIN_INTERVAL_S = 0.05
WARMUP_S = 1.0
BODY = (
    b'{"notification_type":"upload","timestamp":"2026-11-20T14:03:27+00:00",'
    b'"request_id":"@ID@","asset_id":"@ID@","public_id":"bench/@ID@","version":1795183407,'
    b'"version_id":"a41e","width":1600,"height":1200,"format":"jpg","resource_type":"image",'
    b'"created_at":"2026-11-20T14:03:27Z","tags":["catalog","bench"],"bytes":284913,'
    b'"type":"upload","etag":"5d41402abc4b2a76b9719d911017c592","placeholder":false,'
    b'"url":"http://res.cloudinary.com/demo/image/upload/v1795183407/bench/@ID@.jpg",'
    b'"secure_url":"https://res.cloudinary.com/demo/image/upload/v1795183407/bench/@ID@.jpg",'
    b'"asset_folder":"bench","display_name":"@ID@","original_filename":"IMG_2041",'
    b'"api_key":"6143","notification_context":{"triggered_at":"2026-11-20T14:03:27.481902Z",'
    b'"triggered_by":{"source":"api","id":"6143"}}}'
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver")
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s (CI)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--clients", type=int, default=2, help="load processes")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--serve", nargs=2, metavar=("KIND", "PORT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args.serve[0], int(args.serve[1]), args.workers, args.threads)
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    with ExitStack() as stack:
        database_url, redis_url = scratch_services(stack, durable=True, own_redis=True)
        for _ in range(rounds):
            for kind in KINDS:
                _reset(database_url, redis_url)
                with _serving(kind, database_url, redis_url, args) as port:
                    runs[kind].append(
                        load(port, seconds, args.connections, args.clients)
                    )
    result = _summary(runs, args, seconds)
    print(json.dumps(result, indent=2) if args.json else _table(result))
    ok = all(r["errors"] == 0 for kind in KINDS for r in runs[kind])
    return 0 if ok and (args.quick or result["ratio_to_ideal"] >= TARGET_RATIO) else 1


# -- the servers under test ------------------------------------------------------------


class _Baseline(BaseApplication):  # type: ignore[misc]  # gunicorn is untyped
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.app, self.options = app, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.app


def _serve(kind: str, port: int, workers: int, threads: int) -> int:
    settings = Settings.from_env(os.environ)
    options = gunicorn_options(
        host="127.0.0.1",
        port=port,
        workers=workers,
        threads=threads,
        log_level="warning",
    )
    if kind == "mediasync":
        # as shipped (its INFO log line per notification included)
        ReceiverServer(settings, options).run()
    else:
        _Baseline(
            _bare_app() if kind == "bare" else _ideal_app(settings), options
        ).run()
    return 0


def _bare_app() -> Flask:
    app = Flask("bare")
    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    app.add_url_rule(
        "/webhooks/cloudinary", "webhook", lambda: ("", 202), methods=["POST"]
    )
    return app


def _ideal_app(settings: Settings) -> Flask:
    app = Flask("ideal")
    local, secret = threading.local(), SECRET.encode()
    # connections open lazily, after gunicorn forks the workers
    broker = redis.Redis.from_url(settings.redis_url)
    insert = (
        "INSERT INTO webhook_inbox (digest, notification_type, body)"
        " SELECT %s, b->>'notification_type', b FROM (SELECT %s::jsonb AS b) s"
        " ON CONFLICT (digest) DO NOTHING RETURNING id"
    )

    @app.post("/webhooks/cloudinary")
    def receive() -> tuple[str, int]:
        raw = request.get_data(cache=False)
        stamp = request.headers.get("X-Cld-Timestamp", "")
        expected = hashlib.sha1(raw + stamp.encode() + secret).hexdigest()  # noqa: S324
        if not hmac.compare_digest(
            expected, request.headers.get("X-Cld-Signature", "")
        ):
            return "", 401
        if getattr(local, "conn", None) is None:
            local.conn = psycopg.connect(
                libpq_url(settings.database_url), autocommit=True
            )
        row = local.conn.execute(
            insert, (hashlib.sha256(raw).hexdigest(), raw.decode())
        )
        inserted = row.fetchone()
        if inserted is not None:
            broker.lpush("ideal:inbox", inserted[0])
        return "", 202

    app.add_url_rule("/healthz", "healthz", lambda: "ok")
    return app


# -- the load generator -----------------------------------------------------------------


def load(port: int, seconds: float, connections: int, clients: int) -> dict[str, float]:
    """Requests/s answered 202 over `seconds` after a warm-up, with latency percentiles."""
    queue: multiprocessing.Queue[tuple[int, int, list[float]]] = multiprocessing.Queue()
    share = [
        connections // clients + (i < connections % clients) for i in range(clients)
    ]
    tag = uuid.uuid4().hex[:8]
    start = time.time() + 0.5  # every client starts its clock together
    procs = [
        multiprocessing.Process(
            target=_client, args=(port, n, start, seconds, f"{tag}-{i}", queue)
        )
        for i, n in enumerate(share)
    ]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    latencies = sorted(x for _, _, lat in results for x in lat)
    ok = sum(r[0] for r in results)
    return {
        "requests_per_s": ok / seconds,
        "errors": sum(r[1] for r in results),
        "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
    }


def _client(
    port: int,
    connections: int,
    start: float,
    seconds: float,
    tag: str,
    queue: multiprocessing.Queue[tuple[int, int, list[float]]],
) -> None:
    stamp = str(int(time.time())).encode()
    secret, counter = SECRET.encode(), iter(range(10**9))

    def next_request() -> bytes:
        body = BODY.replace(b"@ID@", f"{tag}-{next(counter)}".encode())
        signature = hashlib.sha1(body + stamp + secret).hexdigest().encode()  # noqa: S324
        return (
            b"POST /webhooks/cloudinary HTTP/1.1\r\nHost: bench\r\n"
            b"Content-Type: application/json\r\nX-Cld-Timestamp: "
            + stamp
            + b"\r\nX-Cld-Signature: "
            + signature
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

    selector = selectors.DefaultSelector()
    time.sleep(max(0.0, start - time.time()))
    measure_from = time.monotonic() + WARMUP_S
    measure_to = measure_from + seconds
    for _ in range(connections):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state = {"buf": b"", "sent": time.monotonic()}
        sock.sendall(next_request())
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, state)
    ok = errors = 0
    latencies: list[float] = []
    while time.monotonic() < measure_to:
        for key, _ in selector.select(timeout=0.5):
            conn, state = key.fileobj, key.data
            assert isinstance(conn, socket.socket)
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("the server closed a keep-alive connection")
            state["buf"] += chunk
            head_end = state["buf"].find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = state["buf"][:head_end].lower()
            length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
            if len(state["buf"]) < head_end + 4 + length:
                continue
            now = time.monotonic()
            if measure_from <= now < measure_to:
                if head[9:12] == b"202":
                    ok += 1
                    latencies.append(now - state["sent"])
                else:
                    errors += 1
            state["buf"] = state["buf"][head_end + 4 + length :]
            state["sent"] = now
            _send(conn, next_request())
    for key in list(selector.get_map().values()):
        assert isinstance(key.fileobj, socket.socket)
        key.fileobj.close()
    queue.put((ok, errors, latencies))


def _send(sock: socket.socket, data: bytes) -> None:
    sent = sock.send(data)  # a request fits the loopback buffer: this is the usual case
    if sent < len(data):
        sock.setblocking(True)
        sock.sendall(data[sent:])
        sock.setblocking(False)


# -- the services and the report --------------------------------------------------------


def _reset(database_url: str, redis_url: str) -> None:
    # every run starts from the same empty inbox and broker
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("TRUNCATE webhook_inbox")
        conn.execute("CHECKPOINT")
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()


@contextmanager
def _serving(
    kind: str, database_url: str, redis_url: str, args: argparse.Namespace
) -> Iterator[int]:
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CLOUDINARY_URL": f"cloudinary://key:{SECRET}@bench",
    }
    command = [sys.executable, "-m", "bench.receiver", "--serve", kind, str(port)]
    command += ["--workers", str(args.workers), "--threads", str(args.threads)]
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    stop = threading.Event()
    drains = threading.Thread(target=_simulate_drains, args=(redis_url, stop))
    try:
        _wait_healthy(port, process)
        drains.start()
        yield port
    finally:
        stop.set()
        if drains.is_alive():
            drains.join()
        process.terminate()
        process.wait(30)


def _simulate_drains(redis_url: str, stop: threading.Event) -> None:
    client = redis.Redis.from_url(redis_url)
    while not stop.wait(DRAIN_INTERVAL_S):
        client.delete(WAKEUP_KEY)
    client.close()


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(
                    b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                )
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not answer /healthz within 60 s")


def _summary(
    runs: dict[str, list[dict[str, float]]], args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    medians: dict[str, dict[str, Any]] = {
        kind: {
            "requests_per_s": statistics.median(r["requests_per_s"] for r in rs),
            "runs": [round(r["requests_per_s"]) for r in rs],
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "errors": sum(r["errors"] for r in rs),
        }
        for kind, rs in runs.items()
    }
    ideal: float = medians["ideal"]["requests_per_s"]
    # each round's mediasync/ideal pair ran back to back, so drift cancels within a pair
    paired = [
        ours["requests_per_s"] / base["requests_per_s"]
        for ours, base in zip(runs["mediasync"], runs["ideal"], strict=True)
        if base["requests_per_s"]
    ]
    return {
        "gunicorn": f"{args.workers} workers x {args.threads} threads, gthread",
        "connections": args.connections,
        "seconds_per_run": seconds,
        "results": medians,
        "ratio_to_ideal": medians["mediasync"]["requests_per_s"] / ideal
        if ideal
        else 0.0,
        "paired_ratio_median": statistics.median(paired) if paired else 0.0,
        "target": TARGET_RATIO,
    }


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"receiver: gunicorn {result['gunicorn']}, {result['connections']} keep-alive "
        f"connections, {result['seconds_per_run']:.0f} s per run; medians",
        "",
        "| server | requests/s | runs | p50 ms | p99 ms | errors |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for kind, r in result["results"].items():
        lines.append(
            f"| {kind} | {r['requests_per_s']:.0f} | {r['runs']} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['errors']} |"
        )
    ratio, target = result["ratio_to_ideal"], result["target"]
    lines += [
        "",
        f"mediasync / ideal = {ratio:.2f} (target >= {target}); "
        f"median of the per-round ratios {result['paired_ratio_median']:.2f}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
