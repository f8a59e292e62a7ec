"""Derived resources and generated assets through the real SDK: eager, responsive
breakpoints, moderation, rename options, tags order, text, sprite, multi, explode."""

from __future__ import annotations

import json

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary.exceptions import BadRequest, NotFound

from cloudinary_emulator import Emulator
from tests.cloudinary_emulator.helpers import NotificationSink, png_bytes


def test_eager_fills_the_result_and_the_derived_list(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(241, 51),
        public_id="logo",
        eager=[
            {"crop": "scale", "width": "2.0"},
            {"width": 100, "crop": "fit", "format": "jpg"},
        ],
    )
    doubled, small = result["eager"]
    assert doubled["transformation"] == "c_scale,w_2.0"
    assert (doubled["width"], doubled["height"], doubled["format"]) == (482, 102, "png")
    assert doubled["url"] == (
        f"http://res.cloudinary.com/demo/image/upload/c_scale,w_2.0/v{result['version']}/logo.png"
    )
    assert small["transformation"] == "c_fit,w_100/jpg"
    assert (small["width"], small["height"]) == (100, 21)
    derived = cloudinary.api.resource("logo")["derived"]
    assert {d["transformation"] for d in derived} == {
        "c_scale,w_2.0",
        "c_fit,w_100/jpg",
    }
    assert {"id", "format", "bytes", "url", "secure_url"} <= set(derived[0])


def test_eager_async_sends_an_eager_notification(
    emulator: Emulator, sink: NotificationSink
) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(10, 10),
        public_id="later",
        eager="w_5",
        eager_async=True,
        eager_notification_url=sink.url,
    )
    assert "eager" not in result
    emulator.wait_deliveries_idle(5)
    bodies = [json.loads(c.body) for c in sink.wait_for(1)]
    eager = [b for b in bodies if b["notification_type"] == "eager"]
    assert eager[0]["public_id"] == "later"
    assert eager[0]["eager"][0]["transformation"] == "w_5"


def test_responsive_breakpoints_follow_the_transformed_size(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(241, 51),
        responsive_breakpoints=[
            {
                "create_derived": False,
                "transformation": {"angle": 45, "crop": "scale"},
                "format": "png",
            },
            {"create_derived": False, "transformation": {"angle": 90}},
        ],
    )
    rotated, upright = result["responsive_breakpoints"]
    assert rotated["transformation"] == "a_45,c_scale"
    assert [b["width"] for b in rotated["breakpoints"]] == [206, 50]
    assert rotated["breakpoints"][0]["url"].endswith(".png")
    assert upright["breakpoints"][0]["width"] == 51
    assert cloudinary.api.resource(result["public_id"])["derived"] == []


def test_manual_moderation_and_access_control(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(1, 1),
        moderation="manual",
        access_control=[{"access_type": "token"}],
    )
    assert result["moderation"] == [{"kind": "manual", "status": "pending"}]
    assert result["access_control"] == [{"access_type": "token"}]


def test_rename_returns_context_and_metadata_only_when_asked(
    emulator: Emulator,
) -> None:
    cloudinary.uploader.upload(png_bytes(1, 1), public_id="a", context={"k": "v"})
    plain = cloudinary.uploader.rename("a", "b")
    assert "context" not in plain
    rich = cloudinary.uploader.rename(
        "b", "c", context=True, metadata=True, to_type="private"
    )
    assert rich["context"] == {"custom": {"k": "v"}}
    assert rich["metadata"] == {}
    assert rich["type"] == "private"
    with pytest.raises(NotFound):
        cloudinary.uploader.rename("b", "d")
    with pytest.raises(BadRequest, match="to_type"):
        cloudinary.uploader.rename("c", "e", type="private", to_type="nonsense")


def test_tags_stay_sorted_and_empty_tags_are_omitted(emulator: Emulator) -> None:
    cloudinary.uploader.upload(png_bytes(1, 1), public_id="t", tags=["zeta"])
    cloudinary.uploader.add_tag(["beta", "alpha"], ["t"])
    assert cloudinary.api.resource("t")["tags"] == ["alpha", "beta", "zeta"]
    cloudinary.uploader.remove_all_tags(["t"])
    assert "tags" not in cloudinary.api.resource("t")


def test_text_creates_a_text_image(emulator: Emulator) -> None:
    result = cloudinary.uploader.text("hello world", public_id="greeting", font_size=20)
    assert result["type"] == "text"
    assert result["width"] > 1
    assert result["height"] > 1
    with pytest.raises(BadRequest, match="font_size"):
        cloudinary.uploader.text("x", font_size="big")


def test_sprite_and_multi_from_a_tag_or_urls(emulator: Emulator) -> None:
    one = cloudinary.uploader.upload(png_bytes(10, 5), public_id="s1", tags=["set"])
    cloudinary.uploader.upload(png_bytes(20, 7), public_id="s2", tags=["set"])
    sprite = cloudinary.uploader.generate_sprite("set", format="jpg", width=100)
    assert "f_jpg,w_100" in sprite["css_url"]
    assert sprite["image_infos"]["s2"] == {"width": 20, "height": 7, "x": 0, "y": 5}
    by_urls = cloudinary.uploader.generate_sprite(urls=[one["url"]])
    assert list(by_urls["image_infos"]) == ["s1"]
    animated = cloudinary.uploader.multi(tag="set", width="0.5", crop="crop")
    assert animated["url"].endswith(".gif")
    assert "c_crop,w_0.5" in animated["url"]
    assert animated["public_id"] == "set"
    pdf = cloudinary.uploader.multi(tag="set", format="pdf", public_id="book")
    assert pdf["url"].endswith("/book.pdf")
    with pytest.raises(NotFound):
        cloudinary.uploader.multi(tag="no-such-tag")


def test_explode_needs_an_existing_asset(emulator: Emulator) -> None:
    with pytest.raises(NotFound):
        cloudinary.uploader.explode("missing", page="all")
    cloudinary.uploader.upload(png_bytes(1, 1), public_id="doc")
    assert cloudinary.uploader.explode("doc", page="all")["status"] == "processing"
