"""Search API through cloudinary.Search: expressions, sorting, cursors, with_field."""

from __future__ import annotations

import time

import cloudinary
import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import BadRequest

from cloudinary_emulator import Emulator


def _ids(expression: str, **sort: str) -> list[str]:
    search = cloudinary.Search().expression(expression).max_results(500)
    for field, direction in (sort or {"public_id": "asc"}).items():
        search = search.sort_by(field, direction)
    return [r["public_id"] for r in search.execute()["resources"]]


@pytest.fixture
def catalog(emulator: Emulator) -> Emulator:
    cloudinary.uploader.upload(b"x", public_id="shoes/red", tags=["sale", "red"])
    cloudinary.uploader.upload(b"x", public_id="shoes/blue", tags=["blue"])
    cloudinary.uploader.upload(b"x", public_id="shoes/kids/green", tags=["sale"])
    cloudinary.uploader.upload(
        b"x", public_id="hats/red", tags=["red"], asset_folder="hats"
    )
    cloudinary.uploader.upload(b"x", public_id="clip", resource_type="video")
    cloudinary.uploader.upload(
        b"x", public_id="secret", type="private", context={"alt": "a b"}
    )
    return emulator


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "",
            [
                "clip",
                "hats/red",
                "secret",
                "shoes/blue",
                "shoes/kids/green",
                "shoes/red",
            ],
        ),
        ("resource_type:video", ["clip"]),
        ("type=private", ["secret"]),
        ("public_id:shoes/*", ["shoes/blue", "shoes/kids/green", "shoes/red"]),
        ("public_id=hats/red", ["hats/red"]),
        ("tags:sale", ["shoes/kids/green", "shoes/red"]),
        ("tags=red AND public_id:shoes*", ["shoes/red"]),
        ("tags:blue OR tags:sale AND public_id:hats*", ["shoes/blue"]),
        ("(tags:blue OR tags:sale) AND folder:shoes", ["shoes/blue", "shoes/red"]),
        ("folder:shoes/*", ["shoes/blue", "shoes/kids/green", "shoes/red"]),
        ("asset_folder=hats", ["hats/red"]),
        ("tags:red -public_id:hats/red", ["shoes/red"]),
        ("NOT resource_type:image", ["clip"]),
        ('context.alt:"a b"', ["secret"]),
        ("uploaded_at>1d AND tags:blue", ["shoes/blue"]),
        ("created_at<1d", []),
    ],
)
def test_expressions(catalog: Emulator, expression: str, expected: list[str]) -> None:
    assert _ids(expression) == expected


def test_date_comparisons_accept_iso_and_unix(catalog: Emulator) -> None:
    earlier = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 120))
    later = int(time.time()) + 120
    assert len(_ids(f'uploaded_at>="{earlier}"')) == 6
    assert len(_ids(f"created_at<{later} AND created_at>{earlier}")) == 6
    assert _ids(f"uploaded_at>{later}") == []
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(_ids(f"uploaded_at:{today}")) == 6


def test_sort_by_and_default_order(catalog: Emulator) -> None:
    assert _ids("tags:red", public_id="desc") == ["shoes/red", "hats/red"]
    result = cloudinary.Search().expression("").execute()  # created_at desc by default
    assert result["total_count"] == 6
    assert "next_cursor" not in result


def test_with_field_adds_tags_and_context(catalog: Emulator) -> None:
    plain = cloudinary.Search().expression("public_id=secret").execute()["resources"][0]
    rich = (
        cloudinary.Search()
        .expression("public_id=secret")
        .with_field("tags")
        .with_field("context")
        .execute()["resources"][0]
    )
    assert "tags" not in plain
    assert rich["tags"] == []
    assert rich["context"] == {"alt": "a b"}  # Search gives context flat, unlike Admin
    assert {"uploaded_at", "last_updated", "asset_id"} <= set(plain)


def test_cursor_paging_covers_every_match_once(emulator: Emulator) -> None:
    emulator.client.seed(1234, prefix="s/")
    seen: list[str] = []
    cursor = None
    while True:
        search = cloudinary.Search().expression("public_id:s/*").max_results(500)
        search = search.sort_by("public_id", "asc")
        if cursor:
            search = search.next_cursor(cursor)
        page = search.execute()
        assert page["total_count"] == 1234
        seen.extend(r["public_id"] for r in page["resources"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert seen == [f"s/{n:06d}" for n in range(1234)]


def test_incremental_sync_on_updated_at(emulator: Emulator) -> None:
    emulator.client.seed(20, prefix="inc/")
    with emulator.store.lock:
        for asset in emulator.store.snapshot():
            asset.updated_at -= 3600
        emulator.store.touch()
    cloudinary.api.update("inc/000003", tags=["x"])
    cloudinary.uploader.rename("inc/000007", "inc/renamed")
    changed = _ids("updated_at>10m")
    assert changed == ["inc/000003", "inc/renamed"]
    assert _ids("last_updated>10m", updated_at="desc") == ["inc/renamed", "inc/000003"]


def test_max_results_limits_and_bad_expressions(catalog: Emulator) -> None:
    assert cloudinary.Search().max_results(0).execute()["resources"] == []
    with pytest.raises(BadRequest):
        cloudinary.Search().max_results(501).execute()
    for bad in ("(tags:a", "nosuchfield:x", "uploaded_at>soon", 'tags:"unterminated'):
        with pytest.raises(BadRequest):
            cloudinary.Search().expression(bad).execute()
    with pytest.raises(BadRequest):
        cloudinary.Search().sort_by("nonsense").execute()


def test_search_counts_against_the_rate_limit(catalog: Emulator) -> None:
    result = cloudinary.Search().expression("").execute()
    assert result.rate_limit_allowed == 500
    assert result.rate_limit_remaining < 500
