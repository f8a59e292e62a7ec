"""Sorting Cloudinary SDK errors into rate-limited, transient and permanent."""

import pytest
import urllib3.exceptions
from cloudinary import exceptions as sdk

from workers.cleanup.calls import RetryPolicy, backoff_s
from workers.cloudinary_errors import Failure, classify


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (sdk.RateLimited("Error 420 - Rate Limit Exceeded"), Failure.RATE_LIMITED),
        (sdk.GeneralError("Error 500 - General Error"), Failure.TRANSIENT),
        (sdk.GeneralError("Socket Error: [Errno 111]"), Failure.TRANSIENT),
        # statuses outside the SDK's map: a plain Exception from the Admin API
        (Exception("Error 502 - Bad Gateway"), Failure.TRANSIENT),
        (Exception("Error 422 - Unprocessable"), Failure.PERMANENT),
        # the Upload API wraps transport errors in its base Error
        (sdk.Error("Socket error: ConnectionResetError()"), Failure.TRANSIENT),
        (
            urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"),
            Failure.TRANSIENT,
        ),
        (TimeoutError("timed out"), Failure.TRANSIENT),
        (sdk.BadRequest("Error 400 - Invalid"), Failure.PERMANENT),
        (
            sdk.AuthorizationRequired("Error 401 - Invalid credentials"),
            Failure.PERMANENT,
        ),
        (sdk.NotAllowed("Error 403 - Not allowed"), Failure.PERMANENT),
    ],
)
def test_errors_are_classified_by_what_retrying_can_fix(error, kind):
    assert classify(error) is kind


def test_backoff_doubles_with_jitter_and_stops_at_the_cap():
    policy = RetryPolicy(backoff_base_s=2.0, backoff_cap_s=10.0)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        delays = {backoff_s(attempt, policy) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered: workers that failed together spread out
