"""Upload API through the real SDK: upload, destroy, rename, tags, context, explicit."""

from __future__ import annotations

import base64
import re
import time

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import AuthorizationRequired, BadRequest, NotFound

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.conftest import configure_sdk
from tests.cloudinary_emulator.helpers import gif_bytes, jpeg_bytes, png_bytes


def test_upload_returns_the_documented_fields(emulator: Emulator) -> None:
    before = int(time.time())
    result = cloudinary.uploader.upload(
        png_bytes(3, 2), public_id="catalog/red shoe", tags=["sale", "new"]
    )

    assert re.fullmatch(r"[0-9a-f]{32}", result["asset_id"])
    assert result["public_id"] == "catalog/red shoe"
    assert result["version"] >= before
    assert re.fullmatch(r"[0-9a-f]{32}", result["version_id"])
    assert (result["width"], result["height"], result["format"]) == (3, 2, "png")
    assert result["resource_type"] == "image"
    assert result["type"] == "upload"
    assert result["tags"] == ["new", "sale"]  # Cloudinary keeps tags sorted
    assert result["bytes"] == len(png_bytes(3, 2))
    assert re.fullmatch(r"[0-9a-f]{32}", result["etag"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", result["created_at"])
    assert result["url"] == (
        f"http://res.cloudinary.com/demo/image/upload/v{result['version']}/catalog/red%20shoe.png"
    )
    assert result["secure_url"].startswith("https://res.cloudinary.com/demo/")
    assert result["asset_folder"] == "catalog"
    assert result["display_name"] == "red shoe"
    assert result["original_filename"] == "file"
    assert result["api_key"] == emulator.account.api_key
    assert result["placeholder"] is False
    assert re.fullmatch(r"[0-9a-f]{32}", result["request_id"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (gif_bytes(7, 5), ("gif", 7, 5)),
        (jpeg_bytes(640, 427), ("jpg", 640, 427)),
        (b"not an image", ("jpg", 640, 480)),
    ],
)
def test_upload_reads_image_headers_or_falls_back(
    emulator: Emulator, data: bytes, expected: tuple[str, int, int]
) -> None:
    result = cloudinary.uploader.upload(data, public_id="sniffed")
    assert (result["format"], result["width"], result["height"]) == expected


def test_upload_accepts_a_data_uri_and_records_a_remote_url(emulator: Emulator) -> None:
    uri = "data:image/png;base64," + base64.b64encode(png_bytes(4, 4)).decode()
    from_uri = cloudinary.uploader.upload(uri, public_id="from-uri")
    from_url = cloudinary.uploader.upload(
        "https://example.com/images/summer.jpg", public_id="from-url"
    )

    assert (from_uri["width"], from_uri["bytes"]) == (4, len(png_bytes(4, 4)))
    assert from_url["format"] == "jpg"
    assert from_url["original_filename"] == "summer"
    stored = emulator.client.asset("image", "upload", "from-url")
    assert stored is not None
    assert stored["source_url"] == "https://example.com/images/summer.jpg"


def test_upload_without_public_id_gets_a_random_one(emulator: Emulator) -> None:
    first = cloudinary.uploader.upload(b"x")
    second = cloudinary.uploader.upload(b"x")
    assert re.fullmatch(r"[a-z0-9]{20}", first["public_id"])
    assert first["public_id"] != second["public_id"]


def test_folder_prefixes_public_id_and_asset_folder_does_not(
    emulator: Emulator,
) -> None:
    fixed = cloudinary.uploader.upload(b"x", public_id="a", folder="shop/2026")
    dynamic = cloudinary.uploader.upload(b"x", public_id="b", asset_folder="shop/2026")

    assert (fixed["public_id"], fixed["asset_folder"]) == ("shop/2026/a", "shop/2026")
    assert (dynamic["public_id"], dynamic["asset_folder"]) == ("b", "shop/2026")


def test_context_round_trips_escaped_pipes_and_equals(emulator: Emulator) -> None:
    context = {"alt": "red | blue", "caption": "x=y", "plain": "ok"}
    result = cloudinary.uploader.upload(b"x", public_id="ctx", context=context)
    assert result["context"] == {"custom": context}
    assert cloudinary.api.resource("ctx")["context"] == {"custom": context}


def test_overwrite_keeps_asset_id_and_raises_version(emulator: Emulator) -> None:
    first = cloudinary.uploader.upload(png_bytes(1, 1), public_id="same")
    second = cloudinary.uploader.upload(png_bytes(2, 2), public_id="same")
    third = cloudinary.uploader.upload(png_bytes(3, 3), public_id="same")

    assert first["asset_id"] == second["asset_id"] == third["asset_id"]
    assert first["version"] < second["version"] < third["version"]
    assert second["overwritten"] is True
    assert cloudinary.api.resource("same")["width"] == 3


def test_version_rises_after_delete_and_reupload(emulator: Emulator) -> None:
    first = cloudinary.uploader.upload(b"x", public_id="phoenix")
    cloudinary.uploader.destroy("phoenix")
    again = cloudinary.uploader.upload(b"x", public_id="phoenix")
    assert again["version"] > first["version"]
    assert again["asset_id"] != first["asset_id"]


def test_overwrite_false_returns_the_existing_asset(emulator: Emulator) -> None:
    first = cloudinary.uploader.upload(png_bytes(1, 1), public_id="keep")
    second = cloudinary.uploader.upload(
        png_bytes(9, 9), public_id="keep", overwrite=False
    )
    assert second["existing"] is True
    assert second["version"] == first["version"]
    assert second["width"] == 1


def test_delivery_type_is_part_of_the_identity(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="doc", type="private")
    assert cloudinary.api.resource("doc", type="private")["type"] == "private"
    with pytest.raises(NotFound):
        cloudinary.api.resource("doc")


def test_ampersand_in_params_is_signed_as_v2(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(b"x", public_id="fish&chips")
    assert result["public_id"] == "fish&chips"


def test_wrong_secret_gives_invalid_signature(emulator: Emulator) -> None:
    with pytest.raises(
        AuthorizationRequired, match=r"Invalid Signature [0-9a-f]{40}\. String"
    ):
        cloudinary.uploader.upload(b"x", public_id="nope", api_secret="wrong")
    with pytest.raises(
        AuthorizationRequired, match="String to sign - 'public_id=nope&timestamp="
    ):
        cloudinary.uploader.destroy("nope", api_secret="wrong")
    assert emulator.client.count_assets() == 0


def test_stale_timestamp_is_rejected(emulator: Emulator) -> None:
    stale = str(int(time.time()) - 3700)
    with pytest.raises(BadRequest, match="Stale request"):
        cloudinary.uploader.call_api("destroy", {"timestamp": stale, "public_id": "x"})


def test_sha256_account_accepts_sha256_and_rejects_sha1() -> None:
    with Emulator(signature_algorithm="sha256") as em:
        configure_sdk(em)
        try:
            assert cloudinary.uploader.upload(b"x", public_id="s")["public_id"] == "s"
            with pytest.raises(AuthorizationRequired):
                cloudinary.uploader.destroy("s", signature_algorithm="sha1")
        finally:
            cloudinary.reset_config()


def test_destroy_reports_ok_then_not_found(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="folder/gone")
    assert cloudinary.uploader.destroy("folder/gone")["result"] == "ok"
    assert cloudinary.uploader.destroy("folder/gone")["result"] == "not found"


def test_rename_keeps_asset_id(emulator: Emulator) -> None:
    original = cloudinary.uploader.upload(b"x", public_id="a/old")
    renamed = cloudinary.uploader.rename("a/old", "a/new")

    assert renamed["public_id"] == "a/new"
    assert renamed["asset_id"] == original["asset_id"]
    assert cloudinary.api.resource("a/new")["asset_id"] == original["asset_id"]
    with pytest.raises(NotFound):
        cloudinary.api.resource("a/old")


def test_rename_errors_and_overwrite(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="one")
    taken = cloudinary.uploader.upload(b"x", public_id="two")

    with pytest.raises(NotFound, match="Resource not found - missing"):
        cloudinary.uploader.rename("missing", "anything")
    with pytest.raises(BadRequest, match="already exists"):
        cloudinary.uploader.rename("one", "two")

    result = cloudinary.uploader.rename("one", "two", overwrite=True)
    assert result["asset_id"] != taken["asset_id"]
    assert emulator.client.count_assets() == 1


def test_tag_commands(emulator: Emulator) -> None:
    for pid in ("t1", "t2"):
        cloudinary.uploader.upload(b"x", public_id=pid, tags=["base"])

    added = cloudinary.uploader.add_tag("sale", ["t1", "t2", "missing"])
    assert added["public_ids"] == ["t1", "t2"]
    assert cloudinary.api.resource("t1")["tags"] == ["base", "sale"]

    cloudinary.uploader.remove_tag("base", ["t1"])
    assert cloudinary.api.resource("t1")["tags"] == ["sale"]

    cloudinary.uploader.replace_tag(["x", "y"], ["t2"])
    assert cloudinary.api.resource("t2")["tags"] == ["x", "y"]

    cloudinary.uploader.remove_all_tags(["t1", "t2"])
    assert "tags" not in cloudinary.api.resource("t1")  # omitted when empty
    assert "tags" not in cloudinary.api.resource("t2")


def test_context_commands(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="c1", context={"a": "1"})
    cloudinary.uploader.add_context({"b": "2|3"}, ["c1"])
    assert cloudinary.api.resource("c1")["context"] == {
        "custom": {"a": "1", "b": "2|3"}
    }

    cloudinary.uploader.remove_all_context(["c1"])
    assert "context" not in cloudinary.api.resource("c1")


def test_explicit_returns_the_asset_and_updates_tags(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="ex", tags=["old"])
    result = cloudinary.uploader.explicit("ex", type="upload", tags=["new"])
    assert result["public_id"] == "ex"
    assert result["tags"] == ["new"]
    with pytest.raises(NotFound):
        cloudinary.uploader.explicit("nope", type="upload")


def test_upload_calls_are_not_charged_to_the_admin_budget(emulator: Emulator) -> None:
    emulator.client.set_rate_limit(limit=1, remaining=0)
    cloudinary.uploader.upload(b"x", public_id="free")
    cloudinary.uploader.destroy("free")
    assert emulator.client.counters()["upload"] == 1
