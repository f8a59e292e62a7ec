"""Every wrong setting or unreachable server, for every command a newcomer runs first: one
line on stderr naming the variable, exit 1, no traceback, and never a password.

Each (configuration, command) pair is a real `python -m mediasync` subprocess; they run in
parallel in one module fixture, so the table takes seconds, and each pair is its own test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from mediasync.cli import COMMAND_MODULES
from mediasync.embedded import free_port
from tests.pg import create_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
# Distinct enough that finding one in the output can only mean it was printed.
DB_PASSWORD = "pg-Pw-7f3a9c"
REDIS_PASSWORD = "rd-Pw-2b8e41"
CLOUD_SECRET = "cl-Secret-9d0c55"
PASSWORDS = (DB_PASSWORD, REDIS_PASSWORD, CLOUD_SECRET)
GOOD_CLOUDINARY_URL = f"cloudinary://key:{CLOUD_SECRET}@demo"

COMMANDS = ["migrate", "cleanup status", "reconcile", "receiver", "worker", "listener"]
if (ROOT / "mediasync/commands/doctor.py").exists() and (
    "mediasync.commands.doctor" in COMMAND_MODULES
):
    COMMANDS.append("doctor")
# Commands for which an unreachable Redis is no error: migrate and cleanup status never
# need it, and the receiver stores notifications through a broker outage (their wake-ups
# wait for beat's sweep; tests/chaos/test_apply_faults.py restarts it during one).
WITHOUT_REDIS = {"migrate", "cleanup status", "receiver"}


@dataclass(frozen=True)
class Servers:
    """What the rows build their URLs from: live servers and a port nobody listens on."""

    pg_url: str  # postgresql://postgres@host:port/<db>
    redis_url: str
    dead_port: int

    def db(self, name: str, *, password: bool = True) -> str:
        scheme, _, rest = self.pg_url.partition("://")
        userinfo, _, hostpath = rest.partition("@")
        user = userinfo.partition(":")[0]
        host = hostpath.partition("/")[0]
        secret = f":{DB_PASSWORD}" if password else ""
        return f"{scheme}://{user}{secret}@{host}/{name}"


@dataclass(frozen=True)
class Row:
    name: str
    variable: str
    # the environment changes, given the live servers and this row's own migrated database
    env: Callable[[Servers, str], dict[str, str]]
    needs_redis: bool = False  # only a command that uses Redis fails


ROWS = [
    Row("db bad scheme", "DATABASE_URL",
        lambda s, db: {"DATABASE_URL": f"mysql://root:{DB_PASSWORD}@127.0.0.1/app"}),
    Row("db port not a number", "DATABASE_URL",
        lambda s, db: {"DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}"
                                       "@127.0.0.1:notaport/postgres"}),
    Row("db port out of range", "DATABASE_URL",
        lambda s, db: {"DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}"
                                       "@127.0.0.1:99999/postgres"}),
    Row("db unreachable port", "DATABASE_URL",
        lambda s, db: {"DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}"
                                       f"@127.0.0.1:{s.dead_port}/postgres"}),
    Row("db missing database", "DATABASE_URL",
        lambda s, db: {"DATABASE_URL": s.db("mediasync_no_such_db")}),
    Row("db not set", "DATABASE_URL", lambda s, db: {"DATABASE_URL": ""}),
    Row("redis bad scheme", "REDIS_URL",
        lambda s, db: {"REDIS_URL": f"http://:{REDIS_PASSWORD}@127.0.0.1:6379/0"}),
    Row("redis port not a number", "REDIS_URL",
        lambda s, db: {"REDIS_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:port/0"}),
    Row("redis database not a number", "REDIS_URL",
        lambda s, db: {"REDIS_URL": "redis://127.0.0.1:6379/zero"}),
    Row("redis unreachable", "REDIS_URL",
        lambda s, db: {"DATABASE_URL": db, "REDIS_URL":
                       f"redis://:{REDIS_PASSWORD}@127.0.0.1:{s.dead_port}/0"},
        needs_redis=True),
    Row("broker unreachable", "CELERY_BROKER_URL",
        lambda s, db: {"DATABASE_URL": db, "CELERY_BROKER_URL":
                       f"redis://:{REDIS_PASSWORD}@127.0.0.1:{s.dead_port}/0"},
        needs_redis=True),
    Row("cloudinary bad scheme", "CLOUDINARY_URL",
        lambda s, db: {"CLOUDINARY_URL": f"https://key:{CLOUD_SECRET}@demo"}),
    Row("cloudinary no secret", "CLOUDINARY_URL",
        lambda s, db: {"CLOUDINARY_URL": "cloudinary://key@demo"}),
    Row("cloudinary bad upload_prefix", "CLOUDINARY_URL",
        lambda s, db: {"CLOUDINARY_URL": f"{GOOD_CLOUDINARY_URL}?upload_prefix=ftp://x"}),
    Row("interval not a number", "MEDIASYNC_SWEEP_INTERVAL",
        lambda s, db: {"MEDIASYNC_SWEEP_INTERVAL": "thirty"}),
    Row("share above 1", "MEDIASYNC_DELETE_BREAKER_MAX_SHARE",
        lambda s, db: {"MEDIASYNC_DELETE_BREAKER_MAX_SHARE": "2"}),
    Row("unknown log format", "MEDIASYNC_LOG_FORMAT",
        lambda s, db: {"MEDIASYNC_LOG_FORMAT": "xml"}),
]  # fmt: skip

PAIRS = [
    (row, command)
    for row in ROWS
    for command in COMMANDS
    if not (row.needs_redis and command in WITHOUT_REDIS)
]


def run_mediasync(
    command: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediasync", *command.split()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def outcomes(
    pg_server_url: str, template_db: str, redis_server_url: str
) -> Iterator[dict[tuple[str, str], subprocess.CompletedProcess[str]]]:
    servers = Servers(pg_server_url, redis_server_url, free_port())
    databases: list[str] = []

    def migrated_database() -> str:
        name = f"mediasync_oneline_{uuid.uuid4().hex[:10]}"
        databases.append(name)
        return create_database(pg_server_url, name, template=template_db)

    # every row spoils one variable of an environment that otherwise works
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": migrated_database(),
        "REDIS_URL": redis_server_url,
        "CLOUDINARY_URL": GOOD_CLOUDINARY_URL,
    }

    def one(row: Row, command: str) -> subprocess.CompletedProcess[str]:
        # A reconcile records its run before it reaches the broker, and a second one
        # would find that run unfinished and send nothing: a database per such pair.
        db = migrated_database() if row.needs_redis else base["DATABASE_URL"]
        return run_mediasync(command, {**base, **row.env(servers, db)})

    try:
        # two processes per core: most of each run is the interpreter's start
        with ThreadPoolExecutor(max_workers=2 * (os.cpu_count() or 2)) as pool:
            futures = {(r.name, c): pool.submit(one, r, c) for r, c in PAIRS}
            yield {key: future.result() for key, future in futures.items()}
    finally:
        for name in databases:
            drop_database(pg_server_url, name)


def test_the_table_is_the_one_the_issue_asks_for():
    assert len(ROWS) >= 12
    assert {"migrate", "cleanup status", "reconcile", "receiver", "worker"} <= set(
        COMMANDS
    )


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    ("row", "command"), PAIRS, ids=[f"{r.name}|{c}" for r, c in PAIRS]
)
def test_one_line_naming_the_variable(outcomes, row, command):
    result = outcomes[(row.name, command)]
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert row.variable in lines[0]
    assert lines[0].startswith("mediasync: ")
    assert "Traceback" not in result.stderr + result.stdout
    for password in PASSWORDS:
        assert password not in result.stderr + result.stdout


def test_connection_failures_say_host_and_port(outcomes):
    line = outcomes[("db unreachable port", "migrate")].stderr.strip()
    assert "127.0.0.1:" in line
    assert "refused" in line.lower()
    line = outcomes[("redis unreachable", "worker")].stderr.strip()
    assert "127.0.0.1:" in line
    assert "refused" in line.lower()
    line = outcomes[("db missing database", "cleanup status")].stderr.strip()
    assert "mediasync_no_such_db" in line
    assert "does not exist" in line


def test_debug_shows_the_traceback_instead():
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:x/postgres",
    }
    quiet = run_mediasync("migrate", env)
    assert quiet.returncode == 1
    assert "Traceback" not in quiet.stderr
    for loud in (
        run_mediasync("--debug migrate", env),
        run_mediasync("migrate", {**env, "MEDIASYNC_LOG_LEVEL": "debug"}),
    ):
        assert loud.returncode == 1
        assert "Traceback" in loud.stderr
        assert "SettingsError" in loud.stderr


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("cleanup status --bogus", "usage: mediasync cleanup status"),
        ("reconcile --no-such-flag", "usage: mediasync reconcile"),
        ("migrate extra", "usage: mediasync migrate"),
    ],
)
def test_a_typo_in_a_subcommand_shows_that_subcommands_usage(command, usage):
    result = run_mediasync(command, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    assert result.returncode == 2
    assert result.stderr.startswith(usage), result.stderr
    assert "unrecognized arguments" in result.stderr
