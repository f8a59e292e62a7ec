"""Transformations API through the real SDK: named and implicit transformations."""

from __future__ import annotations

import cloudinary.api
import pytest
from cloudinary.exceptions import BadRequest, NotFound

from cloudinary_emulator import Emulator


def _with_derived(emulator: Emulator, public_id: str, transformation: str) -> None:
    emulator.client.seed(1, prefix=public_id)
    asset = emulator.store.get("image", "upload", f"{public_id}000000")
    assert asset is not None
    asset.derived.append(
        {
            "id": f"d{len(asset.derived)}{public_id}",
            "transformation": transformation,
            "format": "jpg",
            "bytes": 10,
            "url": "http://example.invalid/d.jpg",
            "secure_url": "https://example.invalid/d.jpg",
        }
    )


def test_named_transformation_lifecycle(emulator: Emulator) -> None:
    cloudinary.api.create_transformation("thumb", {"crop": "scale", "width": 102})
    got = cloudinary.api.transformation("thumb")
    assert got["info"] == [{"crop": "scale", "width": 102}]
    assert (got["named"], got["used"], got["name"]) == (True, False, "t_thumb")
    assert cloudinary.api.transformation("t_thumb")["name"] == "t_thumb"

    cloudinary.api.update_transformation(
        "thumb", unsafe_update={"crop": "fill", "width": 103}
    )
    assert cloudinary.api.transformation("thumb")["info"] == [
        {"crop": "fill", "width": 103}
    ]
    cloudinary.api.update_transformation("thumb", allowed_for_strict=True)
    assert cloudinary.api.transformation("thumb")["allowed_for_strict"] is True

    cloudinary.api.delete_transformation("thumb")
    with pytest.raises(NotFound):
        cloudinary.api.transformation("thumb")


def test_duplicate_and_bad_definitions_are_refused(emulator: Emulator) -> None:
    cloudinary.api.create_transformation("once", "c_scale,w_10")
    with pytest.raises(Exception, match="already exists"):
        cloudinary.api.create_transformation("once", "c_scale,w_20")
    with pytest.raises(BadRequest):
        cloudinary.api.create_transformation("bad", "not a transformation")
    with pytest.raises(NotFound):
        cloudinary.api.delete_transformation("never_made")


def test_implicit_transformations_come_from_derived_resources(
    emulator: Emulator,
) -> None:
    _with_derived(emulator, "pic", "w_100,c_scale")
    listed = cloudinary.api.transformations()["transformations"]
    assert {"name": "c_scale,w_100", "allowed_for_strict": False}.items() <= listed[
        0
    ].items()
    assert listed[0]["used"] is True
    # found by dict, by string in any parameter order
    details = cloudinary.api.transformation({"crop": "scale", "width": 100})
    assert details["info"] == [{"crop": "scale", "width": 100}]
    assert [d["public_id"] for d in details["derived"]] == ["pic000000"]
    assert cloudinary.api.transformations(named=True)["transformations"] == []

    cloudinary.api.delete_transformation("w_100,c_scale")
    assert cloudinary.api.resource("pic000000")["derived"] == []
    assert cloudinary.api.transformations()["transformations"] == []


def test_transformation_listing_pages(emulator: Emulator) -> None:
    for width in range(1, 6):
        cloudinary.api.create_transformation(f"t{width}", f"w_{width}")
    names: list[str] = []
    cursor = None
    while True:
        page = cloudinary.api.transformations(max_results=2, next_cursor=cursor)
        names += [t["name"] for t in page["transformations"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert names == [f"t_t{w}" for w in range(1, 6)]
    with pytest.raises(BadRequest):
        cloudinary.api.transformations(next_cursor="garbage")
