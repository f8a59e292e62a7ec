"""The emulator's notification triggers, through the SDK as mediasync calls them."""

from __future__ import annotations

import cloudinary.exceptions
import pytest

from cloudinary_emulator import Emulator
from workers.cloudinary_client import CloudinaryClient
from workers.config import CloudinaryAccount

URL = "https://mirror.example.com/webhooks/cloudinary"


def client_for(em: Emulator, secret: str | None = None) -> CloudinaryClient:
    account = CloudinaryAccount.parse(em.cloudinary_url)
    if secret is not None:
        account = CloudinaryAccount(
            account.cloud_name, account.api_key, secret, account.upload_prefix
        )
    return CloudinaryClient(account, timeout=10)


@pytest.fixture
def client(emulator: Emulator) -> CloudinaryClient:
    emulator.client.reset()  # (a reset empties the triggers too)
    return client_for(emulator)


def test_a_reset_empties_the_triggers(emulator: Emulator) -> None:
    client = client_for(emulator)
    client.create_trigger(URL, "upload")
    emulator.client.reset()
    assert client.triggers() == []


def test_create_list_update_delete(client: CloudinaryClient) -> None:
    created = client.create_trigger(URL, "upload")
    assert created["uri"] == URL
    assert created["event_type"] == "upload"
    assert created["uri_type"] == "webhook"
    client.create_trigger(URL, "delete")

    assert sorted(t["event_type"] for t in client.triggers()) == ["delete", "upload"]
    assert [t["id"] for t in client.triggers("upload")] == [created["id"]]

    client.update_trigger(created["id"], URL + "?v=2")
    assert client.triggers("upload")[0]["uri"] == URL + "?v=2"

    client.delete_trigger(created["id"])
    assert [t["event_type"] for t in client.triggers()] == ["delete"]


def test_the_same_pair_twice_is_refused(client: CloudinaryClient) -> None:
    client.create_trigger(URL, "upload")
    with pytest.raises(cloudinary.exceptions.Error):
        client.create_trigger(URL, "upload")
    assert len(client.triggers()) == 1


def test_unknown_trigger_is_not_found(client: CloudinaryClient) -> None:
    with pytest.raises(cloudinary.exceptions.NotFound):
        client.delete_trigger("nosuchtrigger")
    with pytest.raises(cloudinary.exceptions.NotFound):
        client.update_trigger("nosuchtrigger", URL)


def test_wrong_secret_is_refused(emulator: Emulator, client: CloudinaryClient) -> None:
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        client_for(emulator, secret="wrong").triggers()
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        client_for(emulator, secret="wrong").create_trigger(URL, "upload")
    assert client.triggers() == []


def test_usage_answers(client: CloudinaryClient) -> None:
    assert "plan" in client.usage()
