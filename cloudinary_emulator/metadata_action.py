"""Upload API `metadata` action: set structured-metadata values on several assets.

`POST /v1_1/<cloud>/<rt>/metadata` with `metadata` (`k=v|k2=v2`), `public_ids[]`, `type`
and `clear_invalid`. The answer lists the public_ids that exist; each asset whose values
changed sends one `resource_metadata_changed` notification.
"""

from __future__ import annotations

from cloudinary_emulator import metadata_values, mutations
from cloudinary_emulator.errors import ApiError
from cloudinary_emulator.messages import Request, Response, ok
from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.signing import check_upload_request
from cloudinary_emulator.state import State

MAX_PUBLIC_IDS = 1000


def update_metadata(state: State, req: Request, resource_type: str) -> Response:
    form = req.form()
    account = state.account
    check_upload_request(
        form.fields,
        "metadata",
        account.api_key,
        account.api_secret,
        account.signature_algorithm,
    )
    public_ids = form.list("public_ids")
    if not public_ids:
        raise ApiError(400, "Missing required parameter - public_ids")
    if len(public_ids) > MAX_PUBLIC_IDS:
        raise ApiError(400, f"Too many public_ids; at most {MAX_PUBLIC_IDS} per call")
    if "metadata" not in form.fields:
        raise ApiError(400, "Missing required parameter - metadata")
    clear_invalid = form.flag("clear_invalid", False)
    given = metadata_values.parse(form.get("metadata"))
    dtype = form.get("type") or "upload"
    store = state.store
    notes: list[Payload] = []
    updated: list[str] = []
    with store.lock:
        change = metadata_values.changes(
            state.metadata, given, clear_invalid=clear_invalid
        )
        for public_id in public_ids:
            asset = store.get(resource_type, dtype, public_id)
            if asset is None:
                continue
            wanted = dict(change)
            if clear_invalid:
                # Values the asset already holds that no longer pass are cleared too.
                valid = metadata_values.without_invalid(state.metadata, asset.metadata)
                wanted.update({k: None for k in asset.metadata if k not in valid})
            notes += mutations.update(store, asset, account.api_key, metadata=wanted)
            updated.append(public_id)
        state.notify(notes, form.get("notification_url"))
    return ok({"public_ids": updated})
