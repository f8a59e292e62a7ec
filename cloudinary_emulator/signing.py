"""Upload API request signatures (checked) and notification signatures (produced)."""

from __future__ import annotations

import hashlib
import hmac
import time

from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import Params

STALE_AFTER_S = 3600
# Never part of the string to sign, for any action.
_NEVER_SIGNED = frozenset(
    {"file", "cloud_name", "resource_type", "api_key", "signature"}
)
# tags/context/metadata take these but leave them out of the signature.
_UNSIGNED_FOR_ACTION = {
    action: frozenset({"notification_url", "batch_id"})
    for action in ("tags", "context", "metadata")
}
_DIGEST_LENGTH = {"sha1": 40, "sha256": 64}


def string_to_sign(params: Params, action: str) -> str:
    """Signature v2: `k=v` pairs with `&` as `%26`, lists comma-joined, sorted, `&`-joined."""
    skip = _NEVER_SIGNED | _UNSIGNED_FOR_ACTION.get(action, frozenset())
    pairs = []
    for name, value in params.items():
        text = ",".join(value) if isinstance(value, list) else value
        if name in skip or not text:
            continue
        pairs.append(f"{name}={text}".replace("&", "%26"))
    return "&".join(sorted(pairs))


def digest(text: str | bytes, algorithm: str) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


def check_upload_request(
    params: Params, action: str, api_key: str, api_secret: str, algorithm: str
) -> None:
    """Raise the error Cloudinary gives for a missing key, bad signature or stale timestamp.

    An account configured for sha256 accepts only sha256; a sha1 account accepts either,
    told apart by digest length (the SDK can be set to sha256 per call).
    """
    key = params.get("api_key")
    if not key:
        raise ApiError(401, "Must supply api_key")
    if key != api_key:
        raise ApiError(401, f"Unknown API key {key}")
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise ApiError(401, "Missing required parameter - signature")
    timestamp = params.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp:
        raise ApiError(400, "Missing required parameter - timestamp")
    used = algorithm
    if algorithm == "sha1" and len(signature) == _DIGEST_LENGTH["sha256"]:
        used = "sha256"
    to_sign = string_to_sign(params, action)
    expected = digest(to_sign + api_secret, used)
    if not hmac.compare_digest(expected, signature):
        raise ApiError(
            401, f"Invalid Signature {signature}. String to sign - '{to_sign}'."
        )
    try:
        reported = int(timestamp)
    except ValueError:
        raise ApiError(400, f"Invalid timestamp {timestamp}") from None
    if reported < time.time() - STALE_AFTER_S:
        raise ApiError(
            400,
            f"Stale request - reported time is {reported} which is more than 1 hour ago",
        )


def sign_notification(
    body: bytes, timestamp: str, api_secret: str, algorithm: str
) -> str:
    """hex(H(body + timestamp + secret)): a plain digest over the exact bytes sent."""
    return digest(
        body + timestamp.encode("ascii") + api_secret.encode("utf-8"), algorithm
    )
