"""Pure pieces checked directly: signatures against the SDK's vectors, the search
expression parser, time parsing, image sniffing and form decoding."""

from __future__ import annotations

import time

import cloudinary.utils
import pytest

from cloudinary_emulator.config import parse_cloudinary_url
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.expression import parse
from cloudinary_emulator.forms import parse_context, parse_form
from cloudinary_emulator.imageinfo import sniff
from cloudinary_emulator.signing import (
    check_upload_request,
    sign_notification,
    string_to_sign,
)
from cloudinary_emulator.store import Asset
from cloudinary_emulator.timefmt import parse_time, rfc1123
from tests.cloudinary_emulator.helpers import gif_bytes, jpeg_bytes, png_bytes


def test_notification_signature_known_answers() -> None:
    # pycloudinary test/test_utils.py test_verify_notification_signature
    body = (
        '{"notification_type":"eager","eager":[{"transformation":"sp_full_hd/mp4","bytes":1055,'
        '"url":"http://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4",'
        '"secure_url":"https://res.cloudinary.com/demo/video/upload/sp_full_hd/v1533125278/dog.mp4"}],'
        '"public_id":"dog","batch_id":"9b11fa058c61fa577f4ec516bf6ee756ac2aefef095af99aef1302142cc1694a"}'
    )
    assert (
        sign_notification(
            body.encode(), "1549533514", "X7qLTrsES31MzxxkxPPA-pAGGfU", "sha1"
        )
        == "dfe82de1d9083fe0b7ea68070649f9a15b8874da"
    )
    assert (
        sign_notification(b"{}", "0", "someApiSecret", "sha256")
        == "d5497e1a206ad0ba29ad09a7c0c5f22e939682d15009c15ab3199f62fefbd14b"
    )


def test_string_to_sign_matches_the_sdk() -> None:
    params: dict[str, str | list[str]] = {
        "public_id": "a&b",
        "timestamp": "1795402844",
        "tags": ["x", "y"],
        "empty": "",
    }
    sdk = cloudinary.utils.api_string_to_sign({k: v for k, v in params.items() if v})
    assert string_to_sign(params, "upload") == sdk
    assert "notification_url" not in string_to_sign(
        {"notification_url": "http://x", "timestamp": "1"}, "tags"
    )
    assert "notification_url" in string_to_sign(
        {"notification_url": "http://x"}, "upload"
    )


def test_check_upload_request_errors() -> None:
    now = str(int(time.time()))
    good = {"timestamp": now, "public_id": "p"}
    signature = cloudinary.utils.api_sign_request(good, "s")
    check_upload_request(
        {**good, "signature": signature, "api_key": "k"}, "upload", "k", "s", "sha1"
    )
    cases = [
        ({**good, "signature": signature}, 401, "Must supply api_key"),
        ({**good, "signature": signature, "api_key": "other"}, 401, "Unknown API key"),
        ({**good, "api_key": "k"}, 401, "signature"),
        ({"public_id": "p", "signature": signature, "api_key": "k"}, 400, "timestamp"),
    ]
    for params, status, message in cases:
        with pytest.raises(ApiError) as caught:
            check_upload_request(params, "upload", "k", "s", "sha1")
        assert caught.value.status == status
        assert message in caught.value.message


def _asset(**overrides: object) -> Asset:
    fields: dict[str, object] = {
        "asset_id": "0" * 32,
        "resource_type": "image",
        "type": "upload",
        "public_id": "a/b",
        "version": 1,
        "version_id": "1" * 32,
        "format": "jpg",
        "bytes": 10,
        "width": 1,
        "height": 1,
        "etag": "e",
        "created_at": 1_700_000_000,
        "uploaded_at": 1_700_000_000,
        "updated_at": 1_700_000_000.0,
        "asset_folder": "a",
        "display_name": "b",
        "original_filename": "b",
    }
    fields.update(overrides)
    return Asset(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("public_id:a/*", True),
        ("public_id:a", False),
        ("bytes>=10 AND bytes<11", True),
        ("bytes:[5 TO 10]", True),
        ("bytes:{5 TO 10}", False),
        ("created_at=1700000000", True),
        ("created_at:2023-11-14", True),
        ("a/b", True),
        ("format:jpg OR format:png AND bytes>100", True),
        ("(format:jpg OR format:png) AND bytes>100", False),
        ("NOT (tags:x)", True),
        ("width!=1", False),
    ],
)
def test_expression_semantics(expression: str, matches: bool) -> None:
    predicate, _ = parse(expression, time.time())
    assert predicate is not None
    assert predicate(_asset()) is matches


def test_relative_dates_mark_the_query_time_dependent() -> None:
    assert parse("uploaded_at>1d", time.time())[1] is True
    assert parse("uploaded_at>2024-01-01", time.time())[1] is False
    assert parse("", time.time()) == (None, False)


@pytest.mark.parametrize(
    "bad", ["(", "a:b)", "AND", "bytes>many", "uploaded_at<yesterday"]
)
def test_bad_expressions_raise_400(bad: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse(bad, time.time())
    assert caught.value.status == 400


def test_parse_time_formats() -> None:
    now = 1_800_000_000.0
    assert parse_time("1d", now) == now - 86400
    assert parse_time("30m", now) == now - 1800
    assert parse_time("1700000000", now) == 1_700_000_000
    assert parse_time("2023-11-14T22:13:20Z", now) == 1_700_000_000
    assert parse_time("2023-11-14 22:13:20", now) == 1_700_000_000
    assert parse_time("soon", now) is None
    assert rfc1123(0) == "Thu, 01 Jan 1970 00:00:00 GMT"


def test_sniff_image_headers() -> None:
    assert sniff(png_bytes(5, 6)) == ("png", 5, 6)
    assert sniff(gif_bytes(7, 8)) == ("gif", 7, 8)
    assert sniff(jpeg_bytes(9, 10)) == ("jpg", 9, 10)
    assert sniff(b"\xff\xd8\xff") is None
    assert sniff(b"plain") is None


def test_context_parsing_matches_sdk_encoding() -> None:
    values = {"alt": "a|b", "eq": "x=y", "slash": "c\\d", "empty": ""}
    assert parse_context(cloudinary.utils.encode_context(values)) == values


def test_multipart_parsing_keeps_arrays_and_files() -> None:
    from urllib3 import encode_multipart_formdata

    body, content_type = encode_multipart_formdata(
        [
            ("public_ids[]", "a"),
            ("public_ids[]", "b"),
            ("tag", "x"),
            ("file", ("pic.png", b"\x00\x01")),
        ]
    )
    form = parse_form(content_type, body)
    assert form.fields == {"public_ids": ["a", "b"], "tag": "x"}
    assert form.file is not None
    assert (form.file.filename, form.file.data) == ("pic.png", b"\x00\x01")


def test_parse_cloudinary_url() -> None:
    account = parse_cloudinary_url(
        "cloudinary://k:s%40x@MyCloud?signature_algorithm=sha256"
    )
    assert (account.cloud_name, account.api_key, account.api_secret) == (
        "MyCloud",
        "k",
        "s@x",
    )
    assert account.signature_algorithm == "sha256"
    for bad in (
        "cloudinary://cloud",
        "http://k:s@c",
        "cloudinary://k:s@c?signature_algorithm=md5",
    ):
        with pytest.raises(ValueError, match=r"CLOUDINARY_URL|signature_algorithm"):
            parse_cloudinary_url(bad)
