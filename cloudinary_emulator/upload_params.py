"""Upload parameter checks and naming: what to reject, and the public_id/display_name
an upload gets. Checks run before anything is stored, so a bad call changes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

from cloudinary_emulator.errors import ApiError, bad_param
from cloudinary_emulator.files import random_public_id
from cloudinary_emulator.forms import Form
from cloudinary_emulator.upload_eager import check_breakpoints, check_eager
from cloudinary_emulator.upload_transformation import check_format, parse

DELIVERY_TYPES = ("upload", "private", "authenticated")
MAX_PUBLIC_ID = 255
# Characters no public_id can hold: they cannot appear in a delivery URL's path.
_BAD_PUBLIC_ID = re.compile(r"[\\<>\x00-\x1f]")
_MODERATION = re.compile(
    r"^(manual|webpurify|metascan|aws_rek|aws_rek_video|google_video_moderation"
    r"|perception_point|duplicate:[01](\.\d+)?)$"
)
_RAW_CONVERT = frozenset(
    {"aspose", "google_speech", "extract_text", "azure_video_indexer"}
)
_DETECTION_MODELS = re.compile(
    r"^(adv_face|aws_rek_face|captioning|iqa|watermark-detection|lvis|unidet|coco"
    r"|openimages|cld-fashion|cld-text|human-anatomy|shop-classifier)(_v\d+)?$"
)
_CATEGORIZATION = frozenset(
    {
        "google_tagging",
        "google_video_tagging",
        "imagga_tagging",
        "aws_rek_tagging",
        "azure_video_indexer",
    }
)
_BACKGROUND_REMOVAL = frozenset({"cloudinary_ai", "pixelz", "remove_the_background"})
_OCR = re.compile(r"^adv_ocr(:[a-z-]+)?$")
_ACCESS_TYPES = frozenset({"anonymous", "token"})


def check(form: Form) -> None:
    """Raise the 400 Cloudinary gives for the first bad parameter."""
    dtype = form.get("type")
    if dtype and dtype not in DELIVERY_TYPES:
        raise bad_param("type", dtype)
    public_id = form.get("public_id")
    if public_id:
        check_public_id(public_id)
    if form.get("format"):
        check_format(form.get("format"))
    for name in ("allowed_formats",):
        for item in form.list(name):
            if not re.fullmatch(r"[A-Za-z0-9]+", item.strip()):
                raise bad_param(name, item)
    if form.get("transformation"):
        parse(form.get("transformation"))
    if form.get("eager"):
        check_eager(form.get("eager"))
    if form.get("responsive_breakpoints"):
        check_breakpoints(form.get("responsive_breakpoints"))
    _check_addons(form)
    if form.get("headers"):
        check_headers(form.get("headers"))
    if form.get("access_control"):
        access_control(form.get("access_control"))


def check_public_id(public_id: str) -> None:
    if len(public_id) > MAX_PUBLIC_ID or _BAD_PUBLIC_ID.search(public_id):
        raise bad_param("public_id", public_id)


def _check_addons(form: Form) -> None:
    """Add-on parameters are checked for a known value; their analyses are not run."""
    moderation = form.get("moderation")
    for kind in moderation.split("|") if moderation else []:
        if not _MODERATION.match(kind):
            raise ApiError(400, f"Invalid moderation kind {kind}")
    raw_convert = form.get("raw_convert")
    for item in raw_convert.split(",") if raw_convert else []:
        if item.split(":")[0] not in _RAW_CONVERT:
            raise ApiError(400, f"Raw convert is invalid - {raw_convert}")
    categorization = form.get("categorization")
    for item in categorization.split(",") if categorization else []:
        if item.split(":")[0] not in _CATEGORIZATION:
            raise ApiError(400, f"Categorization item {item} is not valid")
    detection = form.get("detection")
    for item in detection.split(",") if detection else []:
        if not _DETECTION_MODELS.match(item.split(":")[0]):
            raise ApiError(400, f"Detection invalid model '{item}'")
    removal = form.get("background_removal")
    if removal and removal.split(":")[0] not in _BACKGROUND_REMOVAL:
        raise ApiError(400, f"Background removal {removal} is invalid")
    ocr = form.get("ocr")
    if ocr and not _OCR.match(ocr):
        raise ApiError(400, f"Ocr {ocr} is invalid")
    tagging = form.get("auto_tagging")
    if tagging:
        try:
            level = float(tagging)
        except ValueError:
            raise bad_param("auto_tagging", tagging) from None
        if not 0 <= level <= 1:
            raise bad_param("auto_tagging", tagging)


def check_headers(text: str) -> list[str]:
    """`Name: value` lines, as the SDK joins them with newlines."""
    lines = [line for line in text.split("\n") if line.strip()]
    for line in lines:
        name, sep, _ = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9-]+", name.strip()):
            raise ApiError(400, f"Invalid header {line}")
    return lines


def access_control(text: str) -> list[dict[str, Any]]:
    """The `access_control` JSON list: each rule has access_type anonymous or token."""
    try:
        value = json.loads(text)
    except ValueError:
        raise bad_param("access_control", text) from None
    rules = value if isinstance(value, list) else [value]
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("access_type") not in _ACCESS_TYPES:
            raise bad_param("access_control", text)
    return rules


def stem(filename: str) -> str:
    return filename.rpartition(".")[0] or filename


def extension(filename: str) -> str:
    head, dot, tail = filename.rpartition(".")
    return tail if dot and head else ""


def public_id(form: Form, original: str, resource_type: str) -> str:
    """The public_id an upload gets. Raw files keep their extension in it, as Cloudinary's do."""
    chosen = form.get("public_id").strip().strip("/")
    raw_ext = extension(original) if resource_type == "raw" else ""
    if not chosen:
        name = stem(original)
        if form.flag("use_filename", False) and name:
            if form.flag("unique_filename", True):
                name = f"{name}_{random_public_id(6)}"
        else:
            name = random_public_id()
        chosen = f"{name}.{raw_ext}" if raw_ext else name
    prefixes = [form.get("folder").strip("/")]
    if form.flag("use_asset_folder_as_public_id_prefix", False):
        prefixes = [form.get("asset_folder").strip("/")]
    prefixes.append(form.get("public_id_prefix").strip("/"))
    full = "/".join([*(p for p in prefixes if p), chosen])
    check_public_id(full)
    return full


def display_name(form: Form, original: str) -> str | None:
    """None keeps an existing asset's display name; a new one uses the last path part."""
    if form.get("display_name"):
        return form.get("display_name")
    if form.flag("use_filename_as_display_name", False):
        return stem(original)
    return None
