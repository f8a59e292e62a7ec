"""Folders API through the real SDK (dynamic folders), with their notifications."""

from __future__ import annotations

import json

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary import SearchFolders
from cloudinary.exceptions import BadRequest, NotFound

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.helpers import NotificationSink, png_bytes

IMAGE = png_bytes(2, 2)


def _notes(sink: NotificationSink, count: int) -> list[dict[str, object]]:
    return [json.loads(c.body) for c in sink.wait_for(count)]


def test_create_list_and_delete_folders(
    emulator: Emulator, sink: NotificationSink
) -> None:
    emulator.client.notifications(True, url=sink.url)
    cloudinary.api.create_folder("a/b")
    assert cloudinary.api.root_folders()["folders"][0]["path"] == "a"
    sub = cloudinary.api.subfolders("a")
    assert [f["path"] for f in sub["folders"]] == ["a/b"]
    assert sub["total_count"] == 1
    with pytest.raises(NotFound):
        cloudinary.api.subfolders("nope")

    assert cloudinary.api.delete_folder("a")["deleted"] == ["a/b", "a"]
    assert cloudinary.api.root_folders()["folders"] == []
    notes = _notes(sink, 4)
    assert [n["notification_type"] for n in notes] == [
        "create_folder",
        "create_folder",
        "delete_folder",
        "delete_folder",
    ]
    assert notes[1]["folder_path"] == "a/b"
    assert notes[1]["folder_name"] == "b"


def test_asset_folder_implies_folder_and_blocks_delete(emulator: Emulator) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="one", asset_folder="shop/shoes")
    assert [f["path"] for f in cloudinary.api.subfolders("shop")["folders"]] == [
        "shop/shoes"
    ]
    with pytest.raises(BadRequest, match="not empty"):
        cloudinary.api.delete_folder("shop")


def test_rename_moves_the_assets(emulator: Emulator, sink: NotificationSink) -> None:
    cloudinary.uploader.upload(IMAGE, public_id="one", asset_folder="old/inner")
    emulator.client.notifications(True, url=sink.url)
    answer = cloudinary.api.rename_folder("old", "new")
    assert answer["to"] == {"name": "new", "path": "new"}
    assert cloudinary.api.resource("one")["asset_folder"] == "new/inner"
    assert [f["path"] for f in cloudinary.api.root_folders()["folders"]] == ["new"]
    note = _notes(sink, 1)[0]
    assert note["notification_type"] == "move_or_rename_asset_folder"
    assert (note["from_path"], note["to_path"]) == ("old", "new")
    with pytest.raises(NotFound):
        cloudinary.api.rename_folder("old", "x")


def test_search_folders(emulator: Emulator) -> None:
    for path in ("pics/cats", "pics/dogs", "docs"):
        cloudinary.api.create_folder(path)
    found = SearchFolders().expression("name=cats").execute()
    assert [f["path"] for f in found["folders"]] == ["pics/cats"]
    assert SearchFolders().expression("path:pics*").execute()["total_count"] == 3
    with pytest.raises(BadRequest):
        SearchFolders().expression("bogus(").execute()


def test_folder_paging(emulator: Emulator) -> None:
    for n in range(5):
        cloudinary.api.create_folder(f"f{n}")
    first = cloudinary.api.root_folders(max_results=3)
    assert len(first["folders"]) == 3
    second = cloudinary.api.root_folders(
        max_results=3, next_cursor=first["next_cursor"]
    )
    assert [f["path"] for f in second["folders"]] == ["f3", "f4"]
    assert second["next_cursor"] is None
    with pytest.raises(BadRequest):
        cloudinary.api.root_folders(max_results=0)
