"""Upload API parameter handling through the real SDK: file kinds, naming, checks that
answer 400 (never 500), chunked uploads and unsigned uploads through a preset."""

from __future__ import annotations

import io
import struct

import cloudinary.api
import cloudinary.uploader
import pytest
from cloudinary import utils
from cloudinary.exceptions import BadRequest, Error

from cloudinary_emulator import Emulator
from cloudinary_emulator.imageinfo import sniff
from tests.cloudinary_emulator.helpers import png_bytes


def bmp_bytes(width: int, height: int, size: int) -> bytes:
    header = b"BM" + struct.pack("<IHHI", size, 0, 0, 54)
    info = struct.pack("<IiiHH", 40, width, -height, 1, 24) + b"\x00" * 24
    return (header + info).ljust(size, b"\xff")


def ico_bytes(width: int, height: int) -> bytes:
    entry = bytes([width % 256, height % 256]) + b"\x00" * 14
    return b"\x00\x00\x01\x00\x01\x00" + entry


def webp_bytes(width: int, height: int) -> bytes:
    body = b"VP8X" + b"\x0a\x00\x00\x00" + b"\x00" * 4
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"></svg>'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (bmp_bytes(1400, 1400, 200), ("bmp", 1400, 1400)),
        (ico_bytes(32, 32), ("ico", 32, 32)),
        (ico_bytes(0, 0), ("ico", 256, 256)),
        (webp_bytes(300, 200), ("webp", 300, 200)),
        (SVG, ("svg", 40, 30)),
        (b"%PDF-1.4\n/MediaBox [0 0 595 842]", ("pdf", 595, 842)),
        (b"PK\x03\x04rest", None),
    ],
)
def test_sniff_reads_the_size_of_each_format(
    data: bytes, expected: tuple[str, int, int] | None
) -> None:
    assert sniff(data) == expected


def test_upload_reports_real_size_and_format_for_each_kind(emulator: Emulator) -> None:
    for data, fmt, size in (
        (ico_bytes(16, 16), "ico", (16, 16)),
        (webp_bytes(10, 20), "webp", (10, 20)),
        (SVG, "svg", (40, 30)),
    ):
        result = cloudinary.uploader.upload(data)
        assert (result["format"], result["width"], result["height"]) == (fmt, *size)


def test_raw_files_keep_their_extension_and_images_refuse_them(
    emulator: Emulator,
) -> None:
    docx = io.BytesIO(b"PK\x03\x04word/document.xml")
    result = cloudinary.uploader.upload(
        docx, resource_type="raw", filename="report.docx", use_filename=True
    )
    assert result["resource_type"] == "raw"
    assert result["public_id"].startswith("report_")
    assert result["public_id"].endswith(".docx")
    assert "width" not in result
    with pytest.raises(BadRequest, match="Invalid image file"):
        cloudinary.uploader.upload(io.BytesIO(b"PK\x03\x04zip"), filename="a.docx")


def test_stream_without_a_name_is_called_stream(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(io.BytesIO(png_bytes(4, 3)))
    assert result["original_filename"] == "stream"
    assert (result["width"], result["height"]) == (4, 3)


def test_data_uri_with_line_breaks(emulator: Emulator) -> None:
    import base64

    encoded = base64.b64encode(png_bytes(16, 16)).decode()
    uri = "data:image/png;base64," + "\n".join(
        encoded[i : i + 30] for i in range(0, len(encoded), 30)
    )
    result = cloudinary.uploader.upload(uri)
    assert (result["width"], result["height"]) == (16, 16)
    assert result["original_filename"] == "file"


def test_naming_options(emulator: Emulator) -> None:
    named = cloudinary.uploader.upload(
        png_bytes(1, 1), filename="lögo.png", use_filename=True, unique_filename=False
    )
    assert named["public_id"] == named["original_filename"] == "lögo"
    prefixed = cloudinary.uploader.upload(
        png_bytes(1, 1),
        public_id="x",
        asset_folder="shelf/a",
        use_asset_folder_as_public_id_prefix=True,
        use_filename_as_display_name=True,
        filename_override="nice.png",
    )
    assert prefixed["public_id"] == "shelf/a/x"
    assert prefixed["asset_folder"] == "shelf/a"
    assert prefixed["display_name"] == "nice"
    assert prefixed["original_filename"] == "nice"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"transformation": {"raw_transformation": "c_nope,w_10"}},
            "Invalid transformation component - c_nope",
        ),
        (
            {"transformation": {"raw_transformation": "zz_1"}},
            "Invalid transformation component - zz_1",
        ),
        ({"eager": "w_10/xyz"}, "Invalid extension in transformation: xyz"),
        ({"format": "xyz"}, "Invalid extension in transformation: xyz"),
        ({"allowed_formats": ["jpg"]}, "Image format png not allowed"),
        ({"raw_convert": "illegal"}, "Raw convert is invalid"),
        ({"categorization": "illegal"}, "is not valid"),
        ({"detection": "illegal"}, "Detection invalid model 'illegal'"),
        ({"background_removal": "illegal"}, "is invalid"),
        ({"moderation": "bogus"}, "Invalid moderation kind bogus"),
        ({"type": "sprite"}, "Invalid value sprite for parameter type"),
        ({"public_id": "a<b"}, "for parameter public_id"),
        ({"access_control": '[{"access_type": "nobody"}]'}, "access_control"),
        ({"headers": "no colon here"}, "Invalid header"),
        (
            {
                "responsive_breakpoints": {
                    "transformation": {"raw_transformation": "zz_1"}
                }
            },
            "Invalid transformation component - zz_1",
        ),
    ],
)
def test_bad_parameters_answer_400(
    emulator: Emulator, options: dict[str, object], message: str
) -> None:
    with pytest.raises(BadRequest, match=message):
        cloudinary.uploader.upload(png_bytes(2, 2), **options)
    assert emulator.client.count_assets() == 0


def test_missing_file_and_unknown_explicit(emulator: Emulator) -> None:
    with pytest.raises(Error, match="Missing required parameter - file"):
        cloudinary.uploader.call_api("upload", {"timestamp": utils.now()})
    result = cloudinary.uploader.explicit("nope", type="upload", return_error=True)
    assert result["error"]["http_code"] == 404
    assert result["error"]["message"] == "Resource not found - nope"


def test_incoming_transformation_and_format_change_the_original(
    emulator: Emulator,
) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(200, 100),
        transformation={"width": 50, "crop": "scale"},
        format="jpg",
        allowed_formats=["jpg"],
    )
    assert (result["width"], result["height"], result["format"]) == (50, 25, "jpg")


def test_upload_large_joins_the_parts(emulator: Emulator) -> None:
    data = bmp_bytes(1400, 1400, 50_000)
    result = cloudinary.uploader.upload_large(
        io.BytesIO(data),
        chunk_size=20_000,
        resource_type="image",
        filename="big",
        use_filename=True,
        unique_filename=False,
        tags=["b", "a"],
    )
    assert result["public_id"] == "big"
    assert (result["width"], result["height"], result["bytes"]) == (1400, 1400, 50_000)
    assert result["tags"] == ["a", "b"]
    assert emulator.client.count_assets() == 1
    raw = cloudinary.uploader.upload_large(io.BytesIO(data), chunk_size=30_000)
    assert raw["resource_type"] == "raw"


def test_unsigned_upload_needs_an_unsigned_preset(emulator: Emulator) -> None:
    with pytest.raises(BadRequest, match="Upload preset not found"):
        cloudinary.uploader.unsigned_upload(png_bytes(1, 1), "missing")
    cloudinary.api.create_upload_preset(name="open", unsigned=True, tags="from-preset")
    result = cloudinary.uploader.unsigned_upload(png_bytes(1, 1), "open")
    assert result["tags"] == ["from-preset"]
    cloudinary.api.create_upload_preset(name="closed", unsigned=False)
    with pytest.raises(BadRequest, match="whitelisted for unsigned"):
        cloudinary.uploader.unsigned_upload(png_bytes(1, 1), "closed")


def test_async_upload_answers_pending(emulator: Emulator) -> None:
    result = cloudinary.uploader.upload(
        png_bytes(1, 1), public_id="later", **{"async": True}
    )
    assert result["status"] == "pending"
    assert emulator.client.asset("image", "upload", "later") is not None
