"""invalidate=true on deletes through the real SDK: the answer is unchanged, and the emulator
logs the CDN purge Cloudinary would make (GET /_emulator/invalidations)."""

from __future__ import annotations

import cloudinary.api
import cloudinary.uploader

from cloudinary_emulator import Emulator


def purged(emulator: Emulator) -> list[tuple[str, str, str, list[str]]]:
    return [
        (e["endpoint"], e["resource_type"], e["type"], e["public_ids"])
        for e in emulator.client.invalidations()
    ]


def test_delete_resources_with_invalidate_logs_what_it_deleted(
    emulator: Emulator,
) -> None:
    emulator.client.seed(2, prefix="inv/")
    plain = cloudinary.api.delete_resources(["inv/000000"])
    emulator.client.seed(1, prefix="inv/")

    asked = cloudinary.api.delete_resources(
        ["inv/000000", "inv/000001", "inv/missing"], invalidate=True
    )

    # the answer has the shape it has without the flag
    assert asked.keys() == plain.keys()
    assert asked["deleted"] == {
        "inv/000000": "deleted",
        "inv/000001": "deleted",
        "inv/missing": "not_found",
    }
    # only the call that asked, and only what it deleted (a missing asset has no copies)
    assert purged(emulator) == [
        ("delete_resources", "image", "upload", ["inv/000000", "inv/000001"])
    ]


def test_invalidate_false_or_absent_logs_nothing(emulator: Emulator) -> None:
    emulator.client.seed(3, prefix="keep/")
    cloudinary.api.delete_resources(["keep/000000"])
    cloudinary.api.delete_resources(["keep/000001"], invalidate=False)
    cloudinary.uploader.destroy("keep/000002")
    assert emulator.client.count_assets() == 0
    assert purged(emulator) == []


def test_destroy_with_invalidate_logs_its_asset_and_answers_ok(
    emulator: Emulator,
) -> None:
    cloudinary.uploader.upload(b"x", public_id="f/one", type="private")
    result = cloudinary.uploader.destroy("f/one", type="private", invalidate=True)
    assert result["result"] == "ok"
    again = cloudinary.uploader.destroy("f/one", type="private", invalidate=True)
    assert again["result"] == "not found"
    assert purged(emulator) == [("destroy", "image", "private", ["f/one"])]


def test_delete_by_prefix_and_by_asset_ids_accept_invalidate(
    emulator: Emulator,
) -> None:
    emulator.client.seed(2, prefix="pre/")
    emulator.client.seed(1, prefix="vid/", resource_type="video")
    cloudinary.api.delete_resources_by_prefix("pre/", invalidate=True)
    (video,) = emulator.client.assets(resource_type="video")
    cloudinary.api.delete_resources_by_asset_ids([video["asset_id"]], invalidate=True)

    assert purged(emulator) == [
        ("delete_resources", "image", "upload", ["pre/000000", "pre/000001"]),
        ("delete_by_asset_ids", "video", "upload", ["vid/000000"]),
    ]


def test_reset_empties_the_log(emulator: Emulator) -> None:
    emulator.client.seed(1, prefix="r/")
    cloudinary.api.delete_resources(["r/000000"], invalidate=True)
    assert len(emulator.invalidations()) == 1
    emulator.client.reset()
    assert emulator.client.invalidations() == []
