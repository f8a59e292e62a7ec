"""Cleanup drain benchmark: one DELETE of N mirror rows, with listeners and worker processes
running, until every asset is gone from the emulator. Measures seconds and Admin
delete_resources calls against the floor ceil(N/100), next to a baseline: the same number of
assets deleted through the same SDK in 100-id calls from one thread, with no database,
broker or listener, in the same process. Also reports the CPU the in-process emulator
used over the measured seconds, to show it was not the bottleneck.

    python -m bench.cleanup_drain            # 10,000 rows (target: <= 1.05x floor, < 30 s)
    python -m bench.cleanup_drain --quick    # 1,000 rows, a CI smoke run

DATABASE_URL / REDIS_URL name servers to use (a scratch database is created and dropped);
without them, throwaway embedded servers are started. The worker and listener processes are
`python -m mediasync worker|listener`, exactly as deployed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from bench.procstat import OtherThreadsCpu, cores
from bench.services import median_round, rounds_on_scratch
from cloudinary_emulator import Emulator
from db.session import make_engine, make_sessionmaker
from db.urls import libpq_url
from workers.celery_app import CLEANUP_QUEUE, app, configure
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount, Settings

BATCH = 100
TARGET_RATIO = 1.05
TARGET_SECONDS = 30.0
ROUNDS = 3  # the figure is the median round's
REPO = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cleanup_drain")
    parser.add_argument("--quick", action="store_true", help="1,000 rows (CI smoke)")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--listeners", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=None, help=f"runs ({ROUNDS})")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    rows = args.rows or (1_000 if args.quick else 10_000)
    rounds = rounds_on_scratch(
        args.rounds or (1 if args.quick else ROUNDS),
        lambda database_url, redis_url, stack: run(
            database_url,
            redis_url,
            rows,
            listeners=args.listeners,
            workers=args.workers,
            log_dir=Path(stack.enter_context(tempfile.TemporaryDirectory())),
        ),
    )
    result = median_round(rounds, ("seconds", "admin_calls", "ratio", "completed"))
    print(json.dumps(result, indent=2) if args.json else _table(result))
    # every round within the call target, the median round within the time target
    ok = all(r["completed"] and r["ratio"] <= TARGET_RATIO for r in rounds)
    if not args.quick:
        ok = ok and result["seconds"] < TARGET_SECONDS
    return 0 if ok else 1


def run(
    database_url: str,
    redis_url: str,
    rows: int,
    *,
    listeners: int = 2,
    workers: int = 2,
    log_dir: Path,
    baseline: bool = True,
    timeout: float = 120.0,
) -> dict[str, Any]:
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    cloud_name = f"bench-{uuid.uuid4().hex[:8]}"
    try:
        # a budget big enough that the run never needs destroy: this measures the batched path
        with Emulator(cloud_name=cloud_name, rate_limit=50_000) as em:
            em.client.notifications(False)
            account = CloudinaryAccount.parse(em.cloudinary_url)
            base = _baseline(em, account, rows) if baseline else None
            public_ids = seed(em, sessions, rows, prefix="bench/")
            settings = Settings(
                database_url=database_url, redis_url=redis_url, cloudinary=account
            )
            configure(settings)
            with processes(settings, log_dir, listeners=listeners, workers=workers):
                em.client.reset_counters()
                # The emulator serves from threads of this process while this thread
                # only deletes and polls: its CPU is everything but this thread's.
                # That includes answering our polls (one count every 50 ms).
                with OtherThreadsCpu() as emulator_cpu:
                    started = time.perf_counter()
                    with sessions.begin() as session:
                        session.execute(text("DELETE FROM media_assets"))
                    completed = _wait_done(em, sessions, len(public_ids), timeout)
                    seconds = time.perf_counter() - started
                counters = em.client.counters()
    finally:
        engine.dispose()
    floor = math.ceil(rows / BATCH)
    return {
        "rows": rows,
        "listeners": listeners,
        "workers": workers,
        "seconds": round(seconds, 2),
        "admin_calls": counters["delete_resources"],
        "destroy_calls": counters["destroy"],
        "floor": floor,
        "ratio": round(counters["delete_resources"] / floor, 3),
        "baseline_seconds": base[0] if base else None,
        "baseline_calls": base[1] if base else None,
        "completed": completed,
        # over the measured seconds: CPU seconds, and their share of one core (of cores)
        "emulator_cpu_s": round(emulator_cpu.cpu_s, 3),
        "emulator_cpu_share": round(emulator_cpu.share, 3),
        "emulator_threads": emulator_cpu.threads,
        "cores": cores(),
    }


def seed(
    em: Emulator, sessions: sessionmaker[Session], count: int, prefix: str
) -> list[str]:
    """`count` assets in the emulator and a live mirror row for each."""
    em.client.seed(count=count, prefix=prefix)
    public_ids = sorted(
        a["public_id"]
        for a in em.client.assets(resource_type="image", type="upload")
        if a["public_id"].startswith(prefix)
    )
    with sessions.begin() as session:
        session.execute(
            text(
                "INSERT INTO media_assets (public_id, asset_id, version)"
                " SELECT pid, md5(pid), 1 FROM unnest(CAST(:pids AS text[])) pid"
            ),
            {"pids": public_ids},
        )
        # a production mirror has planner statistics (autovacuum keeps them)
        session.execute(text("ANALYZE media_assets"))
    return public_ids


def _baseline(em: Emulator, account: CloudinaryAccount, rows: int) -> tuple[float, int]:
    """The same deletes straight through the SDK: the cost of the Cloudinary calls alone."""
    em.client.seed(count=rows, prefix="baseline/")
    public_ids = sorted(
        a["public_id"]
        for a in em.client.assets()
        if a["public_id"].startswith("baseline/")
    )
    client = CloudinaryClient(account)
    started = time.perf_counter()
    calls = 0
    for start in range(0, len(public_ids), BATCH):
        client.delete_resources(public_ids[start : start + BATCH], "image", "upload")
        calls += 1
    return round(time.perf_counter() - started, 2), calls


def _wait_done(
    em: Emulator, sessions: sessionmaker[Session], rows: int, timeout: float
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions.begin() as session:
            done = session.execute(
                text(
                    "SELECT count(*) FROM cloudinary_cleanup_queue"
                    " WHERE status = 'completed'"
                )
            ).scalar_one()
        if done >= rows and em.client.count_assets() == 0:
            return True
        time.sleep(0.05)
    return False


def process_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIASYNC_")}
    env.update(
        DATABASE_URL=settings.database_url,
        REDIS_URL=settings.redis_url,
        MEDIASYNC_LOG_LEVEL="WARNING",
        # A 10,000-row DELETE is a mass delete by design here: the breaker's limits are set
        # above it, explicitly, so its checks run (and are timed) without holding the burst.
        MEDIASYNC_DELETE_BREAKER_MAX_ROWS="100000",
        MEDIASYNC_DELETE_BREAKER_MAX_SHARE="1",
    )
    account = settings.cloudinary
    if account is not None:
        env["CLOUDINARY_URL"] = (
            f"cloudinary://{quote(account.api_key, safe='')}"
            f":{quote(account.api_secret, safe='')}@{account.cloud_name}"
            + (
                f"?upload_prefix={account.upload_prefix}"
                if account.upload_prefix
                else ""
            )
        )
    return env


def start_worker(
    settings: Settings, log_dir: Path, name: str
) -> subprocess.Popen[bytes]:
    """`mediasync worker -c 1` on the cleanup queue, in its own process group."""
    command = [sys.executable, "-m", "mediasync", "worker", "-c", "1"]
    command += ["-Q", CLEANUP_QUEUE, "-n", f"{name}@%h"]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return spawn(command, settings, log_dir / f"{name}.log")


def start_listener(
    settings: Settings, log_dir: Path, name: str
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mediasync", "listener", "--name", name]
    return spawn(command, settings, log_dir / f"{name}.log")


def spawn(
    command: list[str], settings: Settings, log_path: Path
) -> subprocess.Popen[bytes]:
    """`command` in its own process group, with `settings` as its environment."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env=process_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kill of its group takes the pool children too
        )


def wait_workers_ready(names: list[str], timeout: float = 60.0) -> None:
    """Until every named worker answers a broadcast ping (it is consuming)."""
    deadline = time.monotonic() + timeout
    wanted = set(names)
    while time.monotonic() < deadline:
        replies = app.control.ping(timeout=0.5) or []
        seen = {node.split("@", 1)[0] for reply in replies for node in reply}
        if wanted <= seen:
            return
    raise TimeoutError(f"workers {sorted(wanted)} did not answer within {timeout} s")


def wait_listeners_ready(
    database_url: str, names: list[str], timeout: float = 60.0
) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            found = {
                name
                for (name,) in conn.execute(
                    "SELECT substr(name, 10) FROM mediasync_heartbeats"
                    " WHERE name LIKE 'listener:%'"
                )
            }
            if set(names) <= found:
                return
            time.sleep(0.1)
    raise TimeoutError(f"listeners {names} did not start within {timeout} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """SIGTERM (warm shutdown), then SIGKILL to the whole group if it lingers."""
    stop_all([process], timeout)


def stop_all(processes: list[subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    """`stop` for several processes at once: all are told first, so their warm shutdowns
    (about 2 s each for a Celery worker) overlap."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        # prefork children of a worker that was killed may outlive it
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def processes(
    settings: Settings, log_dir: Path, *, listeners: int, workers: int
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker and listener processes, ready to work, stopped on exit."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        worker_names = [f"bench-worker-{n}" for n in range(workers)]
        listener_names = [f"bench-listener-{n}" for n in range(listeners)]
        started += [start_worker(settings, log_dir, name) for name in worker_names]
        started += [start_listener(settings, log_dir, name) for name in listener_names]
        wait_workers_ready(worker_names)
        wait_listeners_ready(settings.database_url, listener_names)
        yield started
    finally:
        stop_all(started)


def _table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| rows | listeners | workers | seconds | delete_resources calls | floor "
            "| ratio | destroy calls | baseline (s, calls) | completed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            f"| {r['rows']:,} | {r['listeners']} | {r['workers']} | {r['seconds']} "
            f"| {r['admin_calls']} | {r['floor']} | {r['ratio']} | {r['destroy_calls']} "
            f"| {r['baseline_seconds']}, {r['baseline_calls']} | {r['completed']} |",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
