"""Upload API: POST /v1_1/<cloud>/<resource_type>/<action>, signed form requests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from cloudinary_emulator import (
    metadata_action,
    metadata_values,
    mutations,
    payloads,
    restore,
    upload_extras,
    upload_generate,
    upload_params,
    upload_tags,
)
from cloudinary_emulator.errors import ApiError, not_found
from cloudinary_emulator.files import describe, file_content
from cloudinary_emulator.forms import Form, parse_context, parse_tags
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import context_field, upload_result
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.upload_chunks import CHUNKS
from cloudinary_emulator.upload_form import signed_form
from cloudinary_emulator.upload_transformation import check_format, parse, result_size

Handler = Callable[[State, Request, str], Response]
RESOURCE_TYPES = ("image", "video", "raw")


def route(method: str, segments: list[str]) -> tuple[str, Handler, str] | None:
    """(endpoint name, handler, resource_type) for an Upload API path, else None."""
    if method != "POST" or len(segments) != 2:
        return None
    resource_type, action = segments
    if resource_type not in (*RESOURCE_TYPES, "auto") or action not in _ACTIONS:
        return None
    return action, _ACTIONS[action], resource_type


def _signed_form(state: State, req: Request, action: str) -> Form:
    return signed_form(state, req, action)


def upload(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "upload")
    upload_params.check(form)
    metadata = _metadata(state, form)
    data, filename, source_url = file_content(form)
    whole = CHUNKS.receive(req.headers, data) if form.file is not None else data
    if whole is None:
        return ok({"done": False})  # a part of an `upload_large`; more parts to come
    data = whole
    original = form.get("filename_override") or filename
    resource_type, fmt, width, height = describe(data, original, resource_type, "")
    fmt, width, height = _incoming(form, resource_type, fmt, width, height)
    public_id = upload_params.public_id(form, original, resource_type)
    dtype = form.get("type") or "upload"
    asset_folder = form.get("asset_folder") or form.get("folder") or None
    display_name = upload_params.display_name(form, original)
    etag_source = data if source_url is None else source_url.encode()
    now = time.time()
    store = state.store
    cloud = state.account.cloud_name
    with store.lock:
        existing = store.get(resource_type, dtype, public_id)
        if existing is not None and not form.flag("overwrite", True):
            return ok({**upload_result(existing, state.account), "existing": True})
        version = max(
            int(now), store.last_version((resource_type, dtype, public_id)) + 1
        )
        if existing is None:
            asset_id, version_id = random_hex(2)
            asset = Asset(
                asset_id=asset_id,
                resource_type=resource_type,
                type=dtype,
                public_id=public_id,
                version=version,
                version_id=version_id,
                format=fmt,
                bytes=len(data),
                width=width,
                height=height,
                etag=hashlib.md5(etag_source, usedforsecurity=False).hexdigest(),
                created_at=int(now),
                uploaded_at=int(now),
                updated_at=now,
                asset_folder=(asset_folder or public_id.rpartition("/")[0]).strip("/"),
                display_name=display_name or public_id.rpartition("/")[2],
                original_filename=upload_params.stem(original),
                tags=sorted(parse_tags(form.list("tags"))),
                context=parse_context(form.get("context")),
                metadata=metadata_values.for_new_asset(state.metadata, metadata),
                source_url=source_url,
            )
            store.add(asset)
        else:
            asset = existing
            _overwrite(asset, form, version, fmt, data, width, height, etag_source, now)
            if metadata is not None:
                asset.metadata = metadata_values.merged(asset.metadata, metadata)
            asset.original_filename = upload_params.stem(original)
            asset.source_url = source_url
            asset.derived = []  # a new original invalidates what was derived from it
            if asset_folder is not None:
                asset.asset_folder = asset_folder.strip("/")
            if display_name is not None:
                asset.display_name = display_name
            store.touch()
        upload_extras.apply_on_upload(asset, form)
        if form.flag("backup", False):
            restore.keep_backup(asset)
        extra, eager_note = upload_extras.derive(asset, form, cloud)
        body = {**upload_result(asset, state.account), **extra}
        payload = payloads.upload(
            asset, state.account, req.request_id, existing is not None
        )
        state.notify([payload], form.get("notification_url"))
        if eager_note is not None:
            url = form.get("eager_notification_url") or form.get("notification_url")
            state.notify([eager_note], url)
    if existing is not None:
        body["overwritten"] = True
    if form.flag("async", False):
        return ok(
            {"status": "pending", "public_id": public_id, "batch_id": random_hex(1)[0]}
        )
    return ok(body)


def _incoming(
    form: Form, resource_type: str, fmt: str, width: int | None, height: int | None
) -> tuple[str, int | None, int | None]:
    """The stored original after the incoming `transformation` and `format`, checked
    against `allowed_formats` (a requested `format` is what gets checked)."""
    if form.get("transformation") and width and height:
        chain = parse(form.get("transformation"))
        width, height = result_size(width, height, chain)
    if form.get("format") and resource_type != "raw":
        fmt = check_format(form.get("format"))
    allowed = [item.strip().lower() for item in form.list("allowed_formats")]
    if (
        allowed
        and fmt.lower() not in allowed
        and not (fmt == "jpg" and "jpeg" in allowed)
    ):
        kind = "Image" if resource_type == "image" else "File"
        raise ApiError(400, f"{kind} format {fmt} not allowed")
    return fmt, width, height


def _overwrite(
    asset: Asset,
    form: Form,
    version: int,
    fmt: str,
    data: bytes,
    width: int | None,
    height: int | None,
    etag_source: bytes,
    now: float,
) -> None:
    """A new version of the same asset: asset_id and created_at stay, the rest moves on.

    Tags and context are replaced only when the upload sends them (unconfirmed upstream).
    """
    asset.version = version
    asset.version_id = random_hex(1)[0]
    asset.format, asset.bytes, asset.width, asset.height = fmt, len(data), width, height
    asset.etag = hashlib.md5(etag_source, usedforsecurity=False).hexdigest()
    asset.uploaded_at = int(now)
    asset.updated_at = max(now, asset.updated_at + 1e-6)
    if "tags" in form.fields:
        asset.tags = sorted(parse_tags(form.list("tags")))
    if "context" in form.fields:
        asset.context = parse_context(form.get("context"))


def _metadata(state: State, form: Form) -> metadata_values.Values | None:
    """The checked `metadata` parameter (None when not sent); raises on a bad value."""
    if "metadata" not in form.fields:
        return None
    given = metadata_values.parse(form.get("metadata"))
    return metadata_values.changes(state.metadata, given)


def destroy(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "destroy")
    public_id = form.get("public_id")
    if not public_id:
        raise ApiError(400, "Missing required parameter - public_id")
    store = state.store
    dtype = form.get("type") or "upload"
    with store.lock:
        asset = store.get(resource_type, dtype, public_id)
        if asset is None:
            return ok({"result": "not found"})
        store.remove(asset)
        restore.after_delete(state, asset)
        if form.flag("invalidate", False):
            state.invalidations.record("destroy", resource_type, dtype, [public_id])
        payload = payloads.delete([asset], state.account.api_key)
        state.notify([payload], form.get("notification_url"))
    return ok({"result": "ok"})


def rename(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "rename")
    source, target = form.get("from_public_id"), form.get("to_public_id").strip("/")
    if not source:
        raise ApiError(400, "Missing required parameter - from_public_id")
    if not target:
        raise ApiError(400, "Missing required parameter - to_public_id")
    upload_params.check_public_id(target)
    dtype = form.get("type") or "upload"
    to_type = form.get("to_type") or dtype
    if to_type not in upload_params.DELIVERY_TYPES:
        raise ApiError(400, f"Invalid value {to_type} for parameter to_type")
    store = state.store
    with store.lock:
        asset = store.get(resource_type, dtype, source)
        if asset is None:
            raise not_found(source)
        if (to_type, target) != (dtype, source):
            occupant = store.get(resource_type, to_type, target)
            if occupant is not None:
                if not form.flag("overwrite", False):
                    raise ApiError(400, f"to_public_id ({target}) already exists")
                store.remove(occupant)
            store.move(asset, to_type, target)
            mutations.renamed(store, asset)
            notes = [payloads.rename(asset, source, state.account.api_key)]
            if form.flag("invalidate", False):
                state.invalidations.record("rename", resource_type, dtype, [source])
            state.notify(notes, form.get("notification_url"))
        body = upload_result(asset, state.account)
    # `context` and `metadata` here ask for those fields in the answer, nothing more.
    body.pop("context", None)
    body.pop("metadata", None)
    if form.flag("context", False):
        body["context"] = context_field(asset)
    if form.flag("metadata", False):
        body["metadata"] = dict(asset.metadata)
    return ok(body)


def explicit(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "explicit")
    public_id = form.get("public_id")
    if not public_id:
        raise ApiError(400, "Missing required parameter - public_id")
    upload_params.check(form)
    metadata = _metadata(state, form)
    store = state.store
    with store.lock:
        asset = store.get(resource_type, form.get("type") or "upload", public_id)
        if asset is None:
            raise not_found(public_id)
        notes = mutations.update(
            store,
            asset,
            state.account.api_key,
            tags=sorted(parse_tags(form.list("tags")))
            if "tags" in form.fields
            else None,
            context=parse_context(form.get("context"))
            if "context" in form.fields
            else None,
            metadata=metadata,
            display_name=form.get("display_name") or None,
            asset_folder=form.get("asset_folder") or None,
        )
        upload_extras.apply_on_upload(asset, form)
        extra, eager_note = upload_extras.derive(asset, form, state.account.cloud_name)
        store.touch()
        body = {**upload_result(asset, state.account), **extra}
        state.notify(notes, form.get("notification_url"))
        if eager_note is not None:
            url = form.get("eager_notification_url") or form.get("notification_url")
            state.notify([eager_note], url)
    return ok(body)


_ACTIONS: dict[str, Handler] = {
    "upload": upload,
    "destroy": destroy,
    "rename": rename,
    "tags": upload_tags.tags,
    "context": upload_tags.context,
    "explicit": explicit,
    "metadata": metadata_action.update_metadata,
    **upload_generate.ACTIONS,
}
