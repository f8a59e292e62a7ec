"""Upload API `tags` and `context` actions: change tags or context on many assets at once.

Tags are kept sorted, as Cloudinary returns them.
"""

from __future__ import annotations

from cloudinary_emulator import mutations, payloads
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.forms import Form, parse_context, parse_tags
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.state import State
from cloudinary_emulator.store import Asset
from cloudinary_emulator.upload_form import signed_form

MAX_PUBLIC_IDS = 1000


def targets(state: State, form: Form, resource_type: str) -> list[Asset]:
    public_ids = form.list("public_ids")
    if not public_ids:
        raise ApiError(400, "Missing required parameter - public_ids")
    if len(public_ids) > MAX_PUBLIC_IDS:
        raise ApiError(400, f"Too many public_ids; at most {MAX_PUBLIC_IDS} per call")
    dtype = form.get("type") or "upload"
    found = (state.store.get(resource_type, dtype, pid) for pid in public_ids)
    return [asset for asset in found if asset is not None]


def tags(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "tags")
    command = form.get("command")
    given = parse_tags(form.list("tag"))
    if command not in ("add", "remove", "replace", "remove_all", "set_exclusive"):
        raise ApiError(400, f"Invalid command {command}")
    if command != "remove_all" and not given:
        raise ApiError(400, "Missing required parameter - tag")
    store = state.store
    changes: list[tuple[Asset, list[str], list[str]]] = []
    with store.lock:
        assets = targets(state, form, resource_type)
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
            if diff := mutations.set_tags(store, asset, sorted(set(wanted))):
                changes.append((asset, *diff))
        body = {"public_ids": [a.public_id for a in assets]}
        notes = (
            [payloads.tags_changed(changes, state.account.api_key)] if changes else []
        )
        state.notify(notes, form.get("notification_url"))
    return ok(body)


def context(state: State, req: Request, resource_type: str) -> Response:
    form = signed_form(state, req, "context")
    command = form.get("command")
    if command not in ("add", "remove_all"):
        raise ApiError(400, f"Invalid command {command}")
    given = parse_context(form.get("context"))
    if command == "add" and not given:
        raise ApiError(400, "Missing required parameter - context")
    store = state.store
    changes = []
    with store.lock:
        assets = targets(state, form, resource_type)
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
