"""The checks across the network: Cloudinary's credentials, signature algorithm, triggers
and budget, and the receiver as Cloudinary reaches it, up to a notification applied."""

from __future__ import annotations

import hashlib
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import cloudinary.exceptions
import psycopg
import redis

from mediasync import notification_triggers
from mediasync.doctor.result import Result, failed, passed
from webhook_receiver.signature import sign
from workers.cloudinary_client import CloudinaryClient, rate_limit_of
from workers.config import CloudinaryAccount
from workers.rate_governor import RateGovernor

# A type whose apply only records the inbox row (workers/inbox/handlers.py `_recorded`):
# the probe changes no mirror row, and the doctor deletes the records it leaves.
PROBE_TYPE = "create_folder"
PROBE_FOLDER_PREFIX = "mediasync-doctor-probe-"


def credentials(client: CloudinaryClient) -> tuple[Result, Any]:
    """One cheap authenticated Admin call (usage); its answer also carries the budget."""
    cloud = client.account.cloud_name
    try:
        answer = client.usage()
    except cloudinary.exceptions.AuthorizationRequired as exc:
        return failed(
            "cloudinary credentials",
            f"cloud {cloud!r} refused the API key and secret: {exc}",
            "copy CLOUDINARY_URL from the Cloudinary console (API Keys)",
            "CLOUDINARY_URL",
        ), None
    except (
        Exception
    ) as exc:  # the SDK's errors, a bare Exception("Error 5xx"), transport
        return failed(
            "cloudinary credentials",
            f"the Admin API of cloud {cloud!r} did not answer: {exc}",
            "check CLOUDINARY_URL's cloud name (and upload_prefix) and the network",
            "CLOUDINARY_URL",
        ), None
    return passed("cloudinary credentials", f"cloud {cloud!r} accepts them"), answer


def signature_algorithm(client: CloudinaryClient) -> Result:
    algorithm = client.account.signature_algorithm
    try:
        client.signed_probe(f"{PROBE_FOLDER_PREFIX}{uuid.uuid4().hex}")
    except cloudinary.exceptions.NotFound:
        return passed("signature algorithm", f"{algorithm} agrees with the account")
    except cloudinary.exceptions.AuthorizationRequired as exc:
        other = "sha1" if algorithm == "sha256" else "sha256"
        return failed(
            "signature algorithm",
            f"the account refused a {algorithm} signature: {exc}",
            f"set signature_algorithm={other} in CLOUDINARY_URL's query",
            "CLOUDINARY_URL",
        )
    except Exception as exc:
        return failed(
            "signature algorithm",
            f"the Upload API did not answer: {exc}",
            "check the network",
        )
    # an asset by that random name exists: the signature was accepted all the same
    return passed("signature algorithm", f"{algorithm} agrees with the account")


def receiver(public_url: str | None, timeout_s: float) -> Result:
    if not public_url:
        return failed(
            "receiver",
            "is not set: Cloudinary cannot be told where to post",
            "set MEDIASYNC_PUBLIC_URL=https://<host that reaches `mediasync receiver`>",
            "MEDIASYNC_PUBLIC_URL",
        )
    url = public_url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return failed(
            "receiver",
            f"{url} does not answer: {getattr(exc, 'reason', exc)}",
            "start `mediasync receiver` and make MEDIASYNC_PUBLIC_URL reach it",
            "MEDIASYNC_PUBLIC_URL",
        )
    if status != 200:
        return failed(
            "receiver",
            f"{url} answered {status}",
            "point MEDIASYNC_PUBLIC_URL at `mediasync receiver`",
            "MEDIASYNC_PUBLIC_URL",
        )
    return passed("receiver", f"{url} answers")


def triggers(client: CloudinaryClient, public_url: str | None) -> Result:
    if not public_url:
        return failed(
            "webhook triggers",
            "is not set",
            "set it, then run `mediasync connect`",
            "MEDIASYNC_PUBLIC_URL",
        )
    url = notification_triggers.webhook_url(public_url)
    try:
        listed = client.triggers()
    except Exception as exc:
        return failed(
            "webhook triggers",
            f"the Triggers API did not answer: {exc}",
            "check CLOUDINARY_URL",
        )
    missing = notification_triggers.missing_event_types(listed, url)
    if missing:
        return failed(
            "webhook triggers",
            f"Cloudinary does not post {', '.join(missing)} to {url}",
            f"run `mediasync connect --public-url {public_url}`",
        )
    return passed(
        "webhook triggers",
        f"every applied event type goes to {url}",
        warning=notification_triggers.OVERRIDE_WARNING,
    )


def webhook_applied(
    account: CloudinaryAccount,
    public_url: str | None,
    database_url: str,
    wait_s: float,
) -> Result:
    """Post a signed no-op notification as Cloudinary would; wait for a worker to apply it;
    delete what it left (the inbox row and its audit rows)."""
    if not public_url:
        return failed("webhook applied", "is not set", "set it", "MEDIASYNC_PUBLIC_URL")
    raw = _probe_body()
    stamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310  # an operator-given http(s) URL
        notification_triggers.webhook_url(public_url),
        data=raw,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Cld-Timestamp": stamp,
            "X-Cld-Signature": sign(
                raw, stamp, account.api_secret, account.signature_algorithm
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=wait_s) as answer:  # noqa: S310
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return failed(
            "webhook applied",
            f"the receiver did not answer: {getattr(exc, 'reason', exc)}",
            "start `mediasync receiver`",
        )
    if status == 401:
        return failed(
            "webhook applied",
            "the receiver refused the account's signature (401)",
            "give the receiver the same CLOUDINARY_URL (or MEDIASYNC_WEBHOOK_SECRETS)",
        )
    if status not in (200, 202):
        return failed(
            "webhook applied",
            f"the receiver answered {status}",
            "see the receiver's log",
        )
    return _wait_applied(database_url, hashlib.sha256(raw).hexdigest(), wait_s)


def budget(redis_url: str, cloud_name: str, usage_answer: Any) -> Result:
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    try:
        governor = RateGovernor(client, cloud_name)
        seen = rate_limit_of(usage_answer) if usage_answer is not None else None
        if seen is not None:
            governor.observe(seen.limit, seen.remaining, seen.reset_at)
        snap = governor.snapshot()
    except (redis.RedisError, OSError) as exc:
        return failed(
            "admin api budget", f"cannot read it: {exc}", "see the broker check"
        )
    finally:
        client.close()
    if not snap.known or snap.remaining is None:
        return passed("admin api budget", "unknown until an Admin answer reports it")
    reset = f"resets {snap.reset_at:%H:%M:%S} UTC" if snap.reset_at else "reset unknown"
    detail = f"{snap.remaining} of {snap.limit} calls left this hour ({reset})"
    if snap.reserve is not None and snap.remaining <= snap.reserve:
        return failed(
            "admin api budget",
            detail + f"; at or below the reserve of {snap.reserve}",
            "wait for the reset; reconcile and cleanup hold off until then",
        )
    return passed("admin api budget", detail)


def _probe_body() -> bytes:
    folder = f"{PROBE_FOLDER_PREFIX}{uuid.uuid4().hex}"
    body: dict[str, Any] = {
        "notification_type": PROBE_TYPE,
        "folder_name": folder,
        "path": folder,
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notification_context": {"triggered_by": {"source": "mediasync doctor"}},
    }
    return json.dumps(body).encode()


def _wait_applied(database_url: str, digest: str, wait_s: float) -> Result:
    from mediasync.doctor.local import connect

    deadline = time.monotonic() + wait_s
    status: str | None = None
    try:
        with connect(database_url, 5) as conn:
            while True:
                row = conn.execute(
                    "SELECT id, status, last_error FROM webhook_inbox WHERE digest = %s",
                    (digest,),
                ).fetchone()
                status = row[1] if row else None
                if (
                    status != "pending" and row is not None
                ) or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if row is not None:
                _forget(conn, row[0])
    except psycopg.Error as exc:
        return failed(
            "webhook applied", f"cannot read the inbox: {exc}", "see the database check"
        )
    if row is None:
        return failed(
            "webhook applied",
            "the receiver answered but wrote no inbox row",
            "check that the receiver uses the same DATABASE_URL",
        )
    if status != "applied":
        why = f" ({row[2]})" if row[2] else ""
        return failed(
            "webhook applied",
            f"a test notification was still {status} after {wait_s:.0f} s{why}",
            "start `mediasync worker` on the same broker and database",
        )
    return passed(
        "webhook applied", "a signed test notification was received and applied"
    )


def _forget(conn: psycopg.Connection[Any], inbox_id: int) -> None:
    with conn.transaction():
        conn.execute(
            # created_at bounds the scan to the index's last minutes
            "DELETE FROM media_sync_log WHERE created_at > now() - interval '1 hour'"
            " AND operation = 'create_folder' AND details->>'inbox_id' = %s",
            (str(inbox_id),),
        )
        conn.execute("DELETE FROM webhook_inbox WHERE id = %s", (inbox_id,))
