"""Short-lived, read-only grants to the change feed, which the console hands to browsers.

The console must not give the browser a token that also works elsewhere (the operator
token acts through the API; the feed token lives for months). It issues a grant instead: a
payload `{"scope": "changes:read", "sub": operator, "exp": unix time}` signed with
itsdangerous under a key derived (HMAC-SHA256) from a token the feed also has. The feed
checks it against every token it has (MEDIASYNC_FEED_TOKEN's key, MEDIASYNC_API_TOKEN's), so
a console and a feed that share either one agree.

- Read-only: the scope is the feed's alone; the operator API and the console's login
  compare their tokens for equality and so never take a grant, and the feed only reads.
- Short-lived: the feed refuses it after `exp` and closes a stream it opened once `exp`
  passes (the browser then asks the console for a new grant and resumes from the last id).
- Unforgeable without a token: the key is a one-way derivation, so a grant (which the
  browser may leak into logs, as `?access_token=`) reveals no token, and rotating the token
  it was derived from voids every grant at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

SCOPE = "changes:read"
TTL_S = 300
_SALT = "mediasync-feed-grant"
PREFIX = "g1."  # tells a grant from a plain token at a glance (and in the feed's check)


@dataclass(frozen=True)
class Grant:
    token: str
    operator: str
    expires_at: float


def _serializer(token: str) -> URLSafeSerializer:
    key = hmac.new(b"mediasync-feed-grant-key", token.encode(), hashlib.sha256).digest()
    return URLSafeSerializer(key, salt=_SALT)


def signing_token(feed_token: str | None, api_token: str | None) -> str | None:
    """The token a grant is derived from: the feed's own read-only token when set (the
    feed may run with that alone), the operator token otherwise; None: no feed to grant."""
    return feed_token or api_token


def issue(
    token: str, operator: str, *, ttl_s: int | None = None, now: float | None = None
) -> Grant:
    lifetime = TTL_S if ttl_s is None else ttl_s
    expires_at = int((time.time() if now is None else now) + lifetime)
    payload = {"scope": SCOPE, "sub": operator, "exp": expires_at}
    signed = _serializer(token).dumps(payload)
    return Grant(PREFIX + signed, operator, float(expires_at))


def verify(
    given: str, tokens: tuple[str | None, ...], *, now: float | None = None
) -> Grant | None:
    """The grant, if `given` is one signed under a key of `tokens`, for the feed's scope,
    and not expired; None otherwise (the caller answers 401 either way)."""
    if not given.startswith(PREFIX):
        return None
    signed = given[len(PREFIX) :]
    payload = None
    for token in tokens:
        if not token:
            continue
        try:
            payload = _serializer(token).loads(signed)
        except BadSignature:
            continue
        break
    if not isinstance(payload, dict) or payload.get("scope") != SCOPE:
        return None
    expires_at, operator = payload.get("exp"), payload.get("sub")
    if not isinstance(expires_at, int) or not isinstance(operator, str):
        return None
    if expires_at <= (time.time() if now is None else now):
        return None
    return Grant(given, operator, float(expires_at))
