"""Everything on one machine: the supervisor behind `mediasync dev` and the demo.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set, else embedded servers whose
data lives under the state directory (`./.mediasync/`) and survives restarts. The Cloudinary
emulator stands in when CLOUDINARY_URL is unset. Then: migrate, and the receiver, a worker,
beat, the listener and Flower as child processes whose output is streamed with a prefix each.
`supervisor.py` watches them all (the embedded servers too): a child that dies is reported with
its last lines and restarted, within bounds; Ctrl-C stops everything within 10 s. Their pids
are in `children.json` in the state directory.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from db.migrate import migrate
from mediasync.embedded import LocalPostgres, LocalRedis, free_port
from mediasync.supervisor import Supervisor, piped

PROCESSES = ("receiver", "worker", "beat", "listener", "flower")
# Stopped in this order: first the doors (no new work), then the workers finish theirs,
# and the servers they talk to last. Within 10 s in all: 6 for ours, then 3 for the servers.
STOP_ORDER = ("receiver", "listener", "beat", "worker", "flower", "emulator")
SERVER_STOP_ORDER = ("redis", "postgres")
STOP_GRACE_S = 6.0
SERVER_STOP_GRACE_S = 3.0


@dataclass
class DevState:
    """What must stay the same across restarts: ports and generated credentials."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> DevState:
        values = json.loads(path.read_text()) if path.exists() else {}
        return cls(path, values)

    def port(self, name: str, preferred: int | None = None) -> int:
        key = f"{name}_port"
        if key not in self.values:
            self.values[key] = (
                preferred if preferred and _is_free(preferred) else free_port()
            )
        port: int = self.values[key]
        return port

    def secret(self, name: str) -> str:
        if name not in self.values:
            self.values[name] = secrets.token_urlsafe(18)
        value: str = self.values[name]
        return value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.values, indent=2))
        self.path.chmod(0o600)


def _is_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class DevStack:
    def __init__(
        self,
        state_dir: Path,
        environ: Mapping[str, str],
        *,
        write: Callable[[str], None] = print,
        processes: tuple[str, ...] = PROCESSES,
    ) -> None:
        self.state_dir = state_dir.resolve()
        self.environ = dict(environ)
        self.write = write
        self.process_names = processes
        self.state = DevState.load(self.state_dir / "dev.json")
        self.postgres: LocalPostgres | None = None
        self.redis: LocalRedis | None = None
        self._print_lock = threading.Lock()
        self.supervisor = Supervisor(
            self._emit, pid_file=self.state_dir / "children.json"
        )
        self.env: dict[str, str] = {}
        self.urls: dict[str, str] = {}

    # -- start ---------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        env = {k: v for k, v in self.environ.items() if k not in ("PYTHONPATH",)}
        env["DATABASE_URL"] = (
            self.environ.get("DATABASE_URL") or self._embedded_postgres()
        )
        env["REDIS_URL"] = self.environ.get("REDIS_URL") or self._embedded_redis()
        receiver_port = self.state.port("receiver", 8000)
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        if not self.environ.get("CLOUDINARY_URL"):
            env["CLOUDINARY_URL"] = self._start_emulator(env, receiver_url)
        env.setdefault("MEDIASYNC_API_TOKEN", self.state.secret("api_token"))
        env.setdefault(
            "FLOWER_BASIC_AUTH", "admin:" + self.state.secret("flower_password")
        )
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.env = env
        # what `mediasync demo` (or a person) needs to reach this stack from another process
        self.state.values["pid"] = os.getpid()
        self.state.values["env"] = {
            name: env[name]
            for name in (
                "DATABASE_URL",
                "REDIS_URL",
                "CLOUDINARY_URL",
                "MEDIASYNC_API_TOKEN",
            )
        }
        self.state.save()
        migrate(env["DATABASE_URL"], report=lambda line: self._emit("migrate", line))
        flower_port = self.state.port("flower", 5555)
        commands = {
            "receiver": [
                "receiver",
                "--host",
                "127.0.0.1",
                "--port",
                str(receiver_port),
            ],
            "worker": ["worker", "-c", "2"],
            "beat": ["beat"],
            "listener": ["listener"],
            "flower": ["flower", "--host", "127.0.0.1", "--port", str(flower_port)],
        }
        for name in self.process_names:
            child_env = self._receiver_env(env) if name == "receiver" else env
            self._spawn(
                name, [sys.executable, "-m", "mediasync", *commands[name]], child_env
            )
        self.urls.update(
            receiver=receiver_url,
            webhook=f"{receiver_url}/webhooks/cloudinary",
            flower=f"http://127.0.0.1:{flower_port}",
        )
        self.state.values["urls"] = self.urls
        self.state.save()
        if "receiver" in self.supervisor.children:
            _wait_http(f"{receiver_url}/healthz", self._process("receiver"), "receiver")
        if "worker" in self.supervisor.children:
            self._wait_worker(self._process("worker"))

    def _receiver_env(self, env: dict[str, str]) -> dict[str, str]:
        # gunicorn runs several workers: without a shared directory each scrape of /metrics
        # sees one worker's counts, and counters seem to go backwards between scrapes.
        return {**env, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}

    @property
    def metrics_dir(self) -> Path:
        return self.state_dir / "prometheus"

    def _clean_metrics_dir(self) -> None:
        # files of an earlier receiver's workers would be added to this one's counts
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)

    def _process(self, name: str) -> subprocess.Popen[bytes]:
        return self.supervisor.process(name)

    def _wait_worker(
        self, process: subprocess.Popen[bytes], timeout: float = 60
    ) -> None:
        # "Started" means consuming: the first webhooks should not wait for a worker's boot.
        from workers.celery_app import app, configure
        from workers.config import Settings

        configure(Settings.from_env(self.env))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(
                    f"worker exited at start (code {process.returncode})"
                )
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError(f"the worker did not answer a ping within {timeout:.0f} s")

    def _embedded_postgres(self) -> str:
        postgres = self.postgres = LocalPostgres(
            self.state_dir / "pg", port=self.state.port("postgres", 55432), durable=True
        )

        def launch() -> subprocess.Popen[bytes]:
            postgres.start()
            assert postgres.process is not None  # noqa: S101 -- start() set it
            return postgres.process

        self.supervisor.start(
            "postgres",
            launch,
            log_file=self.state_dir / "pg.log",
            stop_signal=signal.SIGINT,  # PostgreSQL's fast shutdown
        )
        return postgres.url

    def _embedded_redis(self) -> str:
        redis = self.redis = LocalRedis(
            self.state_dir / "redis", port=self.state.port("redis", 56379)
        )

        def launch() -> subprocess.Popen[bytes]:
            redis.start()
            assert redis.process is not None  # noqa: S101 -- start() set it
            return redis.process

        self.supervisor.start("redis", launch, log_file=self.state_dir / "redis.log")
        return redis.url

    def _start_emulator(self, env: dict[str, str], receiver_url: str) -> str:
        port = self.state.port("emulator", 8090)
        key = self.state.values.setdefault(
            "emulator_api_key", str(100000000000000 + port)
        )
        account = (
            f"cloudinary://{key}:{self.state.secret('emulator_secret')}@mediasync-dev"
        )
        emulator_env = {**env, "CLOUDINARY_URL": account}
        self._spawn(
            "emulator",
            [sys.executable, "-m", "cloudinary_emulator", "--host", "127.0.0.1",
             "--port", str(port), "--notification-url", f"{receiver_url}/webhooks/cloudinary",
             "--state-file", str(self.state_dir / "emulator.json")],
            emulator_env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/_emulator/counters", self._process("emulator"), "emulator")
        self.urls["emulator"] = base
        return f"{account}?upload_prefix={base}"

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        def launch() -> subprocess.Popen[bytes]:
            if name == "receiver":
                self._clean_metrics_dir()
            return piped(argv, env)

        self.supervisor.start(name, launch)

    def _emit(self, name: str, line: str) -> None:
        with self._print_lock:
            self.write(f"{name:>9} | {line}")

    # -- run and stop --------------------------------------------------------------------

    def banner(self) -> str:
        flower_user, _, flower_password = self.env["FLOWER_BASIC_AUTH"].partition(":")
        lines = [
            "mediasync dev is running. Ctrl-C stops everything.",
            f"  receiver      {self.urls['receiver']}  (webhooks: {self.urls['webhook']})",
            f"  operator API  {self.urls['receiver']}/api/openapi.json  (send "
            f"Authorization: Bearer $MEDIASYNC_API_TOKEN; "
            f"MEDIASYNC_API_TOKEN={self.env['MEDIASYNC_API_TOKEN']})",
            f"  metrics       {self.urls['receiver']}/metrics",
            f"  Flower        {self.urls['flower']}  (user {flower_user}, "
            f"password {flower_password})",
        ]
        if "emulator" in self.urls:
            lines.append(
                f"  emulator      {self.urls['emulator']}  (control: /_emulator/)"
            )
        lines += [
            f"  CLOUDINARY_URL={self.env['CLOUDINARY_URL']}",
            f"  DATABASE_URL={self.env['DATABASE_URL']}",
            f"  REDIS_URL={self.env['REDIS_URL']}",
            f"  psql          psql '{self.env['DATABASE_URL']}'",
        ]
        return "\n".join(lines)

    def supervise(self) -> str | None:
        """Restart children that died; a message when one keeps dying and dev must stop."""
        return self.supervisor.check()

    def stop(self) -> None:
        self.supervisor.stop(STOP_ORDER, STOP_GRACE_S)
        self.supervisor.stop(SERVER_STOP_ORDER, SERVER_STOP_GRACE_S)
        # servers that failed at start, before the supervisor knew them
        if self.redis is not None:
            self.redis.stop(timeout=1)
        if self.postgres is not None:
            self.postgres.stop(timeout=1)
        (self.state_dir / "children.json").unlink(missing_ok=True)
        self.state.values.pop("pid", None)
        self.state.values.pop("env", None)
        if self.state.values:
            self.state.save()


def _wait_http(
    url: str, process: subprocess.Popen[bytes], name: str, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited at start (code {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 -- our own loopback URL
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer {url} within {timeout:.0f} s")


def running_stack(state_dir: Path) -> dict[str, Any] | None:
    """The state of a `dev` already running from this directory, if any."""
    state = DevState.load(state_dir.resolve() / "dev.json")
    pid = state.values.get("pid")
    if not pid:
        return None
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, ValueError):
        return None
    return state.values
