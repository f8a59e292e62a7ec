"""Upload API actions that make new assets out of text or other assets: `text`, `sprite`,
`multi`, `explode` and `generate_archive`. No pixels are drawn; sizes and URLs are what
Cloudinary would report for them."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from cloudinary_emulator.errors import ApiError, bad_param, not_found
from cloudinary_emulator.files import random_public_id
from cloudinary_emulator.forms import Form, parse_tags
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import upload_result
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.upload_form import signed_form
from cloudinary_emulator.upload_params import check_public_id
from cloudinary_emulator.upload_transformation import check_format, parse

Handler = Callable[[State, Request, str], Response]
_DEFAULT_FONT_SIZE = 12
_ARCHIVE_FORMATS = ("zip", "tgz")


def _new_asset(
    state: State,
    resource_type: str,
    dtype: str,
    public_id: str,
    fmt: str,
    size: tuple[int, int] | None,
    nbytes: int,
) -> Asset:
    """Store (or replace) a generated asset; the caller holds the store lock."""
    store = state.store
    now = time.time()
    existing = store.get(resource_type, dtype, public_id)
    if existing is not None:
        store.remove(existing)
    asset_id, version_id = random_hex(2)
    width, height = size if size else (None, None)
    asset = Asset(
        asset_id=asset_id,
        resource_type=resource_type,
        type=dtype,
        public_id=public_id,
        version=max(
            int(now), store.last_version((resource_type, dtype, public_id)) + 1
        ),
        version_id=version_id,
        format=fmt,
        bytes=nbytes,
        width=width,
        height=height,
        etag=hashlib.md5(
            f"{public_id}{now}".encode(), usedforsecurity=False
        ).hexdigest(),
        created_at=int(now),
        uploaded_at=int(now),
        updated_at=now,
        asset_folder="",
        display_name=public_id.rpartition("/")[2],
        original_filename=public_id.rpartition("/")[2],
    )
    store.add(asset)
    return asset


def text(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "text")
    content = form.get("text")
    if not content:
        raise ApiError(400, "Missing required parameter - text")
    size_text = form.get("font_size") or str(_DEFAULT_FONT_SIZE)
    if not size_text.isdigit() or int(size_text) == 0:
        raise bad_param("font_size", size_text)
    font_size = int(size_text)
    public_id = form.get("public_id") or random_public_id()
    check_public_id(public_id)
    lines = content.split("\n")
    # About 0.6 em per glyph and 1.2 em per line, the metrics of a typical sans font.
    width = max(1, round(max(len(line) for line in lines) * font_size * 0.6))
    height = max(1, round(len(lines) * font_size * 1.2))
    with state.store.lock:
        asset = _new_asset(
            state,
            "image",
            "text",
            public_id,
            "png",
            (width, height),
            width * height // 8,
        )
        body = upload_result(asset, state.account)
    return ok(body)


def _sources(state: State, form: Form) -> tuple[list[Asset], str]:
    """The images named by `tag` or by `urls`, and the default public_id for the result."""
    tag, urls = form.get("tag"), form.list("urls")
    if bool(tag) == bool(urls):
        raise ApiError(400, "Either tag or urls must be given, but not both")
    if tag:
        found = sorted(
            (
                a
                for a in state.store.snapshot()
                if a.resource_type == "image" and a.type == "upload" and tag in a.tags
            ),
            key=lambda a: a.public_id,
        )
        if not found:
            raise ApiError(404, f"No images found with tag {tag}")
        return found, tag
    assets = []
    for url in urls:
        asset = _asset_for_url(state, url)
        if asset is None:
            raise ApiError(400, f"Invalid image url {url}")
        assets.append(asset)
    return assets, random_public_id()


def _asset_for_url(state: State, url: str) -> Asset | None:
    """An asset of this cloud from its delivery URL: /<cloud>/<rt>/<type>/[v<n>/]<id>.<ext>."""
    parts = unquote(urlsplit(url).path).strip("/").split("/")
    if len(parts) < 4 or parts[0] != state.account.cloud_name:
        return None
    resource_type, dtype, rest = parts[1], parts[2], parts[3:]
    if rest and rest[0].startswith("v") and rest[0][1:].isdigit():
        rest = rest[1:]
    path = "/".join(rest)
    return state.store.get(resource_type, dtype, path) or state.store.get(
        resource_type, dtype, path.rpartition(".")[0]
    )


def _generated_url(
    state: State, kind: str, transformation: str, asset: Asset, ext: str, secure: bool
) -> str:
    scheme = "https" if secure else "http"
    middle = f"/{transformation}" if transformation else ""
    return (
        f"{scheme}://res.cloudinary.com/{state.account.cloud_name}/image/{kind}"
        f"{middle}/v{asset.version}/{asset.public_id}.{ext}"
    )


def _transformation(form: Form) -> str:
    text = form.get("transformation")
    if text:
        parse(text)
    return text


def _target_format(transformation: str, default: str) -> str:
    for component in transformation.split("/"):
        for part in component.split(","):
            if part.startswith("f_") and part != "f_auto":
                return check_format(part[2:])
    return default


def sprite(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "sprite")
    transformation = _transformation(form)
    with state.store.lock:
        images, default_id = _sources(state, form)
        public_id = form.get("public_id") or default_id
        check_public_id(public_id)
        infos: dict[str, Any] = {}
        top = 0
        for image in images:
            width, height = image.width or 0, image.height or 0
            infos[image.public_id] = {
                "width": width,
                "height": height,
                "x": 0,
                "y": top,
            }
            top += height
        wide = max((info["width"] for info in infos.values()), default=0)
        fmt = _target_format(transformation, "png")
        asset = _new_asset(
            state,
            "image",
            "sprite",
            public_id,
            fmt,
            (wide, top),
            sum(i.bytes for i in images),
        )
    body: dict[str, Any] = {
        "asset_id": asset.asset_id,
        "public_id": public_id,
        "version": asset.version,
    }
    for key, ext in (("css_url", "css"), ("image_url", fmt), ("json_url", "json")):
        body[key] = _generated_url(state, "sprite", transformation, asset, ext, False)
        body[f"secure_{key}"] = _generated_url(
            state, "sprite", transformation, asset, ext, True
        )
    body["image_infos"] = infos
    return ok(body)


def multi(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "multi")
    transformation = _transformation(form)
    fmt = _target_format(transformation, "gif")
    with state.store.lock:
        images, default_id = _sources(state, form)
        public_id = form.get("public_id") or default_id
        check_public_id(public_id)
        first = images[0]
        size = (first.width, first.height) if first.width and first.height else None
        asset = _new_asset(
            state, "image", "multi", public_id, fmt, size, sum(i.bytes for i in images)
        )
    return ok(
        {
            "asset_id": asset.asset_id,
            "public_id": public_id,
            "version": asset.version,
            "url": _generated_url(state, "multi", transformation, asset, fmt, False),
            "secure_url": _generated_url(
                state, "multi", transformation, asset, fmt, True
            ),
        }
    )


def explode(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "explode")
    public_id = form.get("public_id")
    if not public_id:
        raise ApiError(400, "Missing required parameter - public_id")
    if form.get("format"):
        check_format(form.get("format"))
    _transformation(form)
    if state.store.get(resource_type, form.get("type") or "upload", public_id) is None:
        raise not_found(public_id)
    return ok({"status": "processing", "batch_id": random_hex(1)[0]})


def generate_archive(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "generate_archive")
    target_format = form.get("target_format") or "zip"
    if target_format not in _ARCHIVE_FORMATS:
        raise bad_param("target_format", target_format)
    tags, public_ids, prefixes = (
        form.list("tags"),
        form.list("public_ids"),
        form.list("prefixes"),
    )
    if not (tags or public_ids or prefixes or form.list("fully_qualified_public_ids")):
        raise ApiError(400, "Missing required parameter - tags, public_ids or prefixes")
    dtype = form.get("type") or "upload"
    with state.store.lock:
        chosen = [
            a
            for a in state.store.snapshot()
            if (resource_type == "all" or a.resource_type == resource_type)
            and a.type == dtype
            and (
                a.public_id in public_ids
                or any(t in a.tags for t in tags)
                or any(a.public_id.startswith(p) for p in prefixes)
            )
        ]
        if not chosen:
            raise ApiError(400, "No resources found for the archive")
        name = form.get("target_public_id") or random_public_id()
        check_public_id(name)
        public_id = f"{name}.{target_format}"
        asset = _new_asset(
            state,
            "raw",
            "upload",
            public_id,
            target_format,
            None,
            sum(a.bytes for a in chosen),
        )
        asset.tags = sorted(parse_tags(form.list("target_tags")))
        body = upload_result(asset, state.account)
    body.update(resource_count=len(chosen), file_count=len(chosen))
    return ok(body)


ACTIONS: dict[str, Handler] = {
    "text": text,
    "sprite": sprite,
    "multi": multi,
    "explode": explode,
    "generate_archive": generate_archive,
}
