"""GET /api/upload-params: parameters a browser can POST straight to the Upload API."""

import dataclasses
import json
import urllib.error
import urllib.request
import uuid

import pytest

from cloudinary_emulator import Emulator
from tests.operator_api.conftest import AUTH
from tests.webhook_receiver.helpers import receiver_app
from workers.config import CloudinaryAccount

# a 1x1 transparent GIF
GIF = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


def multipart_post(url, fields, filename, content):
    """A browser's multipart/form-data POST, with the standard library only."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
        f' filename="{filename}"\r\nContent-Type: image/gif\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        url,
        data=b"".join(parts),
        method="POST",
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_signed_parameters_upload_to_the_emulator(api, cloud, settings):
    answer = api.get("/api/upload-params?folder=browser&tags=a,b&public_id=pic")
    assert answer.status_code == 200
    params = answer.get_json()
    account = settings.account
    assert params["cloud_name"] == account.cloud_name
    assert params["api_key"] == account.api_key
    assert params["upload_url"] == (
        f"{cloud.base_url}/v1_1/{account.cloud_name}/auto/upload"
    )
    assert params["notification_url"] == "http://localhost/webhooks/cloudinary"
    assert params["fields"] == {
        name: params[name]
        for name in (
            "api_key",
            "timestamp",
            "signature",
            "notification_url",
            "folder",
            "tags",
            "public_id",
        )
    }

    status, body = multipart_post(params["upload_url"], params["fields"], "p.gif", GIF)
    assert status == 200, body
    assert body["public_id"] == "browser/pic"
    assert sorted(body["tags"]) == ["a", "b"]
    assert cloud.client.asset("image", "upload", "browser/pic") is not None

    # the signature covers every field: a changed folder is refused
    tampered = params["fields"] | {"folder": "elsewhere"}
    status, body = multipart_post(params["upload_url"], tampered, "p.gif", GIF)
    assert status == 401, body


def test_without_extras_cloudinary_names_the_asset(api, cloud):
    params = api.get("/api/upload-params").get_json()
    assert not {"folder", "tags", "public_id"} & set(params)
    status, body = multipart_post(params["upload_url"], params["fields"], "x.gif", GIF)
    assert status == 200, body
    assert cloud.client.count_assets() == 1


def test_the_public_url_setting_names_the_notification_url(settings):
    public = dataclasses.replace(settings, public_url="https://sync.example.com/hooks")
    with receiver_app(public) as app:
        params = app.test_client().get("/api/upload-params", headers=AUTH).get_json()
    assert params["notification_url"] == (
        "https://sync.example.com/hooks/webhooks/cloudinary"
    )


@pytest.mark.parametrize("query", ["overwrite=1", "folder=a&type=private"])
def test_only_the_allowed_extras_are_signed(api, query):
    answer = api.get(f"/api/upload-params?{query}")
    assert answer.status_code == 400
    assert "allowed" in answer.get_json()["error"]


def test_without_an_account_there_is_nothing_to_sign(settings):
    with receiver_app(dataclasses.replace(settings, cloudinary=None)) as app:
        answer = app.test_client().get("/api/upload-params", headers=AUTH)
    assert answer.status_code == 503
    assert answer.get_json()["error"]


def test_a_sha256_account_is_signed_with_sha256(settings):
    with Emulator(cloud_name="ops-sha256", signature_algorithm="sha256") as em:
        em.client.notifications(False)
        account = CloudinaryAccount.parse(em.cloudinary_url)
        assert account.signature_algorithm == "sha256"
        with receiver_app(dataclasses.replace(settings, cloudinary=account)) as app:
            params = (
                app.test_client().get("/api/upload-params", headers=AUTH).get_json()
            )
        assert len(params["signature"]) == 64
        status, body = multipart_post(
            params["upload_url"], params["fields"], "s.gif", GIF
        )
        assert status == 200, body
