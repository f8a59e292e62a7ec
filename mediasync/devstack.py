"""Everything on one machine: the supervisor behind `mediasync dev` and the demo.

PostgreSQL and Redis come from DATABASE_URL / REDIS_URL when set, else embedded servers whose
data lives under the state directory (`./.mediasync/`) and survives restarts. The Cloudinary
emulator stands in when CLOUDINARY_URL is unset. Then: migrate, and the receiver, a worker,
beat, the listener and Flower as child processes whose output is streamed with a prefix each.
Every child gets a parent-death signal, so nothing outlives the supervisor.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from db.migrate import migrate
from mediasync.embedded import LocalPostgres, LocalRedis, free_port

PROCESSES = ("receiver", "worker", "beat", "listener", "flower")
# Stopped in this order: first the doors (no new work), then the workers finish theirs.
STOP_ORDER = ("receiver", "listener", "beat", "worker", "flower", "emulator")
STOP_TIMEOUT_S = 30.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    os.setsid()  # Ctrl-C reaches the supervisor only; it stops children in order
    ctypes.CDLL("libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


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
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._pumps: list[threading.Thread] = []
        self._print_lock = threading.Lock()
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
            self._spawn(name, [sys.executable, "-m", "mediasync", *commands[name]], env)
        self.urls.update(
            receiver=receiver_url,
            webhook=f"{receiver_url}/webhooks/cloudinary",
            flower=f"http://127.0.0.1:{flower_port}",
        )
        self.state.values["urls"] = self.urls
        self.state.save()
        if "receiver" in self.children:
            _wait_http(f"{receiver_url}/healthz", self.children["receiver"], "receiver")
        if "worker" in self.children:
            self._wait_worker(self.children["worker"])

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
        self.postgres = LocalPostgres(
            self.state_dir / "pg", port=self.state.port("postgres", 55432), durable=True
        )
        self.postgres.start()
        return self.postgres.url

    def _embedded_redis(self) -> str:
        self.redis = LocalRedis(
            self.state_dir / "redis", port=self.state.port("redis", 56379)
        )
        self.redis.start()
        return self.redis.url

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
        _wait_http(f"{base}/_emulator/counters", self.children["emulator"], "emulator")
        self.urls["emulator"] = base
        return f"{account}?upload_prefix={base}"

    def _spawn(self, name: str, argv: list[str], env: Mapping[str, str]) -> None:
        process = subprocess.Popen(
            argv,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        self.children[name] = process
        assert process.stdout is not None  # noqa: S101 -- stdout=PIPE above
        pump = threading.Thread(
            target=self._pump,
            args=(name, process.stdout),
            name=f"log-{name}",
            daemon=True,
        )
        pump.start()
        self._pumps.append(pump)

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self._emit(name, raw.decode(errors="replace").rstrip())

    def _emit(self, name: str, line: str) -> None:
        with self._print_lock:
            self.write(f"{name:>9} | {line}")

    # -- run and stop --------------------------------------------------------------------

    def banner(self) -> str:
        flower_user, _, flower_password = self.env["FLOWER_BASIC_AUTH"].partition(":")
        lines = [
            "mediasync dev is running. Ctrl-C stops everything.",
            f"  receiver      {self.urls['receiver']}  (webhooks: {self.urls['webhook']})",
            f"  operator API  {self.urls['receiver']}/api/  "
            f"(Authorization: Bearer {self.env['MEDIASYNC_API_TOKEN']})",
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

    def failed_child(self) -> str | None:
        for name, process in self.children.items():
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        names = [n for n in STOP_ORDER if n in self.children]
        for name in names:
            process = self.children[name]
            if process.poll() is None:
                self._emit("dev", f"stopping {name}")
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self._emit(
                        "dev", f"{name} did not stop in {STOP_TIMEOUT_S:.0f} s; killing"
                    )
                    process.kill()
                    process.wait()
        for pump in self._pumps:
            pump.join(timeout=5)
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
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
