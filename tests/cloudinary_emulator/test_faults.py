"""Injected faults, call counters and the hourly rate limit, seen through the SDK."""

from __future__ import annotations

import email.utils
import time

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import Error, GeneralError, NotFound, RateLimited

from cloudinary_emulator import Emulator, EmulatorClientError
from cloudinary_emulator.faults import ENDPOINTS


def test_500_n_times_then_success(emulator: Emulator) -> None:
    emulator.client.fault("list_resources", status=500, count=2)
    for _ in range(2):
        with pytest.raises(GeneralError, match="Error 500 - General Error"):
            cloudinary.api.resources()
    assert cloudinary.api.resources()["resources"] == []
    assert emulator.client.counters()["list_resources"] == 3


def test_faults_apply_to_upload_endpoints(emulator: Emulator) -> None:
    emulator.client.fault("upload", status=503, message="try later")
    with pytest.raises(GeneralError, match="try later"):
        cloudinary.uploader.upload(b"x", public_id="u")
    assert cloudinary.uploader.upload(b"x", public_id="u")["public_id"] == "u"
    assert emulator.client.counters()["upload"] == 2


def test_fault_status_maps_to_sdk_exceptions(emulator: Emulator) -> None:
    emulator.client.fault(
        "get_resource", status=429
    )  # no Retry-After: urllib3 won't retry
    with pytest.raises(RateLimited):
        cloudinary.api.resource("x")


def test_urllib3_retries_get_on_503_with_retry_after(emulator: Emulator) -> None:
    """Reference §3.4: urllib3's default Retry repeats a GET answered 429/503 with
    Retry-After, so three such faults are invisible to the SDK caller."""
    emulator.client.fault("ping", status=503, count=3, headers={"Retry-After": "0"})
    assert cloudinary.api.ping() == {"status": "ok"}
    assert emulator.client.counters()["ping"] == 4


def test_latency_delays_the_answer(emulator: Emulator) -> None:
    emulator.client.fault("ping", latency_ms=300)
    started = time.monotonic()
    assert cloudinary.api.ping() == {"status": "ok"}
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    cloudinary.api.ping()
    assert time.monotonic() - started < 0.3


def test_dropped_connection_fails_a_post(emulator: Emulator) -> None:
    emulator.client.fault("upload", drop=True)
    with pytest.raises(Error, match="Unexpected error"):
        cloudinary.uploader.upload(b"x", public_id="dropped")
    assert emulator.client.asset("image", "upload", "dropped") is None
    assert (
        cloudinary.uploader.upload(b"x", public_id="dropped")["public_id"] == "dropped"
    )


def test_dropped_connections_on_get_are_retried_by_urllib3(emulator: Emulator) -> None:
    emulator.client.fault("get_resource", drop=True, count=1)
    with pytest.raises(NotFound):  # the retry reached the handler
        cloudinary.api.resource("nothing")
    assert emulator.client.counters()["get_resource"] == 2

    emulator.client.fault(
        "get_resource", drop=True, count=4
    )  # more than Retry(3) absorbs
    with pytest.raises(GeneralError, match="Unexpected error"):
        cloudinary.api.resource("nothing")


def test_latency_then_status(emulator: Emulator) -> None:
    emulator.client.fault("search", status=500, latency_ms=100)
    started = time.monotonic()
    with pytest.raises(GeneralError):
        cloudinary.Search().execute()
    assert time.monotonic() - started >= 0.1


def test_clear_faults_and_bad_fault_requests(emulator: Emulator) -> None:
    emulator.client.fault("ping", status=500, count=10)
    emulator.client.clear_faults()
    assert cloudinary.api.ping() == {"status": "ok"}
    with pytest.raises(EmulatorClientError) as unknown:
        emulator.client.fault("no_such_endpoint", status=500)
    assert unknown.value.status == 400
    with pytest.raises(EmulatorClientError):
        emulator.client.fault("ping")  # neither status, latency nor drop


def test_counters_count_each_endpoint_and_reset(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="c")
    cloudinary.api.resource("c")
    cloudinary.uploader.add_tag("t", ["c"])
    counters = emulator.client.counters()
    assert counters["upload"] == counters["get_resource"] == counters["tags"] == 1
    assert counters["destroy"] == 0
    # one counter per endpoint a fault can target; the original ones among them
    assert set(counters) == set(ENDPOINTS)
    assert set(ENDPOINTS) >= {
        "list_resources",
        "get_resource",
        "resources_by_asset_ids",
        "delete_resources",
        "delete_by_asset_ids",
        "update",
        "search",
        "ping",
        "usage",
        "triggers",
        "create_trigger",
        "update_trigger",
        "delete_trigger",
        "upload",
        "destroy",
        "rename",
        "tags",
        "context",
        "explicit",
    }
    emulator.client.reset_counters()
    assert set(emulator.client.counters().values()) == {0}


def test_rate_limit_headers_on_every_admin_response(emulator: Emulator) -> None:
    first = cloudinary.api.ping()
    second = cloudinary.api.resources()
    assert first.rate_limit_allowed == 500
    assert (first.rate_limit_remaining, second.rate_limit_remaining) == (499, 498)
    assert first.rate_limit_reset_at is not None
    reset_at = email.utils.mktime_tz((*first.rate_limit_reset_at[:9], 0))
    assert reset_at % 3600 == 0  # the top of the next hour
    assert 0 < reset_at - time.time() <= 3600
    assert first.request_id


def test_420_once_the_budget_is_spent(emulator: Emulator) -> None:
    emulator.client.set_rate_limit(limit=3)
    for _ in range(3):
        cloudinary.api.ping()
    with pytest.raises(RateLimited, match="Error 420 - Rate Limit Exceeded"):
        cloudinary.api.ping()
    with pytest.raises(RateLimited):
        cloudinary.Search().execute()
    assert cloudinary.uploader.upload(b"x")["public_id"]  # Upload API is not budgeted


def test_budget_refills_after_reset_in(emulator: Emulator) -> None:
    state = emulator.client.set_rate_limit(limit=2, remaining=0, reset_in=0.3)
    assert state["remaining"] == 0
    with pytest.raises(RateLimited):
        cloudinary.api.ping()
    time.sleep(0.35)
    assert cloudinary.api.ping().rate_limit_remaining == 1
