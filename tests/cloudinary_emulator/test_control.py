"""The /_emulator/ control API through EmulatorClient, and raw-HTTP edge cases."""

from __future__ import annotations

import http.client
import json
import threading
import time

import cloudinary.api
import cloudinary.uploader
import pytest

from cloudinary_emulator import Emulator, EmulatorClient, EmulatorClientError


def test_emulator_urls(emulator: Emulator) -> None:
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"
    assert emulator.cloudinary_url == (
        f"cloudinary://123456789012345:emulator-secret@demo?upload_prefix={emulator.base_url}"
    )


def test_sdk_configured_from_the_printed_cloudinary_url(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDINARY_URL", emulator.cloudinary_url)
    monkeypatch.delenv("CLOUDINARY_CLOUD_NAME", raising=False)
    cloudinary.reset_config()
    assert cloudinary.api.ping() == {"status": "ok"}


def test_seed_assets_and_asset(emulator: Emulator) -> None:
    client = emulator.client
    assert client.seed(3, prefix="a/", tags=["t"]) == {"seeded": 3, "total": 3}
    assert client.seed(2, prefix="a/", start_index=2)["seeded"] == 1  # a/000002 exists
    client.seed(2, prefix="v/", resource_type="video", type="private")

    assert client.count_assets() == 6
    assert len(client.assets(resource_type="video")) == 2
    (one,) = client.assets(public_id="a/000001")
    assert one["tags"] == ["t"]
    assert client.asset("image", "upload", "a/000001") == one
    assert client.asset("image", "upload", "a/nope") is None
    seeded = cloudinary.api.resource("a/000000")
    assert seeded["asset_folder"] == "a"


def test_asset_lookup_with_awkward_public_ids(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="we ird/na?me#1")
    found = emulator.client.asset("image", "upload", "we ird/na?me#1")
    assert found is not None
    assert found["public_id"] == "we ird/na?me#1"


def test_reset_clears_everything(emulator: Emulator) -> None:
    emulator.client.seed(5)
    emulator.client.fault("ping", status=500)
    emulator.client.set_rate_limit(limit=1, remaining=0)
    cloudinary.uploader.upload(b"x")
    emulator.client.reset()
    assert emulator.client.count_assets() == 0
    assert set(emulator.client.counters().values()) == {0}
    assert cloudinary.api.ping().rate_limit_remaining == 499


def test_notification_settings_round_trip(emulator: Emulator) -> None:
    settings = emulator.client.notifications(
        True, url="http://127.0.0.1:9/x", attempts=5, base_delay=0.5
    )
    assert settings == {
        "enabled": True,
        "url": "http://127.0.0.1:9/x",
        "attempts": 5,
        "base_delay": 0.5,
    }
    assert emulator.client.notifications(False)["enabled"] is False
    assert emulator.client.deliveries() == []
    assert emulator.client.wait_deliveries_idle(1) is True


def test_rate_limit_control_validates(emulator: Emulator) -> None:
    with pytest.raises(EmulatorClientError):
        emulator.client.set_rate_limit(limit=-1)


def test_client_errors_carry_status_and_message(emulator: Emulator) -> None:
    client = EmulatorClient(emulator.base_url + "/")
    with pytest.raises(EmulatorClientError) as caught:
        client._call("GET", "nonsense")
    assert caught.value.status == 404
    assert "Unknown control endpoint" in caught.value.message


def _raw(
    em: Emulator,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", em.port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 404),
        ("GET", "/v1_1/demo/nothing/here", 404),
        ("OPTIONS", "/v1_1/demo/ping", 501),
        ("POST", "/v1_1/demo/image/frobnicate", 404),
        ("GET", "/v1_1/demo/resources/bogus", 404),
    ],
)
def test_errors_are_always_json(
    emulator: Emulator, method: str, path: str, status: int
) -> None:
    code, headers, body = _raw(emulator, method, path)
    assert code == status
    assert headers["Content-Type"].startswith("application/json")
    assert "message" in json.loads(body)["error"]


def test_admin_without_credentials_gets_json_401(emulator: Emulator) -> None:
    code, headers, body = _raw(emulator, "GET", "/v1_1/demo/ping")
    assert code == 401
    assert json.loads(body) == {"error": {"message": "Invalid credentials"}}
    assert headers["X-FeatureRateLimit-Limit"] == "500"
    assert len(headers["X-Request-Id"]) == 32


def test_upload_api_accepts_urlencoded_forms(emulator: Emulator) -> None:
    from cloudinary.utils import api_sign_request

    timestamp = str(int(time.time()))
    params = {"public_id": "form/enc", "timestamp": timestamp}
    signature = api_sign_request(params, emulator.account.api_secret)
    body = (
        f"public_id=form%2Fenc&timestamp={timestamp}&signature={signature}"
        f"&api_key={emulator.account.api_key}&file=https%3A%2F%2Fexample.com%2Fa.png"
    ).encode()
    code, _, data = _raw(
        emulator,
        "POST",
        "/v1_1/demo/image/upload",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert code == 200, data
    assert json.loads(data)["public_id"] == "form/enc"


def test_concurrent_sdk_calls_are_safe(emulator: Emulator) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(10):
                cloudinary.uploader.upload(b"x", public_id=f"c/{worker}/{n}")
                cloudinary.api.resources(type="upload", prefix=f"c/{worker}/")
        except BaseException as exc:  # re-raised in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert emulator.client.count_assets() == 60
    assert emulator.client.counters()["upload"] == 60
