"""Bearer token, JSON errors, and the operator API switched off without a token."""

import pytest

from tests.operator_api.conftest import TOKEN, without_token
from tests.webhook_receiver.helpers import receiver_app, signed, with_account

ROUTES = [
    ("GET", "/api/media"),
    ("GET", "/api/media/stats"),
    ("DELETE", "/api/media?public_ids=a"),
    ("GET", "/api/sync"),
    ("POST", "/api/sync"),
    ("GET", "/api/sync/1"),
    ("GET", "/api/cleanup"),
    ("POST", "/api/cleanup/sweep"),
    ("POST", "/api/cleanup/retry-failed"),
    ("POST", "/api/cleanup/pause"),
    ("POST", "/api/cleanup/resume"),
    ("GET", "/api/inbox"),
    ("POST", "/api/inbox/1/retry"),
    ("GET", "/api/assets/a/b/history"),
    ("GET", "/api/upload-params"),
    ("GET", "/api/openapi.json"),
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer t\u00e9st"},
    ],
)
def test_every_route_refuses_a_missing_or_wrong_token_with_401_json(client, headers):
    for method, path in ROUTES:
        answer = client.open(path, method=method, headers=headers)
        assert answer.status_code == 401, (method, path)
        assert answer.get_json() == {"error": "missing or wrong bearer token"}
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_right_token_is_accepted_whatever_the_scheme_case(client):
    answer = client.get("/api/cleanup", headers={"Authorization": f"bearer {TOKEN}"})
    assert answer.status_code == 200


def test_without_a_token_setting_the_operator_api_is_404_but_the_webhook_alias_works(
    settings,
):
    off = with_account(without_token(settings))
    with receiver_app(off) as app:
        client = app.test_client()
        for method, path in [*ROUTES, ("GET", "/api/nope"), ("PUT", "/api/media")]:
            answer = client.open(
                path, method=method, headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert answer.status_code == 404, (method, path)
            assert answer.is_json
            assert "error" in answer.get_json()
        raw, headers = signed({"notification_type": "upload", "public_id": "x"})
        answer = client.post("/api/cloudinary/webhook", data=raw, headers=headers)
        assert answer.status_code == 202
        assert client.get("/metrics").status_code == 200


def test_routing_errors_under_api_are_json(api):
    missing = api.get("/api/nope")
    assert missing.status_code == 404
    assert "error" in missing.get_json()
    wrong_method = api.client.put("/api/media")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.get_json()
    not_a_number = api.get("/api/sync/abc")
    assert not_a_number.status_code == 404
    assert not_a_number.is_json


def test_pages_outside_api_keep_their_own_errors(client):
    answer = client.get("/nope")
    assert answer.status_code == 404
    assert not answer.is_json


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/media?search=a%00b"),
        ("DELETE", "/api/media?public_ids=a%00b"),
        ("GET", "/api/assets/a%00b/history"),
        ("POST", "/api/inbox/99999999999999999999999/retry"),
    ],
)
def test_values_postgres_cannot_take_are_400_not_500(api, method, path):
    answer = api.client.open(path, method=method, headers=api_headers())
    assert answer.status_code == 400
    assert answer.get_json()["error"]


def test_an_id_past_bigint_is_simply_not_found(api):
    assert api.get("/api/sync/99999999999999999999999").status_code == 404


def test_retry_ids_past_bigint_are_400(api):
    answer = api.post("/api/cleanup/retry-failed", json={"ids": [2**70]})
    assert answer.status_code == 400


def api_headers():
    return {"Authorization": f"Bearer {TOKEN}"}
