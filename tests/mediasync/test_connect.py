"""`mediasync connect` against the emulator's Triggers API: creates what is missing once,
changes nothing the second time, leaves other URLs' triggers alone; doctor then agrees."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from cloudinary_emulator import Emulator
from mediasync import notification_triggers
from mediasync.cli import main
from mediasync.doctor import run_checks
from tests.mediasync.doctor_stack import forget_triggers
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount

PUBLIC = "https://mirror.example.com/sync"
WEBHOOK = "https://mirror.example.com/sync/webhooks/cloudinary"
APPLIED = notification_triggers.APPLIED_EVENT_TYPES


@pytest.fixture
def client(
    cloud: Emulator, account: CloudinaryAccount, monkeypatch: pytest.MonkeyPatch
) -> Iterator[CloudinaryClient]:
    forget_triggers(account)
    monkeypatch.setenv("CLOUDINARY_URL", cloud.cloudinary_url)
    for name in ("DATABASE_URL", "REDIS_URL", "MEDIASYNC_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    yield CloudinaryClient(account, timeout=10)
    forget_triggers(account)


def pairs(client: CloudinaryClient) -> set[tuple[str, str]]:
    return {(t["event_type"], t["uri"]) for t in client.triggers()}


def doctor_triggers_line(cloud: Emulator) -> bool:
    env = {
        "DATABASE_URL": "postgresql://127.0.0.1:1/x",
        "REDIS_URL": "redis://127.0.0.1:1",
        "CLOUDINARY_URL": cloud.cloudinary_url,
        "MEDIASYNC_PUBLIC_URL": PUBLIC,
    }
    found = {r.check: r for r in run_checks(env, timeout_s=1)}
    return found["webhook triggers"].passed


def test_dry_run_shows_every_trigger_and_creates_none(
    client: CloudinaryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "--public-url", PUBLIC, "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[: len(APPLIED)] == [
        f"would create trigger {event} -> {WEBHOOK}" for event in APPLIED
    ]
    assert "per-upload notification_url" in lines[-1]
    assert client.triggers() == []


def test_connect_creates_once_then_changes_nothing_and_doctor_agrees(
    client: CloudinaryClient, cloud: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    other = ("upload", "https://someone-else.example.com/hook")
    client.create_trigger(other[1], other[0])
    assert not doctor_triggers_line(cloud)

    assert main(["connect", "--public-url", PUBLIC]) == 0
    created = capsys.readouterr().out.splitlines()
    assert created[: len(APPLIED)] == [
        f"create trigger {event} -> {WEBHOOK}" for event in APPLIED
    ]
    assert pairs(client) == {(event, WEBHOOK) for event in APPLIED} | {other}

    calls = cloud.client.counters()["create_trigger"]
    assert main(["connect", "--public-url", PUBLIC, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["changes"] == []
    assert cloud.client.counters()["create_trigger"] == calls
    assert pairs(client) == {(event, WEBHOOK) for event in APPLIED} | {other}

    assert doctor_triggers_line(cloud)


def test_one_missing_trigger_is_all_connect_adds(
    client: CloudinaryClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["connect", "--public-url", PUBLIC]) == 0
    client.delete_trigger(client.triggers("rename")[0]["id"])
    capsys.readouterr()
    assert main(["connect", "--public-url", PUBLIC]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"create trigger rename -> {WEBHOOK}"
    assert not out[1].startswith("create")


def test_an_all_trigger_covers_every_event_type() -> None:
    listed = [{"event_type": "all", "uri": WEBHOOK, "uri_type": "webhook"}]
    assert notification_triggers.plan(listed, WEBHOOK) == []
    assert len(notification_triggers.plan([], WEBHOOK)) == len(APPLIED)
    assert "upload" in APPLIED
    assert "delete" in APPLIED


@pytest.mark.parametrize("url", [None, "ftp://host", "https://host/?q=1"])
def test_a_missing_or_malformed_public_url_is_a_usage_error(
    client: CloudinaryClient, url: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["connect"] + (["--public-url", url] if url else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--public-url" in err[0]
    assert client.triggers() == []


def test_wrong_credentials_fail_in_one_line(
    client: CloudinaryClient,
    cloud: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = client.account.api_secret
    monkeypatch.setenv("CLOUDINARY_URL", cloud.cloudinary_url.replace(secret, "nope"))
    assert main(["connect", "--public-url", PUBLIC]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "Cloudinary answered" in err[0]
