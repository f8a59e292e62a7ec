"""`mediasync doctor`: every check between a fresh install and a mirror that stays true,
in the order a problem would show up, each with its fix.

A check whose prerequisite failed (no database: no migrations to count) is skipped rather
than failed twice; the run passes only when every check passes.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg

from mediasync.doctor import cloud, local
from mediasync.doctor.result import Result, failed, passed, skipped
from workers.cloudinary_client import CloudinaryClient
from workers.config import Settings, SettingsError

DATABASE_CHECKS = ("migrations", "delete triggers", "listener", "beat", "clock skew")


def run_checks(
    env: Mapping[str, str], *, timeout_s: float = 3.0, apply_wait_s: float = 20.0
) -> list[Result]:
    try:
        settings = Settings.from_env(env)
    except SettingsError as exc:
        return [
            failed("settings", str(exc), "set it (see README, Configuration)"),
            *[skipped(name, "settings") for name in _AFTER_SETTINGS],
        ]
    results = [passed("settings", "every variable parses")]
    results += _database_checks(settings, timeout_s)
    broker_variable = (
        "CELERY_BROKER_URL" if env.get("CELERY_BROKER_URL") else "REDIS_URL"
    )
    broker = local.broker(settings.broker_url, timeout_s, broker_variable)
    results.append(broker)
    schema_ok = any(r.check == "migrations" and r.passed for r in results)
    canary = _canary(settings, timeout_s) if schema_ok else None
    results.append(
        local.workers(settings.broker_url, timeout_s, canary)
        if broker.passed
        else skipped("workers", "no broker")
    )
    results += _cloud_checks(settings, timeout_s, apply_wait_s, results)
    return _in_order(results)


def _database_checks(settings: Settings, timeout_s: float) -> list[Result]:
    reachable = local.database(settings.database_url, timeout_s)
    if not reachable.passed:
        return [reachable, *[skipped(n, "no database") for n in DATABASE_CHECKS]]
    try:
        return [reachable, *_schema_checks(settings.database_url, timeout_s)]
    except psycopg.Error as exc:
        # it answered a moment ago: lost meanwhile, or refused a read (permissions)
        lost = failed(
            "database",
            f"answered, then failed a check: {str(exc).strip().splitlines()[0]}",
            "check the database's state and this role's permissions",
            "DATABASE_URL",
        )
        return [lost, *[skipped(n, "database error") for n in DATABASE_CHECKS]]


def _schema_checks(database_url: str, timeout_s: float) -> list[Result]:
    with local.connect(database_url, timeout_s) as conn:
        schema = local.migrations(conn)
        if not schema.passed:
            return [
                schema,
                *[skipped(n, "migrations missing") for n in DATABASE_CHECKS[1:-1]],
                local.clock_skew(conn),
            ]
        return [
            schema,
            local.delete_triggers(conn),
            local.listener(conn),
            local.beat(conn),
            local.clock_skew(conn),
        ]


def _canary(settings: Settings, timeout_s: float) -> Result | None:
    try:
        with local.connect(settings.database_url, timeout_s) as conn:
            return local.canary_overdue(conn, settings.canary_interval_s)
    except psycopg.Error:
        return None  # the database line says why


def _cloud_checks(
    settings: Settings, timeout_s: float, apply_wait_s: float, so_far: list[Result]
) -> list[Result]:
    account = settings.account
    client = CloudinaryClient(account, timeout=max(timeout_s, 10.0))
    credentials, usage = cloud.credentials(client)
    results = [credentials]
    results.append(
        cloud.signature_algorithm(client)
        if credentials.passed
        else skipped("signature algorithm", "Cloudinary credentials")
    )
    receiver = cloud.receiver(settings.public_url, timeout_s)
    results.append(receiver)
    results.append(
        cloud.triggers(client, settings.public_url)
        if credentials.passed
        else skipped("webhook triggers", "Cloudinary credentials")
    )
    ready = {r.check for r in so_far if r.passed}
    if receiver.passed and {"migrations", "workers"} <= ready:
        results.append(
            cloud.webhook_applied(
                account, settings.public_url, settings.database_url, apply_wait_s
            )
        )
    else:
        results.append(skipped("webhook applied", "receiver, database or workers"))
    results.append(
        cloud.budget(settings.redis_url, account.cloud_name, usage)
        if "broker" in ready
        else skipped("admin api budget", "no broker")
    )
    return results


ORDER = (
    "settings",
    "database",
    "migrations",
    "delete triggers",
    "broker",
    "workers",
    "listener",
    "beat",
    "cloudinary credentials",
    "signature algorithm",
    "receiver",
    "webhook triggers",
    "webhook applied",
    "clock skew",
    "admin api budget",
)
_AFTER_SETTINGS = ORDER[1:]


def _in_order(results: list[Result]) -> list[Result]:
    return sorted(results, key=lambda r: ORDER.index(r.check))


__all__ = ["ORDER", "Result", "run_checks"]
