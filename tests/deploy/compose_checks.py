"""Structural checks of docker-compose.yml (loaded with PyYAML); each returns problems."""

from __future__ import annotations

import re
import shlex
from typing import Any

from tests.deploy.facts import allowed_env, argv_problems

APP_SERVICES = (
    "migrate",
    "receiver",
    "worker",
    "beat",
    "listener",
    "flower",
    "emulator",
)
AFTER_MIGRATE = ("receiver", "worker", "beat", "listener")
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")
WORKER_MIN_GRACE_S = 120
_DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?")


def seconds(duration: str) -> int:
    match = _DURATION.fullmatch(duration)
    if not match or not duration:
        raise ValueError(f"unreadable duration {duration!r}")
    hours, minutes, secs = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def _env_names(environment: Any) -> set[str]:
    if isinstance(environment, dict):
        return set(environment)
    return {item.split("=", 1)[0] for item in environment or []}


def _is_app(service: dict[str, Any]) -> bool:
    return "build" in service or str(service.get("image", "")).startswith("mediasync")


def problems(doc: dict[str, Any]) -> list[str]:
    services: dict[str, dict[str, Any]] = doc.get("services") or {}
    found: list[str] = []
    for name in ("postgres", "redis", *APP_SERVICES):
        if name not in services:
            found.append(f"service {name} is missing")
    for name in ("postgres", "redis"):
        if not (services.get(name, {}).get("healthcheck") or {}).get("test"):
            found.append(f"{name} has no healthcheck")
    shared_env = set(doc.get("x-app-env") or {})
    if not shared_env:
        found.append("no shared x-app-env block")
    for name, service in services.items():
        found += _depends_on_problems(name, service, services)
        if _is_app(service):
            found += _app_service_problems(name, service, shared_env)
    found += _role_problems(services)
    return found


def _depends_on_problems(
    name: str, service: dict[str, Any], services: dict[str, Any]
) -> list[str]:
    depends = service.get("depends_on") or {}
    targets = (
        depends.items() if isinstance(depends, dict) else [(d, {}) for d in depends]
    )
    found = []
    for target, spec in targets:
        if target not in services:
            found.append(f"{name} depends on undefined service {target}")
        condition = (spec or {}).get("condition", "service_started")
        if condition not in CONDITIONS:
            found.append(f"{name}: depends_on {target} has condition {condition!r}")
    return found


def _app_service_problems(
    name: str, service: dict[str, Any], shared_env: set[str]
) -> list[str]:
    found = []
    entrypoint = _list(service.get("entrypoint"))
    if entrypoint not in ([], ["mediasync"]):
        found.append(f"{name}: entrypoint {entrypoint} is not the image's `mediasync`")
    argv = _list(service.get("command"))
    found += argv_problems(argv, f"compose service {name}")
    subcommand = argv[0] if argv else ""
    env = _env_names(service.get("environment"))
    for unknown in sorted(env - allowed_env(subcommand)):
        found.append(f"{name}: sets {unknown}, which no settings module reads")
    if subcommand != "emulator" and not shared_env <= env:
        found.append(f"{name}: does not use the shared x-app-env ({shared_env - env})")
    return found


def _role_problems(services: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    worker = services.get("worker", {})
    if "container_name" in worker:
        found.append("worker has a container_name, so it cannot be scaled")
    if worker.get("ports"):
        found.append("worker publishes host ports, so it cannot be scaled")
    try:
        grace = seconds(str(worker.get("stop_grace_period", "10s")))
    except ValueError as exc:
        found.append(f"worker stop_grace_period: {exc}")
    else:
        if grace < WORKER_MIN_GRACE_S:
            found.append(f"worker stop_grace_period {grace}s < {WORKER_MIN_GRACE_S}s")
    beat = services.get("beat", {})
    replicas = (beat.get("deploy") or {}).get("replicas", 1)
    if replicas != 1 or beat.get("scale", 1) != 1:
        found.append("beat is scaled; run one")
    for name in AFTER_MIGRATE:
        depends = services.get(name, {}).get("depends_on") or {}
        gate = depends.get("migrate") if isinstance(depends, dict) else None
        if (gate or {}).get("condition") != "service_completed_successfully":
            found.append(f"{name} does not wait for migrate to complete successfully")
    if "FLOWER_BASIC_AUTH" not in _env_names(
        services.get("flower", {}).get("environment")
    ):
        found.append("flower has no FLOWER_BASIC_AUTH")
    emulator = services.get("emulator", {})
    if emulator.get("profiles") != ["emulator"]:
        found.append("emulator is not in (only) the `emulator` profile")
    for name, service in services.items():
        if name != "emulator" and service.get("profiles"):
            found.append(f"{name} is in a profile; only the emulator should be")
    return found
