"""Structured-metadata values on assets through the SDK: checked against the fields,
defaults on upload, every way of writing them, reading them back, and the
`resource_metadata_changed` notification each change sends."""

from __future__ import annotations

import json
from typing import Any

import cloudinary.uploader
import pytest
from cloudinary import api
from cloudinary.exceptions import BadRequest

from cloudinary_emulator import Emulator
from cloudinary_emulator.metadata_values import UNKNOWN_FIELD
from tests.cloudinary_emulator.helpers import NotificationSink, png_bytes

PNG = png_bytes(2, 2)


@pytest.fixture
def fields(emulator: Emulator) -> Emulator:
    api.add_metadata_field(
        {"external_id": "caption", "label": "Caption", "type": "string"}
    )
    api.add_metadata_field(
        {
            "external_id": "stock",
            "label": "Stock",
            "type": "integer",
            "default_value": 1,
            "validation": {"type": "less_than", "equals": True, "value": 10},
        }
    )
    api.add_metadata_field(
        {
            "external_id": "colors",
            "label": "Colors",
            "type": "set",
            "datasource": {
                "values": [
                    {"external_id": "red", "value": "Red"},
                    {"external_id": "green", "value": "Green"},
                ]
            },
        }
    )
    api.add_metadata_field(
        {
            "external_id": "off",
            "label": "Off",
            "type": "string",
            "default_value": "unused",
            "default_disabled": True,
        }
    )
    return emulator


def _notes(em: Emulator, sink: NotificationSink, count: int) -> list[dict[str, Any]]:
    assert em.wait_deliveries_idle(5)
    return [json.loads(c.body) for c in sink.wait_for(count)]


def test_upload_applies_defaults_and_types_values(fields: Emulator) -> None:
    result = cloudinary.uploader.upload(
        PNG,
        public_id="a",
        metadata={"caption": "hi", "colors": ["red", "green"], "stock": "7"},
    )
    assert result["metadata"] == {
        "stock": 7,
        "caption": "hi",
        "colors": ["red", "green"],
    }
    assert cloudinary.uploader.upload(PNG, public_id="b")["metadata"] == {"stock": 1}
    assert api.resource("a")["metadata"] == result["metadata"]


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({"nosuch": "x"}, UNKNOWN_FIELD),
        ({"stock": "many"}, "stock value many is invalid"),
        ({"stock": 11}, "stock value 11 is invalid"),
        ({"colors": ["blue"]}, "colors value"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_stored(
    fields: Emulator, metadata: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        cloudinary.uploader.upload(PNG, public_id="bad", metadata=metadata)
    assert fields.client.asset("image", "upload", "bad") is None


def test_listings_and_search_return_metadata_on_request(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="l/1", tags=["t"], metadata="stock=3")
    listed = api.resources(prefix="l/", type="upload", metadata=True)["resources"]
    assert listed[0]["metadata"] == {"stock": 3}
    plain = api.resources(prefix="l/", type="upload")["resources"]
    assert "metadata" not in plain[0]
    by_tag = api.resources_by_tag("t", metadata=True)["resources"]
    assert by_tag[0]["metadata"] == {"stock": 3}

    search = cloudinary.Search().expression("metadata.stock=3").with_field("metadata")
    found = search.execute()["resources"]
    assert [(r["public_id"], r["metadata"]) for r in found] == [("l/1", {"stock": 3})]


def test_search_matches_set_values(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="s", metadata={"colors": ["red"]})
    found = cloudinary.Search().expression("metadata.colors=red").execute()
    assert [r["public_id"] for r in found["resources"]] == ["s"]


def test_update_metadata_action_on_several_assets(
    fields: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(PNG, public_id="m1")
    cloudinary.uploader.upload(PNG, public_id="m2")
    fields.client.notifications(True, url=sink.url)
    result = cloudinary.uploader.update_metadata(
        {"caption": "both"}, ["m1", "m2", "missing"]
    )
    assert result["public_ids"] == ["m1", "m2"]
    notes = _notes(fields, sink, 2)
    assert [n["notification_type"] for n in notes] == ["resource_metadata_changed"] * 2
    item = notes[0]["resources"]["m1"]
    assert item["new_metadata"] == {"stock": 1, "caption": "both"}
    assert item["previous_metadata"] == {"stock": 1}
    assert api.resource("m2")["metadata"]["caption"] == "both"
    assert "metadata_updated_at" in api.resource("m2")["last_updated"]


def test_an_unchanged_value_sends_nothing(
    fields: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(PNG, public_id="same", metadata={"caption": "c"})
    fields.client.notifications(True, url=sink.url)
    cloudinary.uploader.update_metadata({"caption": "c"}, ["same"])
    assert fields.wait_deliveries_idle(5)
    assert sink.requests == []


def test_an_empty_value_clears_the_field(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="c", metadata={"caption": "c"})
    cloudinary.uploader.update_metadata({"caption": ""}, ["c"])
    assert api.resource("c")["metadata"] == {"stock": 1}


def test_update_metadata_errors(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="e")
    with pytest.raises(BadRequest, match=UNKNOWN_FIELD):
        cloudinary.uploader.update_metadata({"nosuch": "x"}, ["e"])
    with pytest.raises(BadRequest, match="public_ids"):
        cloudinary.uploader.update_metadata({"caption": "x"}, [])


def test_clear_invalid_drops_bad_values_instead_of_failing(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="ci", metadata={"caption": "keep"})
    result = cloudinary.uploader.update_metadata(
        {"stock": "many", "nosuch": "x", "caption": "new"}, ["ci"], clear_invalid=True
    )
    assert result["public_ids"] == ["ci"]
    assert api.resource("ci")["metadata"] == {"caption": "new"}


def test_admin_update_and_explicit_write_metadata(
    fields: Emulator, sink: NotificationSink
) -> None:
    cloudinary.uploader.upload(PNG, public_id="w")
    fields.client.notifications(True, url=sink.url)
    updated = api.update("w", metadata={"caption": "admin"})
    assert updated["metadata"] == {"stock": 1, "caption": "admin"}
    explicit = cloudinary.uploader.explicit("w", type="upload", metadata={"stock": 2})
    assert explicit["metadata"] == {"stock": 2, "caption": "admin"}
    notes = _notes(fields, sink, 2)
    assert [n["notification_type"] for n in notes] == ["resource_metadata_changed"] * 2
    assert notes[1]["resources"]["w"]["new_metadata"]["stock"] == 2
    with pytest.raises(BadRequest, match=UNKNOWN_FIELD):
        api.update("w", metadata={"nosuch": "x"})
    with pytest.raises(BadRequest, match="stock value 12 is invalid"):
        cloudinary.uploader.explicit("w", type="upload", metadata={"stock": 12})
    assert api.resource("w")["metadata"] == {"stock": 2, "caption": "admin"}


def test_rename_returns_metadata_when_asked(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="r", metadata={"caption": "c"})
    renamed = cloudinary.uploader.rename("r", "r2", metadata=True)
    assert renamed["metadata"] == {"stock": 1, "caption": "c"}
    assert "metadata" not in cloudinary.uploader.rename("r2", "r3")


def test_a_mandatory_field_cannot_be_cleared(fields: Emulator) -> None:
    api.add_metadata_field(
        {
            "external_id": "must",
            "label": "Must",
            "type": "string",
            "mandatory": True,
            "default_value": "yes",
        }
    )
    assert cloudinary.uploader.upload(PNG, public_id="mf")["metadata"]["must"] == "yes"
    with pytest.raises(BadRequest, match="mandatory"):
        cloudinary.uploader.update_metadata({"must": ""}, ["mf"])


def test_deleting_a_field_removes_its_values(fields: Emulator) -> None:
    cloudinary.uploader.upload(PNG, public_id="d", metadata={"caption": "gone"})
    api.delete_metadata_field("caption")
    assert api.resource("d")["metadata"] == {"stock": 1}


def test_an_inactive_list_value_is_refused(fields: Emulator) -> None:
    api.delete_datasource_entries("colors", ["green"])
    with pytest.raises(BadRequest, match="green"):
        cloudinary.uploader.upload(PNG, metadata={"colors": ["green"]})
