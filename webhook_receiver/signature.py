"""Cloudinary notification signatures: hex(H(raw body + X-Cld-Timestamp + secret)), H SHA-1/256.

The SDK's verify_notification_signature reads one global secret, accepts any future timestamp
and compares with `==`; this check takes several secrets (key rotation), bounds the clock
skew on both sides and compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

# Cloudinary sends Unix seconds as plain ASCII digits; int() alone would also take " 12",
# "+12" and other scripts' digits, none of which Cloudinary signs.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# A notification stamped further ahead than this was not made by a sane clock (Stripe and
# Standard Webhooks use the same 5 minutes).
MAX_FUTURE_SKEW_S = 300


class SignatureError(Exception):
    """Why a notification was refused; `reason` is a short label for metrics."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(body: bytes, timestamp: str, secret: str, algorithm: str = "sha1") -> str:
    """The signature Cloudinary sends for `body` (tests and the benchmark use it too)."""
    return hashlib.new(
        algorithm, body + timestamp.encode() + secret.encode()
    ).hexdigest()


def verify(
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    secrets: Sequence[str],
    now: float,
    max_age_s: int,
) -> int:
    """Return the verified timestamp, or raise SignatureError saying why not."""
    if not signature:
        raise SignatureError("missing_signature")
    if not timestamp:
        raise SignatureError("missing_timestamp")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError("malformed_timestamp")
    # Cloudinary sends lowercase hex; the length says which hash made it.
    if not _SIGNATURE.fullmatch(signature):
        raise SignatureError("malformed_signature")
    if not secrets:
        raise SignatureError("no_secret_configured")
    stamped = int(timestamp)
    if stamped < now - max_age_s:
        raise SignatureError("stale")
    if stamped > now + MAX_FUTURE_SKEW_S:
        raise SignatureError("future")
    # SHA-1 is Cloudinary's default notification signature; the choice is theirs, not ours
    prefix = hashlib.sha1() if len(signature) == 40 else hashlib.sha256()  # noqa: S324
    prefix.update(body)
    prefix.update(timestamp.encode())
    matched = False
    for secret in secrets:
        digest = prefix.copy()
        digest.update(secret.encode())
        # no early exit: every secret costs the same whichever one matches
        matched |= hmac.compare_digest(digest.hexdigest(), signature)
    if not matched:
        raise SignatureError("mismatch")
    return stamped
