"""Signed notifications: every one verifies with the SDK, shapes follow the reference,
per-call URLs override the global one, failures are retried and logged."""

from __future__ import annotations

import json
import re
import socket
from typing import Any

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.utils import verify_notification_signature

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.conftest import configure_sdk
from tests.cloudinary_emulator.helpers import Captured, NotificationSink, running_sink

TRIGGERED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _verified(captured: Captured, algorithm: str = "sha1") -> dict[str, Any]:
    """The JSON body, after checking the signature the way a receiver would."""
    body = captured.body.decode("utf-8")
    timestamp = captured.headers["x-cld-timestamp"]
    signature = captured.headers["x-cld-signature"]
    assert captured.headers["content-type"] == "application/json"
    assert verify_notification_signature(
        body, timestamp, signature, algorithm=algorithm
    )
    data: dict[str, Any] = json.loads(body)
    context = data["notification_context"]
    assert TRIGGERED_AT.match(context["triggered_at"])
    assert context["triggered_by"] == {
        "source": "api",
        "id": cloudinary.config().api_key,
    }
    return data


def _delivered(
    em: Emulator, sink: NotificationSink, count: int
) -> list[dict[str, Any]]:
    assert em.wait_deliveries_idle(5)
    captured = sink.wait_for(count)
    assert len(captured) == count
    return [_verified(c) for c in captured]


@pytest.fixture
def hooked(emulator: Emulator, sink: NotificationSink) -> Emulator:
    emulator.client.notifications(True, url=sink.url)
    return emulator


def test_upload_notification_is_signed_and_tampering_is_detected(
    hooked: Emulator, sink: NotificationSink
) -> None:
    result = cloudinary.uploader.upload(b"x", public_id="shop/shoe", tags=["a"])
    (note,) = _delivered(hooked, sink, 1)

    assert note["notification_type"] == "upload"
    for key in ("asset_id", "public_id", "version", "version_id", "etag", "secure_url"):
        assert note[key] == result[key]
    assert note["tags"] == ["a"]
    assert note["asset_folder"] == "shop"
    assert note["request_id"] == result["request_id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", note["timestamp"])

    captured = sink.requests[0]
    body = captured.body.decode()
    tampered = body.replace('"shop/shoe"', '"shop/shoF"', 1)
    assert tampered != body
    assert len(tampered) == len(body)
    assert not verify_notification_signature(
        tampered,
        captured.headers["x-cld-timestamp"],
        captured.headers["x-cld-signature"],
    )


def test_sha256_notifications_verify_with_sha256_only(sink: NotificationSink) -> None:
    with Emulator(signature_algorithm="sha256", notification_url=sink.url) as em:
        configure_sdk(em)
        try:
            cloudinary.uploader.upload(b"x", public_id="s")
            assert em.wait_deliveries_idle(5)
            (captured,) = sink.wait_for(1)
            assert len(captured.headers["x-cld-signature"]) == 64
            _verified(captured, algorithm="sha256")
            body = captured.body.decode()
            timestamp = captured.headers["x-cld-timestamp"]
            signature = captured.headers["x-cld-signature"]
            assert not verify_notification_signature(
                body, timestamp, signature, algorithm="sha1"
            )
            assert not verify_notification_signature(
                body[:-1] + " ", timestamp, signature, algorithm="sha256"
            )
        finally:
            cloudinary.reset_config()


def test_per_call_notification_url_overrides_the_global_one(
    hooked: Emulator, sink: NotificationSink
) -> None:
    with running_sink() as other:
        cloudinary.uploader.upload(b"x", public_id="o", notification_url=other.url)
        cloudinary.uploader.add_tag("t", ["o"], notification_url=other.url)
        assert hooked.wait_deliveries_idle(5)
        assert [c.path for c in other.wait_for(2)] == ["/hook", "/hook"]
    assert sink.requests == []


def test_no_target_means_no_notification(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="quiet")
    assert emulator.wait_deliveries_idle(5)
    assert emulator.deliveries() == []


def test_delete_notifications_list_resources(
    hooked: Emulator, sink: NotificationSink
) -> None:
    a = cloudinary.uploader.upload(b"x", public_id="d/a")
    cloudinary.uploader.upload(b"x", public_id="d/b")
    cloudinary.uploader.upload(b"x", public_id="d/c")
    cloudinary.uploader.destroy("d/a")
    cloudinary.uploader.destroy("d/a")  # not found: nothing to announce
    cloudinary.api.delete_resources(["d/b", "d/c", "d/missing"])

    notes = _delivered(hooked, sink, 5)[3:]
    assert [n["notification_type"] for n in notes] == ["delete", "delete"]
    (gone,) = notes[0]["resources"]
    assert gone == {
        "resource_type": "image",
        "type": "upload",
        "asset_id": a["asset_id"],
        "public_id": "d/a",
        "version": a["version"],
        "asset_folder": "d",
        "display_name": "a",
    }
    assert [r["public_id"] for r in notes[1]["resources"]] == ["d/b", "d/c"]


def test_rename_tags_context_display_name_and_move_shapes(
    hooked: Emulator, sink: NotificationSink
) -> None:
    up = cloudinary.uploader.upload(
        b"x", public_id="a/old", tags=["old"], context={"gone": "1"}
    )
    cloudinary.uploader.rename("a/old", "a/new")
    cloudinary.api.update("a/new", tags=["sale"])
    cloudinary.uploader.add_context({"alt": "Red"}, ["a/new"])
    cloudinary.api.update("a/new", context={"alt": "Blue"})
    cloudinary.api.update("a/new", display_name="New name")
    cloudinary.api.update("a/new", asset_folder="b")

    notes = _delivered(hooked, sink, 7)
    types = [n["notification_type"] for n in notes]
    assert types == [
        "upload",
        "rename",
        "resource_tags_changed",
        "resource_context_changed",
        "resource_context_changed",
        "resource_display_name_changed",
        "move",
    ]
    rename, tags, ctx_add, ctx_update, name, move = notes[1:]
    assert (rename["from_public_id"], rename["to_public_id"]) == ("a/old", "a/new")
    assert rename["asset_id"] == up["asset_id"]
    assert tags["resources"] == [
        {
            "asset_id": up["asset_id"],
            "public_id": "a/new",
            "resource_type": "image",
            "type": "upload",
            "added": ["sale"],
            "removed": ["old"],
        }
    ]
    assert ctx_add["resources"]["a/new"]["added"] == [{"name": "alt", "value": "Red"}]
    changed = ctx_update["resources"]["a/new"]
    assert changed["updated"] == [{"name": "alt", "value": "Blue"}]
    assert changed["removed"] == [{"name": "gone", "value": "1"}]
    assert name["resources"]["a/new"]["new_display_name"] == "New name"
    assert move["resources"]["a/new"]["from_asset_folder"] == "a"
    assert move["resources"]["a/new"]["to_asset_folder"] == "b"


def test_failed_deliveries_are_retried_in_order(
    hooked: Emulator, sink: NotificationSink
) -> None:
    sink.fail_next = 2
    cloudinary.uploader.upload(b"x", public_id="first")
    cloudinary.uploader.upload(b"x", public_id="second")

    notes = _delivered(hooked, sink, 2)
    assert [n["public_id"] for n in notes] == ["first", "second"]
    log = hooked.client.deliveries()
    assert [(e["attempt"], e["status"], e["ok"]) for e in log] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
        (1, 200, True),
    ]
    assert all(e["url"] == sink.url and e["notification_type"] == "upload" for e in log)


def test_unreachable_target_is_given_up_after_the_attempts(emulator: Emulator) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    emulator.client.notifications(True, url=dead_url, attempts=2, base_delay=0.01)
    cloudinary.uploader.upload(b"x", public_id="lost")
    assert emulator.client.wait_deliveries_idle(5)
    log = emulator.client.deliveries()
    assert [e["attempt"] for e in log] == [1, 2]
    assert all(e["status"] is None and e["error"] for e in log)


def test_notifications_can_be_switched_off(
    hooked: Emulator, sink: NotificationSink
) -> None:
    hooked.client.notifications(False)
    cloudinary.uploader.upload(b"x", public_id="silent")
    assert hooked.wait_deliveries_idle(5)
    assert sink.requests == []


def test_seeding_sends_nothing(hooked: Emulator, sink: NotificationSink) -> None:
    hooked.client.seed(50)
    assert hooked.wait_deliveries_idle(5)
    assert sink.requests == []
