"""Admin API beyond list/get/delete: moderation, access control, derived resources,
backups and restore, account reads, presets and mappings, through the real SDK."""

from __future__ import annotations

import json

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import BadRequest, NotFound

from cloudinary_emulator import Emulator, restore
from tests.cloudinary_emulator.helpers import NotificationSink, png_bytes

IMAGE = png_bytes(2, 2)


def _derived(emulator: Emulator, public_id: str, *transformations: str) -> None:
    asset = emulator.store.get("image", "upload", public_id)
    assert asset is not None
    for n, transformation in enumerate(transformations):
        asset.derived.append(
            {
                "id": f"{public_id}-{n}",
                "transformation": transformation,
                "format": "jpg",
                "bytes": 5,
                "url": "http://example.invalid/x.jpg",
                "secure_url": "https://example.invalid/x.jpg",
            }
        )


def test_moderation_status_update_listing_and_notification(
    emulator: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="m")
    emulator.client.notifications(True, url=sink.url)
    answer = cloudinary.api.update("m", moderation_status="approved")
    assert answer["moderation"][0]["status"] == "approved"
    assert answer["moderation"][0]["kind"] == "manual"
    listed = cloudinary.api.resources_by_moderation("manual", "approved")
    assert [r["public_id"] for r in listed["resources"]] == ["m"]
    assert (
        cloudinary.api.resources_by_moderation("manual", "pending")["resources"] == []
    )
    note = json.loads(sink.wait_for(1)[0].body)
    assert note["notification_type"] == "moderation"
    assert (note["public_id"], note["moderation_status"]) == ("m", "approved")
    assert note["moderation_kind"] == "manual"
    with pytest.raises(BadRequest, match="Illegal value"):
        cloudinary.api.update("m", moderation_status="maybe")


def test_access_control_update_and_notification(
    emulator: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="a")
    emulator.client.notifications(True, url=sink.url)
    rule = {"access_type": "anonymous", "start": "2030-01-01T00:00:00Z"}
    answer = cloudinary.api.update("a", access_control=[rule])
    assert answer["access_control"] == [rule]
    note = json.loads(sink.wait_for(1)[0].body)
    assert note["notification_type"] == "access_control_changed"
    assert note["resources"][0]["public_id"] == "a"
    assert note["resources"][0]["access_control"] == [rule]
    with pytest.raises(BadRequest):
        cloudinary.api.update("a", access_control=[{"access_type": "sideways"}])


@pytest.mark.parametrize(
    "name", ["raw_convert", "categorization", "detection", "background_removal"]
)
def test_illegal_add_on_values_are_refused(emulator: Emulator, name: str) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="i")
    with pytest.raises(BadRequest, match="Illegal value"):
        cloudinary.api.update("i", **{name: "illegal"})


def test_derived_details_paging_and_deletes(emulator: Emulator) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="d")
    _derived(emulator, "d", "c_scale,w_1", "c_scale,w_2", "c_scale,w_3")
    first = cloudinary.api.resource("d", max_results=2)
    assert [x["id"] for x in first["derived"]] == ["d-0", "d-1"]
    rest = cloudinary.api.resource(
        "d", derived_next_cursor=first["derived_next_cursor"]
    )
    assert [x["id"] for x in rest["derived"]] == ["d-2"]

    gone = cloudinary.api.delete_derived_resources(["d-0", "zzz"])
    assert gone["deleted"] == {"d-0": "deleted", "zzz": "not_found"}
    answer = cloudinary.api.delete_derived_by_transformation("d", "w_2,c_scale")
    assert answer["deleted_counts"]["d"] == {"original": 0, "derived": 1}
    assert [x["id"] for x in cloudinary.api.resource("d")["derived"]] == ["d-2"]
    with pytest.raises(BadRequest):
        cloudinary.api.delete_derived_resources([])


def test_backup_delete_placeholder_and_restore(
    emulator: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="r")
    asset = emulator.store.get("image", "upload", "r")
    assert asset is not None
    restore.keep_backup(asset)
    cloudinary.api.delete_resources(["r"])
    placeholder = cloudinary.api.resource("r", versions=True)
    assert (placeholder["bytes"], placeholder["placeholder"]) == (0, True)
    assert len(placeholder["versions"]) == 1
    emulator.client.notifications(True, url=sink.url)
    answer = cloudinary.api.restore(["r", "never"])
    assert answer["r"]["bytes"] == len(IMAGE)
    assert "error" in answer["never"]
    assert cloudinary.api.resource("r")["placeholder"] is False
    note = json.loads(sink.wait_for(1)[0].body)
    assert note["notification_type"] == "restore_asset_version"
    assert note["public_id"] == "r"

    versions = [v["version_id"] for v in asset.backups]
    deleted = cloudinary.api.delete_backed_up_assets(asset.asset_id, versions)
    assert deleted["deleted_version_ids"] == versions
    with pytest.raises(NotFound):
        cloudinary.api.delete_backed_up_assets("0" * 32, ["x"])


def test_deleting_without_backup_leaves_nothing(emulator: Emulator) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="plain")
    cloudinary.api.delete_resources(["plain"])
    with pytest.raises(NotFound):
        cloudinary.api.resource("plain")


def test_account_reads(emulator: Emulator) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="t1", tags=["b", "a"])
    cloudinary.uploader.upload(IMAGE, public_id="t2", tags=["ab"])
    assert cloudinary.api.resource_types()["resource_types"] == ["image"]
    assert "settings" not in cloudinary.api.config()
    assert cloudinary.api.config(settings=True)["settings"]
    assert cloudinary.api.tags()["tags"] == ["a", "ab", "b"]
    assert cloudinary.api.tags(prefix="a")["tags"] == ["a", "ab"]
    assert cloudinary.api.resource("t1")["tags"] == ["a", "b"]
    removed = cloudinary.api.delete_resources_by_tag("a")
    assert removed["deleted"] == {"t1": "deleted"}


def test_upload_presets_and_mappings(emulator: Emulator) -> None:
    made = cloudinary.api.create_upload_preset(name="p1", folder="f", unsigned=True)
    assert made["name"] == "p1"
    preset = cloudinary.api.upload_preset("p1")
    assert preset["unsigned"] is True
    assert preset["settings"]["folder"] == "f"
    cloudinary.api.update_upload_preset("p1", tags=["x"])
    assert [p["name"] for p in cloudinary.api.upload_presets()["presets"]] == ["p1"]
    cloudinary.api.delete_upload_preset("p1")
    with pytest.raises(NotFound):
        cloudinary.api.upload_preset("p1")

    cloudinary.api.create_upload_mapping("wiki", template="http://a.example/")
    cloudinary.api.update_upload_mapping("wiki", template="http://b.example/")
    assert cloudinary.api.upload_mapping("wiki")["template"] == "http://b.example/"
    assert cloudinary.api.upload_mappings()["mappings"] == [
        {"folder": "wiki", "template": "http://b.example/"}
    ]
    cloudinary.api.delete_upload_mapping("wiki")
    with pytest.raises(NotFound):
        cloudinary.api.delete_upload_mapping("wiki")
    with pytest.raises(BadRequest):
        cloudinary.api.create_upload_mapping("nothing")


def test_related_assets_both_ways(emulator: Emulator) -> None:
    one = cloudinary.uploader.upload(IMAGE, public_id="one")
    two = cloudinary.uploader.upload(IMAGE, public_id="two")
    added = cloudinary.api.add_related_assets(
        "one", ["image/upload/two", "image/upload/x"]
    )
    assert [s["asset"] for s in added["success"]] == ["image/upload/two"]
    assert [f["asset"] for f in added["failed"]] == ["image/upload/x"]
    back = cloudinary.api.resource_by_asset_id(two["asset_id"], related=True)
    assert [r["public_id"] for r in back["related_assets"]] == ["one"]
    cloudinary.api.delete_related_assets_by_asset_ids(
        one["asset_id"], [two["asset_id"]]
    )
    assert cloudinary.api.resource("one", related=True)["related_assets"] == []
    with pytest.raises(NotFound):
        cloudinary.api.add_related_assets("missing", ["image/upload/one"])
    with pytest.raises(BadRequest):
        cloudinary.api.add_related_assets("one", [])


def test_publish_makes_authenticated_assets_public(
    emulator: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="p1", tags=["go"])
    asset = emulator.store.get("image", "upload", "p1")
    assert asset is not None
    asset.access_mode = "authenticated"
    emulator.client.notifications(True, url=sink.url)
    answer = cloudinary.api.publish_by_tag("go")
    assert [r["access_mode"] for r in answer["published"]] == ["public"]
    note = json.loads(sink.wait_for(1)[0].body)
    assert note["notification_type"] == "publish"
    with pytest.raises(BadRequest):
        cloudinary.api.publish_by_ids([f"x{n}" for n in range(101)])
