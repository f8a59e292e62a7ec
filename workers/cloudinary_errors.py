"""What a Cloudinary error means for the caller: wait for the rate limit's reset, try again
later, or give up. The cleanup drain and reconcile's Admin API calls both sort errors this way.
"""

from __future__ import annotations

import enum
import re

import urllib3.exceptions
from cloudinary.exceptions import (
    AlreadyExists,
    AuthorizationRequired,
    BadRequest,
    GeneralError,
    NotAllowed,
    NotFound,
    RateLimited,
)

# Admin errors outside the SDK's status map arrive as a plain Exception("Error 502 - ...").
_STATUS_PREFIX = re.compile(r"^Error (\d{3}) - ")
_PERMANENT = (BadRequest, NotAllowed, AuthorizationRequired, AlreadyExists, NotFound)


class Failure(enum.Enum):
    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    PERMANENT = "permanent"


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, RateLimited):
        return Failure.RATE_LIMITED
    if isinstance(exc, _PERMANENT):
        return Failure.PERMANENT
    if isinstance(exc, GeneralError | urllib3.exceptions.HTTPError | OSError):
        return Failure.TRANSIENT
    match = _STATUS_PREFIX.match(str(exc))
    if match and 400 <= int(match.group(1)) < 500:
        return Failure.PERMANENT
    # Unknown statuses, Upload API transport errors (cloudinary.exceptions.Error) and
    # anything unforeseen: retrying is safe (deletes are idempotent) and max_attempts
    # turns a lasting problem into a visible failure.
    return Failure.TRANSIENT
