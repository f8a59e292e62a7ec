"""Structured-metadata definitions through the SDK: fields, datasources, rules, and the
errors Cloudinary answers for bad definitions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from cloudinary import api
from cloudinary.exceptions import BadRequest, NotFound

from cloudinary_emulator import Emulator

COLORS = [
    {"external_id": "red", "value": "Red"},
    {"external_id": "green", "value": "Green"},
    {"value": "Blue"},
]


def _set_field(external_id: str = "colors", kind: str = "set") -> dict[str, Any]:
    result: dict[str, Any] = api.add_metadata_field(
        {
            "external_id": external_id,
            "label": external_id.title(),
            "type": kind,
            "datasource": {"values": COLORS},
        }
    )
    return result


def test_create_get_list_delete_a_string_field(emulator: Emulator) -> None:
    created = api.add_metadata_field(
        {"external_id": "caption", "label": "Caption", "type": "string"}
    )
    assert created == {
        "type": "string",
        "external_id": "caption",
        "label": "Caption",
        "mandatory": False,
        "default_disabled": False,
        "validation": None,
        "default_value": None,
        "restrictions": {"readonly_ui": False},
    }
    assert api.metadata_field_by_field_id("caption") == created
    assert api.list_metadata_fields()["metadata_fields"] == [created]

    assert api.delete_metadata_field("caption") == {"message": "ok"}
    assert api.list_metadata_fields()["metadata_fields"] == []
    with pytest.raises(NotFound, match="caption"):
        api.metadata_field_by_field_id("caption")


def test_an_absent_external_id_is_generated(emulator: Emulator) -> None:
    created = api.add_metadata_field({"label": "Anything", "type": "integer"})
    assert uuid.UUID(created["external_id"])
    assert api.metadata_field_by_field_id(created["external_id"])["label"] == "Anything"


def test_a_reset_empties_fields_and_rules(emulator: Emulator) -> None:
    _set_field()
    emulator.client.reset()
    assert api.list_metadata_fields()["metadata_fields"] == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ({"label": "x"}, "Missing required parameter - type"),
        ({"label": "x", "type": "float"}, "Invalid value float for parameter type"),
        ({"type": "string"}, "Missing required parameter - label"),
        ({"label": "x", "type": "enum"}, "Missing required parameter - datasource"),
        (
            {"label": "x", "type": "set", "datasource": {"values": []}},
            "Datasource values must be a non empty array",
        ),
        ({"label": "x", "type": "integer", "default_value": "ten"}, "default_value"),
        (
            {"label": "x", "type": "string", "mandatory": True},
            "A mandatory field must have a default value",
        ),
        (
            {"label": "x", "type": "string", "validation": {"type": "less_than"}},
            "Validation less_than is not supported for type string",
        ),
        (
            {"label": "x", "type": "integer", "validation": {"type": "nope"}},
            "Validation type is invalid",
        ),
        (
            {
                "label": "x",
                "type": "string",
                "default_value": "toolong",
                "validation": {"type": "strlen", "max": 3},
            },
            "default_value is invalid",
        ),
    ],
)
def test_bad_definitions_are_refused(
    emulator: Emulator, definition: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        api.add_metadata_field(definition)
    assert api.list_metadata_fields()["metadata_fields"] == []


def test_a_duplicate_external_id_is_refused(emulator: Emulator) -> None:
    api.add_metadata_field({"external_id": "dup", "label": "D", "type": "string"})
    with pytest.raises(BadRequest, match="external id dup already exists"):
        api.add_metadata_field({"external_id": "dup", "label": "D", "type": "date"})


def test_default_values_are_checked_against_the_validation(
    emulator: Emulator,
) -> None:
    window = {
        "type": "and",
        "rules": [
            {"type": "greater_than", "equals": False, "value": "2024-01-01"},
            {"type": "less_than", "equals": True, "value": "2024-12-31"},
        ],
    }
    field = {"label": "When", "type": "date", "validation": window}
    ok = api.add_metadata_field({**field, "default_value": "2024-12-31"})
    assert ok["default_value"] == "2024-12-31"
    assert ok["validation"] == window
    with pytest.raises(BadRequest, match="default_value is invalid"):
        api.add_metadata_field({**field, "default_value": "2024-01-01"})
    with pytest.raises(BadRequest, match="default_value is invalid"):
        api.add_metadata_field({**field, "default_value": "2024-02-30"})


def test_update_keeps_external_id_and_type(emulator: Emulator) -> None:
    api.add_metadata_field({"external_id": "n", "label": "N", "type": "integer"})
    updated = api.update_metadata_field(
        "n",
        {
            "external_id": "other",
            "type": "string",
            "label": "Count",
            "default_value": 3,
        },
    )
    assert (updated["external_id"], updated["type"]) == ("n", "integer")
    assert (updated["label"], updated["default_value"]) == ("Count", 3)
    with pytest.raises(BadRequest, match="default_value is invalid"):
        api.update_metadata_field("n", {"default_value": "three"})
    with pytest.raises(NotFound):
        api.update_metadata_field("missing", {"label": "x"})


def test_datasource_entries_get_ids_and_states(emulator: Emulator) -> None:
    field = _set_field()
    values = field["datasource"]["values"]
    assert [v["value"] for v in values] == ["Red", "Green", "Blue"]
    assert {v["state"] for v in values} == {"active"}
    assert values[2]["external_id"]  # generated


def test_datasource_update_merges_by_external_id(emulator: Emulator) -> None:
    _set_field()
    result = api.update_metadata_field_datasource(
        "colors", [{"external_id": "red", "value": "Crimson"}, {"value": "Black"}]
    )
    assert [v["value"] for v in result["values"]] == [
        "Crimson",
        "Green",
        "Blue",
        "Black",
    ]
    assert result["values"][0] == {"external_id": "red", "value": "Crimson"}


def test_datasource_delete_is_soft_and_restorable(emulator: Emulator) -> None:
    _set_field()
    left = api.delete_datasource_entries("colors", ["red"])
    assert [v["value"] for v in left["values"]] == ["Green", "Blue"]
    states = {
        v["external_id"]: v["state"]
        for v in api.metadata_field_by_field_id("colors")["datasource"]["values"]
    }
    assert states["red"] == "inactive"

    back = api.restore_metadata_field_datasource("colors", ["red"])
    assert [v["value"] for v in back["values"]] == ["Red", "Green", "Blue"]
    with pytest.raises(NotFound, match="nope"):
        api.delete_datasource_entries("colors", ["nope"])


def test_datasource_order_by_value(emulator: Emulator) -> None:
    _set_field()
    desc = api.reorder_metadata_field_datasource("colors", "value", "desc")
    assert [v["value"] for v in desc["values"]] == ["Red", "Green", "Blue"]
    asc = api.reorder_metadata_field_datasource("colors", "value")
    assert [v["value"] for v in asc["values"]] == ["Blue", "Green", "Red"]
    with pytest.raises(BadRequest, match="order_by"):
        api.reorder_metadata_field_datasource("colors", "external_id")


def test_datasource_calls_on_a_plain_field_are_refused(emulator: Emulator) -> None:
    api.add_metadata_field({"external_id": "s", "label": "S", "type": "string"})
    with pytest.raises(BadRequest, match="no datasource"):
        api.update_metadata_field_datasource("s", [{"value": "x"}])
    with pytest.raises(NotFound):
        api.delete_datasource_entries("missing", ["x"])


def test_reorder_fields(emulator: Emulator) -> None:
    for external_id, label in (("b", "Beta"), ("a", "Gamma"), ("c", "Alpha")):
        api.add_metadata_field(
            {"external_id": external_id, "label": label, "type": "string"}
        )
    api.reorder_metadata_fields("label", "asc")
    listed = api.list_metadata_fields()["metadata_fields"]
    assert [f["label"] for f in listed] == ["Alpha", "Beta", "Gamma"]
    api.reorder_metadata_fields("external_id", "desc")
    listed = api.list_metadata_fields()["metadata_fields"]
    assert [f["external_id"] for f in listed] == ["c", "b", "a"]
    api.reorder_metadata_fields("created_at")
    listed = api.list_metadata_fields()["metadata_fields"]
    assert [f["external_id"] for f in listed] == ["b", "a", "c"]
    with pytest.raises(BadRequest, match="order_by"):
        api.reorder_metadata_fields("size")


def test_rules_create_list_update_delete(emulator: Emulator) -> None:
    _set_field("colors")
    _set_field("shade", kind="enum")
    rule = api.add_metadata_rule(
        {
            "metadata_field_id": "shade",
            "name": "shade follows colors",
            "condition": {"metadata_field_id": "colors", "populated": True},
            "result": {"enable": True, "activate_values": "all"},
        }
    )
    assert rule["state"] == "active"
    assert api.list_metadata_rules()["metadata_rules"] == [rule]

    updated = api.update_metadata_rule(
        rule["external_id"], {"name": "renamed", "state": "inactive"}
    )
    assert (updated["name"], updated["state"]) == ("renamed", "inactive")
    assert updated["condition"] == rule["condition"]

    assert api.delete_metadata_rule(rule["external_id"]) == {"success": True}
    assert api.list_metadata_rules()["metadata_rules"] == []
    with pytest.raises(NotFound):
        api.delete_metadata_rule(rule["external_id"])


def test_bad_rules_are_refused(emulator: Emulator) -> None:
    _set_field()
    base = {
        "metadata_field_id": "colors",
        "name": "r",
        "condition": {},
        "result": {},
    }
    with pytest.raises(NotFound, match="missing"):
        api.add_metadata_rule({**base, "metadata_field_id": "missing"})
    with pytest.raises(BadRequest, match="Missing required parameter - name"):
        api.add_metadata_rule({k: v for k, v in base.items() if k != "name"})
    with pytest.raises(BadRequest, match="state"):
        api.add_metadata_rule({**base, "state": "paused"})
    with pytest.raises(NotFound):
        api.update_metadata_rule("missing", {"name": "x"})
