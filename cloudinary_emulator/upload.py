"""Upload API: POST /v1_1/<cloud>/<resource_type>/<action>, signed form requests."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from cloudinary_emulator import mutations, payloads
from cloudinary_emulator.errors import ApiError, not_found
from cloudinary_emulator.files import describe, file_content, random_public_id
from cloudinary_emulator.forms import Form, parse_context, parse_tags
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.render import upload_result
from cloudinary_emulator.signing import check_upload_request
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset, random_hex

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
    form = req.form()
    account = state.account
    check_upload_request(
        form.fields,
        action,
        account.api_key,
        account.api_secret,
        account.signature_algorithm,
    )
    return form


def _public_id(form: Form, original: str) -> str:
    public_id = form.get("public_id").strip("/")
    if not public_id:
        stem = original.rpartition(".")[0] or original
        if form.flag("use_filename", False) and stem:
            unique = form.flag("unique_filename", True)
            public_id = f"{stem}_{random_public_id(6)}" if unique else stem
        else:
            public_id = random_public_id()
    folder = form.get("folder").strip("/")
    return f"{folder}/{public_id}" if folder else public_id


def upload(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "upload")
    data, filename, source_url = file_content(form)
    original = form.get("filename_override") or filename
    resource_type, fmt, width, height = describe(
        data, original, resource_type, form.get("format")
    )
    public_id = _public_id(form, original)
    dtype = form.get("type") or "upload"
    asset_folder = form.get("asset_folder") or form.get("folder") or None
    display_name = form.get("display_name") or None
    etag_source = data if source_url is None else source_url.encode()
    now = time.time()
    store = state.store
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
                original_filename=original.rpartition(".")[0] or original,
                tags=parse_tags(form.list("tags")),
                context=parse_context(form.get("context")),
                metadata=parse_context(form.get("metadata")),
                source_url=source_url,
            )
            store.add(asset)
        else:
            asset = existing
            _overwrite(asset, form, version, fmt, data, width, height, etag_source, now)
            asset.original_filename = original.rpartition(".")[0] or original
            asset.source_url = source_url
            if asset_folder is not None:
                asset.asset_folder = asset_folder.strip("/")
            if display_name is not None:
                asset.display_name = display_name
            store.touch()
        body = upload_result(asset, state.account)
        payload = payloads.upload(
            asset, state.account, req.request_id, existing is not None
        )
        state.notify([payload], form.get("notification_url"))
    if existing is not None:
        body["overwritten"] = True
    return ok(body)


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
        asset.tags = parse_tags(form.list("tags"))
    if "context" in form.fields:
        asset.context = parse_context(form.get("context"))
    if "metadata" in form.fields:
        asset.metadata.update(parse_context(form.get("metadata")))


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
        if form.flag("invalidate", False):
            state.invalidations.record("destroy", resource_type, dtype, [public_id])
        payload = payloads.delete([asset], state.account.api_key)
        state.notify([payload], form.get("notification_url"))
    return ok({"result": "ok"})


def rename(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "rename")
    source, target = form.get("from_public_id"), form.get("to_public_id").strip("/")
    if not source or not target:
        raise ApiError(400, "Missing required parameter - from_public_id/to_public_id")
    dtype = form.get("type") or "upload"
    to_type = form.get("to_type") or dtype
    store = state.store
    with store.lock:
        asset = store.get(resource_type, dtype, source)
        if asset is None:
            raise not_found(source)
        if (to_type, target) == (dtype, source):
            return ok(upload_result(asset, state.account))
        occupant = store.get(resource_type, to_type, target)
        if occupant is not None:
            if not form.flag("overwrite", False):
                raise ApiError(400, f"to_public_id ({target}) already exists")
            store.remove(occupant)
        store.move(asset, to_type, target)
        mutations.renamed(store, asset)
        payload = payloads.rename(asset, source, state.account.api_key)
        body = upload_result(asset, state.account)
        state.notify([payload], form.get("notification_url"))
    return ok(body)


def _targets(state: State, form: Form, resource_type: str) -> list[Asset]:
    public_ids = form.list("public_ids")
    if not public_ids:
        raise ApiError(400, "Missing required parameter - public_ids")
    if len(public_ids) > 1000:
        raise ApiError(400, "Too many public_ids; at most 1000 per call")
    dtype = form.get("type") or "upload"
    found = (state.store.get(resource_type, dtype, pid) for pid in public_ids)
    return [asset for asset in found if asset is not None]


def tags(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "tags")
    command = form.get("command")
    given = parse_tags(form.list("tag"))
    if command not in ("add", "remove", "replace", "remove_all", "set_exclusive"):
        raise ApiError(400, f"Invalid command {command}")
    if command != "remove_all" and not given:
        raise ApiError(400, "Missing required parameter - tag")
    store = state.store
    changes: list[tuple[Asset, list[str], list[str]]] = []
    with store.lock:
        assets = _targets(state, form, resource_type)
        if command == "set_exclusive":
            chosen = {a.asset_id for a in assets}
            others = [a for a in store.snapshot() if a.asset_id not in chosen]
            for other in others:
                kept = [t for t in other.tags if t not in given]
                if kept != other.tags and (
                    diff := mutations.set_tags(store, other, kept)
                ):
                    changes.append((other, *diff))
        for asset in assets:
            wanted = {
                "add": asset.tags + given,
                "set_exclusive": asset.tags + given,
                "remove": [t for t in asset.tags if t not in given],
                "replace": given,
                "remove_all": [],
            }[command]
            if diff := mutations.set_tags(store, asset, list(dict.fromkeys(wanted))):
                changes.append((asset, *diff))
        body = {"public_ids": [a.public_id for a in assets]}
        notes = (
            [payloads.tags_changed(changes, state.account.api_key)] if changes else []
        )
        state.notify(notes, form.get("notification_url"))
    return ok(body)


def context(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "context")
    command = form.get("command")
    if command not in ("add", "remove_all"):
        raise ApiError(400, f"Invalid command {command}")
    given = parse_context(form.get("context"))
    if command == "add" and not given:
        raise ApiError(400, "Missing required parameter - context")
    store = state.store
    changes = []
    with store.lock:
        assets = _targets(state, form, resource_type)
        for asset in assets:
            wanted = {**asset.context, **given} if command == "add" else {}
            if diff := mutations.set_context(store, asset, wanted):
                changes.append((asset, *diff))
        body = {"public_ids": [a.public_id for a in assets]}
        notes = (
            [payloads.context_changed(changes, state.account.api_key)]
            if changes
            else []
        )
        state.notify(notes, form.get("notification_url"))
    return ok(body)


def explicit(state: State, req: Request, resource_type: str) -> Response:
    form = _signed_form(state, req, "explicit")
    public_id = form.get("public_id")
    store = state.store
    with store.lock:
        asset = store.get(resource_type, form.get("type") or "upload", public_id)
        if asset is None:
            raise not_found(public_id)
        notes = mutations.update(
            store,
            asset,
            state.account.api_key,
            tags=parse_tags(form.list("tags")) if "tags" in form.fields else None,
            context=parse_context(form.get("context"))
            if "context" in form.fields
            else None,
            metadata=parse_context(form.get("metadata"))
            if "metadata" in form.fields
            else None,
            display_name=form.get("display_name") or None,
            asset_folder=form.get("asset_folder") or None,
        )
        body = upload_result(asset, state.account)
        state.notify(notes, form.get("notification_url"))
    return ok(body)


_ACTIONS: dict[str, Handler] = {
    "upload": upload,
    "destroy": destroy,
    "rename": rename,
    "tags": tags,
    "context": context,
    "explicit": explicit,
}
