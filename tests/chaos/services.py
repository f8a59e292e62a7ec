"""The whole system on private servers, for scenarios that break parts of it on purpose.

A scenario stops, flushes and kills servers and processes, so everything here is its own:
a PostgreSQL and a Redis on free ports in a scratch directory (never the shared ones on
5432/6379), the emulator in this process, and the receiver (gunicorn),
Celery workers, the listener and beat as real subprocesses started the way operators start
them (`python -m mediasync …`), each in its own process group so a kill takes all of it.
Nothing here configures this process's Celery app: the test process only talks to the
servers directly (SQL, Redis commands, the SDK), so no other test inherits these brokers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudinary.api
import cloudinary.uploader
import psycopg
import redis

from cloudinary_emulator import Emulator
from db.migrate import migrate
from mediasync.embedded import LocalPostgres, LocalRedis, free_port
from tests.cloudinary_emulator.helpers import png_bytes
from tests.waiting import wait_until
from workers.beat.leader import LEADER_LOCK_KEY

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK = "/webhooks/cloudinary"
# Only the sweeps may fire during a scenario: a reconcile would repair the mirror from the
# Admin API and hide a notification the fault lost.
QUIET_INTERVAL_S = 86400
WORKER_APP_PREFIX = "chaos-"


@dataclass
class Stack:
    root: Path
    postgres: LocalPostgres
    redis: LocalRedis
    emulator: Emulator
    receiver_port: int
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return self.postgres.url

    @property
    def sdk(self) -> dict[str, str]:
        """Keyword arguments that point the real SDK at the emulator."""
        account = self.emulator.account
        return {
            "cloud_name": account.cloud_name,
            "api_key": account.api_key,
            "api_secret": account.api_secret,
            "upload_prefix": self.emulator.base_url,
        }

    def log_path(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_path(name)
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- processes ---------------------------------------------------------------------

    def env(self, database_url: str | None = None, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MEDIASYNC_", "CLOUDINARY_", "CELERY_"))
            and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            DATABASE_URL=database_url or self.database_url,
            REDIS_URL=self.redis.url,
            CLOUDINARY_URL=self.emulator.cloudinary_url,
            MEDIASYNC_RECONCILE_INTERVAL=str(QUIET_INTERVAL_S),
            MEDIASYNC_FULL_RECONCILE_INTERVAL=str(QUIET_INTERVAL_S),
            MEDIASYNC_CANARY_INTERVAL=str(QUIET_INTERVAL_S),
            MEDIASYNC_RETENTION_INTERVAL=str(QUIET_INTERVAL_S),
        )
        env.update(extra)
        return env

    def spawn(
        self, name: str, args: Sequence[str], env: dict[str, str]
    ) -> subprocess.Popen[bytes]:
        log = self.log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "mediasync", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kill of its group takes pool children too
            )
        self.processes[name] = process
        return process

    def start_receiver(self) -> None:
        self.spawn(
            "receiver",
            ["receiver", "--host", "127.0.0.1", "--port", str(self.receiver_port)],
            self.env(),
        )
        self._wait_healthy()

    def start_worker(self, name: str, *, row_delay_ms: int = 0) -> None:
        """`mediasync worker -c 1` on every queue; its PostgreSQL connections carry
        `name` as application_name, so pg_stat_activity says whose transaction is open."""
        url = f"{self.database_url}?application_name={WORKER_APP_PREFIX}{name}"
        extra = (
            {"MEDIASYNC_APPLY_ROW_DELAY_MS": str(row_delay_ms)} if row_delay_ms else {}
        )
        self.spawn(
            name,
            ["worker", "-c", "1", "-n", f"{name}@%h", "--without-gossip",
             "--without-mingle"],
            self.env(url, **extra),
        )  # fmt: skip

    def wait_workers_ready(self, names: Sequence[str], timeout: float = 60) -> None:
        for name in names:
            wait_until(
                lambda name=name: " ready." in self.log_tail(name, 100_000),
                timeout=timeout,
                what=f"worker {name} to be ready\n{self.log_tail(name)}",
            )

    def start_listener(self, name: str = "listener") -> None:
        self.spawn(name, ["listener", "--name", name], self.env())
        wait_until(
            lambda: self.listener_seen(name) is not None,
            timeout=30,
            what=f"listener {name}'s heartbeat\n{self.log_tail(name)}",
        )

    def start_beat(self, cleanup_sweep_s: int) -> None:
        """Beat with the shipped inbox sweep (MEDIASYNC_INBOX_SWEEP_INTERVAL's default)
        and the cleanup sweep every `cleanup_sweep_s` (MEDIASYNC_SWEEP_INTERVAL)."""
        self.spawn(
            "beat",
            ["beat", "--name", "beat"],
            self.env(MEDIASYNC_SWEEP_INTERVAL=str(cleanup_sweep_s)),
        )
        wait_until(
            self.beat_leads, timeout=30, what=f"beat to lead\n{self.log_tail('beat')}"
        )

    def kill(self, name: str) -> None:
        """SIGKILL the process and everything in its group, as an OOM kill or a lost node."""
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def kill_pool_child(self, name: str) -> int:
        """SIGKILL only the worker's pool child (the one running the task); the Celery
        parent stays, sees the child lost and starts another. Returns the child's pid."""
        parent = self.processes[name].pid
        children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
        if not children:
            raise AssertionError(f"worker {name} has no pool child")
        child = int(children[0])
        os.kill(child, signal.SIGKILL)
        return child

    def stop_processes(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        self.processes.clear()

    def _wait_healthy(self) -> None:
        def healthy() -> bool:
            process = self.processes["receiver"]
            if process.poll() is not None:
                raise AssertionError(f"receiver exited:\n{self.log_tail('receiver')}")
            try:
                with socket.create_connection(
                    ("127.0.0.1", self.receiver_port), timeout=2
                ) as sock:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                    return sock.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                return False

        wait_until(healthy, timeout=60, what="the receiver's /healthz")

    # -- servers -----------------------------------------------------------------------

    def restart_postgres(self, down_s: float) -> None:
        """A fast shutdown (what `pg_ctl restart -m fast` does first: SIGINT, sessions
        ended, clean checkpoint), `down_s` with no server, then the same data directory
        on the same port again."""
        self.postgres.stop()
        time.sleep(down_s)
        self.postgres.start()

    def crash_redis(self) -> None:
        """SIGKILL the private Redis; it keeps nothing on disk, so it comes back empty."""
        process = self.redis.process
        assert process is not None
        process.kill()
        process.wait(10)
        self.redis.process = None

    def flush_redis(self) -> None:
        client = redis.Redis.from_url(self.redis.url, socket_timeout=5)
        try:
            client.flushall()
        finally:
            client.close()

    # -- state -------------------------------------------------------------------------

    def query(
        self, statement: str, params: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        with psycopg.connect(
            self.database_url, autocommit=True, connect_timeout=5
        ) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def inbox_counts(self) -> dict[str, int]:
        rows = self.query("SELECT status, count(*) FROM webhook_inbox GROUP BY status")
        return {status: int(n) for status, n in rows}

    def cleanup_counts(self) -> dict[str, int]:
        rows = self.query(
            "SELECT status, count(*) FROM cloudinary_cleanup_queue GROUP BY status"
        )
        return {status: int(n) for status, n in rows}

    def open_worker_transactions(self) -> list[str]:
        """Workers (by name) whose transaction has written (or locked) rows right now."""
        rows = self.query(
            "SELECT application_name FROM pg_stat_activity"
            " WHERE application_name LIKE %s AND backend_xid IS NOT NULL",
            (WORKER_APP_PREFIX + "%",),
        )
        return [name.removeprefix(WORKER_APP_PREFIX) for (name,) in rows]

    def listener_seen(self, name: str) -> float | None:
        """Seconds since the listener's last heartbeat, None without one."""
        rows = self.query(
            "SELECT extract(epoch FROM now() - last_seen) FROM mediasync_heartbeats"
            " WHERE name = %s",
            ("listener:" + name,),
        )
        return float(rows[0][0]) if rows else None

    def cleanup_sweeps_fired(self) -> int:
        rows = self.query(
            "SELECT run_count FROM mediasync_beat_state WHERE name = 'cleanup-sweep'"
        )
        return int(rows[0][0]) if rows else 0

    def cleanups_of(self, public_ids: Sequence[str]) -> dict[str, str]:
        """The cleanup queue's status per public_id (the latest row of each)."""
        rows = self.query(
            "SELECT DISTINCT ON (public_id) public_id, status"
            " FROM cloudinary_cleanup_queue WHERE public_id = ANY(%s)"
            " ORDER BY public_id, id DESC",
            (list(public_ids),),
        )
        return dict(rows)

    def hard_delete(self, public_ids: Sequence[str]) -> bool:
        """DELETE the mirror rows as the host application would (the trigger queues a
        cleanup and NOTIFYs on commit). Returns whether a listener was connected when
        the transaction committed."""
        with psycopg.connect(self.database_url, connect_timeout=5) as conn:
            conn.execute(
                "DELETE FROM media_assets WHERE public_id = ANY(%s)",
                (list(public_ids),),
            )
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'mediasync-listener'"
            ).fetchone()
            conn.commit()
        return bool(row and row[0])

    def beat_leads(self) -> bool:
        # a bigint advisory key below 2^32 is held as classid 0, objid = the key
        rows = self.query(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = 0 AND objid = %s AND objsubid = 1",
            (LEADER_LOCK_KEY,),
        )
        return bool(rows[0][0])


@contextlib.contextmanager
def private_stack(
    root: Path, *, notification_attempts: int = 12, notification_base_delay: float = 0.1
) -> Iterator[Stack]:
    """PostgreSQL (migrated), Redis and the emulator, notifying a receiver port chosen
    here; the scenario starts the processes it wants. Everything stops at the end."""
    with contextlib.ExitStack() as stack:
        postgres = LocalPostgres(root / "pg", durable=False)
        postgres.start()
        stack.callback(postgres.stop)
        migrate(postgres.url, report=lambda _line: None)
        cache = LocalRedis(root / "redis")
        cache.start()
        stack.callback(cache.stop)
        receiver_port = free_port()
        emulator = Emulator(
            cloud_name="chaos",
            rate_limit=1_000_000,  # re-fetches must never meet a 420 here
            notification_url=f"http://127.0.0.1:{receiver_port}{WEBHOOK}",
            notification_attempts=notification_attempts,
            notification_base_delay=notification_base_delay,
        )
        emulator.start()
        stack.callback(emulator.stop)
        services = Stack(root, postgres, cache, emulator, receiver_port)
        stack.callback(services.stop_processes)
        yield services


# -- traffic -------------------------------------------------------------------------------


class Traffic:
    """A simple history of SDK operations against the emulator: mostly uploads (with tags
    and context), tag additions, a few destroys. Each call makes the emulator notify the
    receiver. Histories stay simple on purpose: these scenarios test fault handling, not
    the apply's ordering rules."""

    TAGS = ("red", "green", "blue", "sale", "new")

    def __init__(self, stack: Stack, prefix: str, seed: int) -> None:
        self.stack = stack
        self.prefix = prefix
        self.random = random.Random(seed)  # noqa: S311 -- a test history, not a secret
        self.live: list[str] = []
        self.calls: Counter[str] = Counter()
        self.errors: list[str] = []
        self._uploads = 0
        self._thread: threading.Thread | None = None

    def upload(self, public_id: str | None = None) -> str:
        if public_id is None:
            public_id = f"{self.prefix}/{self._uploads}"
        self._uploads += 1
        tags = self.random.sample(self.TAGS, self.random.randint(0, 2))
        cloudinary.uploader.upload(
            png_bytes(2, 2),
            public_id=public_id,
            tags=tags,
            context={"alt": f"alt of {public_id}"},
            **self.stack.sdk,
        )
        self.calls["upload"] += 1
        self.live.append(public_id)
        return public_id

    def step(self) -> None:
        roll = self.random.random()
        if len(self.live) < 5 or roll < 0.65:
            self.upload()
        elif roll < 0.92:
            tag = self.random.choice(self.TAGS)
            cloudinary.uploader.add_tag(
                tag, [self.random.choice(self.live)], **self.stack.sdk
            )
            self.calls["add_tag"] += 1
        else:
            public_id = self.live.pop(self.random.randrange(len(self.live)))
            cloudinary.uploader.destroy(public_id, **self.stack.sdk)
            self.calls["destroy"] += 1

    def run(self, operations: int, pace_s: float) -> None:
        for _ in range(operations):
            try:
                self.step()
            except Exception as exc:  # an SDK error is a finding, counted and reported
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(pace_s)

    def start(self, operations: int, pace_s: float) -> None:
        self._thread = threading.Thread(
            target=self.run, args=(operations, pace_s), daemon=True
        )
        self._thread.start()

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float = 120) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the traffic did not end"


# -- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deliveries:
    """What the emulator's delivery log says about the notifications it sent."""

    sent: int
    answers: Counter[str]
    accepted_digests: frozenset[str]
    gave_up: int

    @classmethod
    def read(cls, emulator: Emulator) -> Deliveries:
        answers: Counter[str] = Counter()
        ok_bodies: set[str] = set()
        bodies: set[str] = set()
        for attempt in emulator.deliveries():
            status = attempt["status"]
            answers[str(status) if status is not None else "no answer"] += 1
            bodies.add(attempt["body"])
            if attempt["ok"]:
                ok_bodies.add(attempt["body"])
        return cls(
            sent=len(bodies),
            answers=answers,
            accepted_digests=frozenset(
                hashlib.sha256(body.encode()).hexdigest() for body in ok_bodies
            ),
            gave_up=len(bodies - ok_bodies),
        )


def wait_settled(stack: Stack, timeout: float) -> float:
    """Until the emulator has nothing left to deliver and the inbox and the cleanup queue
    hold no open work (cleanups make the emulator notify again, hence the loop). Seconds."""
    started = time.monotonic()
    deadline = started + timeout

    def left() -> float:
        return max(0.0, deadline - time.monotonic())

    while True:
        idle = stack.emulator.wait_deliveries_idle(left())
        inbox = stack.inbox_counts()
        cleanup = stack.cleanup_counts()
        open_work = inbox.get("pending", 0) + sum(
            cleanup.get(s, 0) for s in ("pending", "processing")
        )
        if idle and not open_work and stack.emulator.wait_deliveries_idle(0):
            return time.monotonic() - started
        if not left():
            raise AssertionError(
                f"not settled after {timeout:.0f} s: deliveries idle={idle},"
                f" inbox={inbox}, cleanup={cleanup}"
            )
        time.sleep(0.1)


def unaccounted(stack: Stack, deliveries: Deliveries) -> list[str]:
    """Digests of notifications the receiver accepted (2xx) that are not in the inbox as
    applied or ignored: accepted and then lost."""
    rows = stack.query("SELECT digest, status FROM webhook_inbox")
    done = {digest for digest, status in rows if status in ("applied", "ignored")}
    return sorted(deliveries.accepted_digests - done)


def duplicate_effects(stack: Stack) -> int:
    """Audit rows written twice for the same inbox row and asset: an event whose effect
    was committed twice (one batch commits its statuses and its log rows together)."""
    rows = stack.query(
        "SELECT count(*) FROM (SELECT 1 FROM media_sync_log"
        " WHERE details ? 'inbox_id'"
        " GROUP BY details->>'inbox_id', operation, status, public_id, asset_id"
        " HAVING count(*) > 1) twice"
    )
    return int(rows[0][0])


def mirror_mismatches(stack: Stack) -> list[str]:
    """Differences between the mirror's live rows and the emulator's Admin API view
    (asset_id, public_id, version, tags, context), one line per asset."""
    truth: dict[str, tuple[Any, ...]] = {}
    cursor: str | None = None
    while True:
        page = cloudinary.api.resources(
            type="upload",
            resource_type="image",
            max_results=500,
            tags=True,
            context=True,
            **({"next_cursor": cursor} if cursor else {}),
            **stack.sdk,
        )
        for item in page["resources"]:
            truth[item["asset_id"]] = (
                item["public_id"],
                int(item["version"]),
                sorted(item.get("tags") or []),
                dict((item.get("context") or {}).get("custom") or {}),
            )
        cursor = page.get("next_cursor")
        if not cursor:
            break
    mirror = {
        asset_id: (public_id, int(version), sorted(tags or []), dict(context or {}))
        for asset_id, public_id, version, tags, context in stack.query(
            "SELECT asset_id, public_id, version, tags, context FROM media_assets"
            " WHERE deleted_at IS NULL"
        )
    }
    lines = []
    for asset_id in sorted(truth.keys() | mirror.keys()):
        want, have = truth.get(asset_id), mirror.get(asset_id)
        if want != have:
            lines.append(f"{asset_id}: emulator {want} != mirror {have}")
    return lines


def full_profile() -> bool:
    """Whether MEDIASYNC_CHAOS=full was given. Read from the environment this process
    started with too: tests/conftest.py drops every MEDIASYNC_* variable at import (so a
    developer's settings never leak into tests), before any test module reads it."""
    if os.environ.get("MEDIASYNC_CHAOS"):
        return os.environ["MEDIASYNC_CHAOS"] == "full"
    try:
        initial = Path("/proc/self/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"MEDIASYNC_CHAOS=full" in initial
