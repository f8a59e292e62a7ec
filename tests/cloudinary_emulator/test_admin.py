"""Admin API through the real SDK: listing, cursors, lookups, deletes, update, auth."""

from __future__ import annotations

import time

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.api_client.call_api import call_json_api
from cloudinary.exceptions import AuthorizationRequired, BadRequest, NotFound

from cloudinary_emulator import Emulator


def _all_pages(**options: object) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page = cloudinary.api.resources(next_cursor=cursor, **options)
        seen.extend(r["public_id"] for r in page["resources"])
        cursor = page.get("next_cursor")
        if not cursor:
            return seen


def test_ping(emulator: Emulator) -> None:
    assert cloudinary.api.ping() == {"status": "ok"}


@pytest.mark.parametrize("direction", ["desc", "asc"])
def test_cursor_paging_over_1234_assets_has_no_gaps_or_repeats(
    emulator: Emulator, direction: str
) -> None:
    emulator.client.seed(1234, prefix="page/")
    seen = _all_pages(type="upload", max_results=100, direction=direction)
    assert len(seen) == 1234
    assert set(seen) == {f"page/{n:06d}" for n in range(1234)}
    expected = sorted(
        seen, reverse=direction == "desc"
    )  # one created_at: public_id breaks ties
    assert seen == expected


def test_prefix_paging_is_sorted_by_public_id_and_stable_under_inserts(
    emulator: Emulator,
) -> None:
    emulator.client.seed(1234, prefix="p/")
    emulator.client.seed(10, prefix="other/")
    seen: list[str] = []
    cursor = None
    for round_number in range(100):
        page = cloudinary.api.resources(
            type="upload", prefix="p/", max_results=100, next_cursor=cursor
        )
        seen.extend(r["public_id"] for r in page["resources"])
        if round_number == 3:  # new assets before and after the cursor position
            cloudinary.uploader.upload(b"x", public_id="p/000000a")
            cloudinary.uploader.upload(b"x", public_id="p/zzz")
        cursor = page.get("next_cursor")
        if not cursor:
            break
    originals = [pid for pid in seen if pid not in ("p/000000a", "p/zzz")]
    assert originals == [f"p/{n:06d}" for n in range(1234)]
    assert seen.count("p/zzz") == 1  # inserted ahead of the cursor, so it is reached


def test_desc_listing_is_stable_when_new_uploads_arrive(emulator: Emulator) -> None:
    emulator.client.seed(300, prefix="s/")
    first = cloudinary.api.resources(type="upload", max_results=100)
    cloudinary.uploader.upload(b"x", public_id="s/late")
    rest = _all_pages(type="upload", max_results=100)  # restart to compare
    following: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        page = cloudinary.api.resources(
            type="upload", max_results=100, next_cursor=cursor
        )
        following.extend(r["public_id"] for r in page["resources"])
        cursor = page.get("next_cursor")
    ids = [r["public_id"] for r in first["resources"]] + following
    assert sorted(ids) == sorted(f"s/{n:06d}" for n in range(300))
    assert rest[0] == "s/late"


def test_default_page_size_and_limits(emulator: Emulator) -> None:
    emulator.client.seed(15)
    page = cloudinary.api.resources()
    assert len(page["resources"]) == 10
    assert page["next_cursor"]
    for bad in (0, 501):
        with pytest.raises(BadRequest):
            cloudinary.api.resources(max_results=bad)
    with pytest.raises(BadRequest, match="next_cursor"):
        cloudinary.api.resources(next_cursor="garbage")


def test_listing_without_type_includes_every_delivery_type(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="pub")
    cloudinary.uploader.upload(b"x", public_id="priv", type="private")
    both = {r["public_id"] for r in cloudinary.api.resources()["resources"]}
    uploads = {
        r["public_id"] for r in cloudinary.api.resources(type="upload")["resources"]
    }
    assert both == {"pub", "priv"}
    assert uploads == {"pub"}


def test_tags_and_context_only_on_request(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="t", tags=["a"], context={"k": "v"})
    plain = cloudinary.api.resources(type="upload")["resources"][0]
    rich = cloudinary.api.resources(type="upload", tags=True, context=True)[
        "resources"
    ][0]
    assert "tags" not in plain
    assert "context" not in plain
    assert rich["tags"] == ["a"]
    assert rich["context"] == {"custom": {"k": "v"}}


def test_start_at_filters_by_creation_time(emulator: Emulator) -> None:
    emulator.client.seed(3, prefix="old/")
    for asset in emulator.store.snapshot():
        emulator.store.remove(asset)
        asset.created_at -= 7200
        emulator.store.add(asset)
    cloudinary.uploader.upload(b"x", public_id="fresh")
    since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 60))
    page = cloudinary.api.resources(type="upload", start_at=since, direction="asc")
    assert [r["public_id"] for r in page["resources"]] == ["fresh"]


def test_get_one_by_public_id_with_slashes_and_spaces(emulator: Emulator) -> None:
    uploaded = cloudinary.uploader.upload(b"x", public_id="deep/folder/my pic:1")
    found = cloudinary.api.resource("deep/folder/my pic:1")
    assert found["asset_id"] == uploaded["asset_id"]
    assert "tags" not in found  # Cloudinary omits empty tags from the details
    assert found["derived"] == []
    assert found["etag"] == uploaded["etag"]
    assert "updated_at" in found["last_updated"]


def test_get_one_missing_is_404(emulator: Emulator) -> None:
    with pytest.raises(NotFound, match="Resource not found - no/such"):
        cloudinary.api.resource("no/such")


def test_lookup_by_asset_id_and_asset_ids(emulator: Emulator) -> None:
    a = cloudinary.uploader.upload(b"x", public_id="a")
    b = cloudinary.uploader.upload(b"x", public_id="b")
    assert cloudinary.api.resource_by_asset_id(a["asset_id"])["public_id"] == "a"
    found = cloudinary.api.resources_by_asset_ids(
        [a["asset_id"], b["asset_id"], "0" * 32]
    )
    assert [r["public_id"] for r in found["resources"]] == ["a", "b"]
    with pytest.raises(NotFound):
        cloudinary.api.resource_by_asset_id("f" * 32)


def test_resources_by_ids_and_the_100_id_limit(emulator: Emulator) -> None:
    emulator.client.seed(3, prefix="id/")
    found = cloudinary.api.resources_by_ids(["id/000000", "id/000002", "id/missing"])
    assert [r["public_id"] for r in found["resources"]] == ["id/000000", "id/000002"]
    hundred = [f"x{n}" for n in range(100)]
    assert cloudinary.api.resources_by_ids(hundred)["resources"] == []
    with pytest.raises(BadRequest):
        cloudinary.api.resources_by_ids([*hundred, "one-too-many"])


def test_delete_resources_reports_deleted_and_not_found(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="d/1")
    result = cloudinary.api.delete_resources(["d/1", "d/missing"], invalidate=True)
    assert result["deleted"] == {"d/1": "deleted", "d/missing": "not_found"}
    assert result["deleted_counts"]["d/1"] == {"original": 1, "derived": 0}
    assert result["partial"] is False
    assert emulator.client.asset("image", "upload", "d/1") is None


def test_delete_resources_allows_100_ids_and_refuses_101(emulator: Emulator) -> None:
    emulator.client.seed(101, prefix="many/")
    ids = [f"many/{n:06d}" for n in range(101)]
    with pytest.raises(BadRequest):
        cloudinary.api.delete_resources(ids)
    assert emulator.client.count_assets() == 101
    result = cloudinary.api.delete_resources(ids[:100])
    assert len(result["deleted"]) == 100
    assert emulator.client.count_assets() == 1


def test_delete_by_prefix_is_partial_above_1000(emulator: Emulator) -> None:
    emulator.client.seed(1500, prefix="bulk/")
    emulator.client.seed(5, prefix="keep/")
    first = cloudinary.api.delete_resources_by_prefix("bulk/")
    assert first["partial"] is True
    assert len(first["deleted"]) == 1000
    second = cloudinary.api.delete_resources_by_prefix(
        "bulk/", next_cursor=first["next_cursor"]
    )
    assert second["partial"] is False
    assert "next_cursor" not in second
    assert len(second["deleted"]) == 500
    assert emulator.client.count_assets() == 5


def test_delete_all_resources_only_touches_its_type(emulator: Emulator) -> None:
    emulator.client.seed(3, prefix="u/")
    emulator.client.seed(2, prefix="v/", resource_type="video")
    result = cloudinary.api.delete_all_resources()
    assert len(result["deleted"]) == 3
    assert emulator.client.count_assets() == 2


def test_delete_by_asset_ids(emulator: Emulator) -> None:
    a = cloudinary.uploader.upload(b"x", public_id="a")
    result = cloudinary.api.delete_resources_by_asset_ids([a["asset_id"], "0" * 32])
    assert result["deleted"] == {a["asset_id"]: "deleted", "0" * 32: "not_found"}
    assert emulator.client.count_assets() == 0


def test_update_replaces_tags_and_context_and_sets_names(emulator: Emulator) -> None:
    cloudinary.uploader.upload(b"x", public_id="u", tags=["a", "b"], context={"k": "v"})
    # Structured metadata only takes values for fields the account defines.
    cloudinary.api.add_metadata_field(
        {"external_id": "sku", "label": "SKU", "type": "string"}
    )
    result = cloudinary.api.update(
        "u",
        tags=["c"],
        context={"alt": "x|y"},
        display_name="Nice name",
        asset_folder="moved/here",
        metadata={"sku": "123"},
    )
    assert result["tags"] == ["c"]
    assert result["context"] == {"custom": {"alt": "x|y"}}
    assert result["display_name"] == "Nice name"
    assert result["asset_folder"] == "moved/here"
    assert result["metadata"] == {"sku": "123"}
    assert {"tags_updated_at", "context_updated_at"} <= set(result["last_updated"])
    assert "tags" not in cloudinary.api.update("u", tags=[])
    with pytest.raises(NotFound):
        cloudinary.api.update("missing", tags=["x"])


def test_update_by_asset_id_with_put(emulator: Emulator) -> None:
    a = cloudinary.uploader.upload(b"x", public_id="byid")
    result = call_json_api("put", ["resources", a["asset_id"]], {"display_name": "Put"})
    assert result["display_name"] == "Put"


def test_updated_at_moves_on_every_mutation(emulator: Emulator) -> None:
    def stamp(public_id: str) -> float:
        asset = emulator.store.get("image", "upload", public_id)
        assert asset is not None
        return asset.updated_at

    cloudinary.uploader.upload(b"x", public_id="m")
    stamps = [stamp("m")]
    cloudinary.uploader.add_tag("t", ["m"])
    stamps.append(stamp("m"))
    cloudinary.uploader.add_context({"k": "v"}, ["m"])
    stamps.append(stamp("m"))
    cloudinary.api.update("m", display_name="dn")
    stamps.append(stamp("m"))
    cloudinary.uploader.rename("m", "m2")
    stamps.append(stamp("m2"))
    cloudinary.uploader.upload(b"y", public_id="m2")
    stamps.append(stamp("m2"))
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    "credentials",
    [{"api_secret": "wrong"}, {"api_key": "999"}],
)
def test_admin_rejects_wrong_credentials(
    emulator: Emulator, credentials: dict[str, str]
) -> None:
    with pytest.raises(AuthorizationRequired, match="Invalid credentials"):
        cloudinary.api.resources(**credentials)


def test_wrong_cloud_name_is_refused(emulator: Emulator) -> None:
    with pytest.raises(AuthorizationRequired):
        cloudinary.api.ping(cloud_name="elsewhere")


def test_usage_has_a_plausible_shape(emulator: Emulator) -> None:
    emulator.client.seed(4)
    usage = cloudinary.api.usage()
    assert usage["resources"] == 4
    assert usage["objects"]["usage"] == 4
    assert {
        "plan",
        "storage",
        "bandwidth",
        "transformations",
        "rate_limit_allowed",
    } <= set(usage)


def test_resources_by_tag_and_by_context(emulator: Emulator) -> None:
    for n in range(5):
        cloudinary.uploader.upload(
            b"x",
            public_id=f"bt/{n}",
            tags=["hot"] if n % 2 else [],
            context={"n": str(n)},
        )
    tagged = cloudinary.api.resources_by_tag("hot", direction="asc", max_results=1)
    assert [r["public_id"] for r in tagged["resources"]] == ["bt/1"]
    rest = cloudinary.api.resources_by_tag(
        "hot", direction="asc", next_cursor=tagged["next_cursor"]
    )
    assert [r["public_id"] for r in rest["resources"]] == ["bt/3"]
    assert "next_cursor" not in rest
    by_value = cloudinary.api.resources_by_context("n", "4")
    assert [r["public_id"] for r in by_value["resources"]] == ["bt/4"]
    assert len(cloudinary.api.resources_by_context("n")["resources"]) == 5
