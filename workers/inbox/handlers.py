"""Apply one Cloudinary notification to media_assets, by type (docs/ordering.md).

Every event is stamped (workers/inbox/stamps.py) and written to the registers of the rows it
names (workers/inbox/registers.py), each field only if the event is newer than what set it; the
result does not depend on the order events arrive in, nor on how often. An event names its
asset by asset_id, so it never changes another asset's row, whatever names they share.

A change that names an asset the mirror has no full state of yet (its upload not arrived, or
made before mirroring began) is recorded and the asset re-fetched; the types whose payload
is not documented well enough to trust are re-fetched (workers/inbox/refetch.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from workers.inbox import events, registers
from workers.inbox.asset_row import AssetRow
from workers.inbox.asset_store import AssetStore, identity_of
from workers.inbox.events import Identity
from workers.inbox.refetch import AssetFetcher, assets_in_folder, refetch
from workers.inbox.writes import Outcome, deleted, full_state, name, outcome

# A folder rename re-fetches each asset in it; beyond this many, reconciliation does it.
MAX_FOLDER_REFETCH = 100


class Context(NamedTuple):
    store: AssetStore
    fetcher: AssetFetcher | None
    stamp: str  # the event's place in the order (workers/inbox/stamps.py)
    now: datetime

    def refetch(
        self, asset_id: str | None, identity: Identity | None, why: str
    ) -> Outcome:
        return refetch(self.store, self.fetcher, asset_id, identity, why=why)


Handler = Callable[[Context, Mapping[str, Any]], list[Outcome]]


def apply_event(
    ctx: Context, notification_type: str, body: Mapping[str, Any]
) -> list[Outcome] | None:
    """The outcomes per asset, or None for a type mediasync does not handle (ignored)."""
    handler = HANDLERS.get(notification_type)
    return None if handler is None else handler(ctx, body)


def _upload(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    identity = events.identity(body)
    if identity is None:
        return [Outcome("stale", None, events.asset_id(body), "no public_id")]
    columns = events.asset_columns(body)
    return [full_state(ctx.store, events.asset_id(body), identity, columns, ctx.stamp)]


def _delete(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    outcomes = []
    for item in events.resources(body):
        identity = events.identity(item)
        if identity is None:
            outcomes.append(
                Outcome("stale", None, events.asset_id(item), "no public_id")
            )
        else:
            asset_id, described = events.asset_id(item), events.asset_columns(item)
            outcomes.append(
                deleted(ctx.store, asset_id, identity, ctx.stamp, described)
            )
    return outcomes


def _rename(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    asset_id = events.asset_id(body)
    source = events.identity(body, "from_public_id")
    target = events.identity(body, "to_public_id")
    if target is None:
        return [Outcome("stale", None, asset_id, "no to_public_id")]
    store = ctx.store
    row = store.row_for(asset_id, source)
    if row is None:
        return [ctx.refetch(asset_id, target, "renamed asset not held")]
    before = row.stamps
    if source is not None:
        store.claim(source, None, ctx.stamp)  # the old name is free as of the rename
    name(store, row, target, ctx.stamp)
    _write_present(row, body, ctx.stamp)
    result = outcome(row, before, "renamed")
    return [_complete(ctx, row, result)]


def _diff(apply_one: Callable[[AssetRow, Mapping[str, Any], str], bool]) -> Handler:
    """A handler writing one change (`apply_one`) to each asset the event names."""

    def handler(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
        outcomes = []
        for item in events.resources(body):
            identity, asset_id = events.identity(item), events.asset_id(item)
            row = ctx.store.row_for(asset_id, identity)
            if row is None:
                outcomes.append(ctx.refetch(asset_id, identity, "asset not held"))
                continue
            before = row.stamps
            if identity is not None:
                name(ctx.store, row, identity, ctx.stamp)
            apply_one(row, item, ctx.stamp)
            outcomes.append(_complete(ctx, row, outcome(row, before)))
        return outcomes

    return handler


def _complete(ctx: Context, row: AssetRow, result: Outcome) -> Outcome:
    """A change to an asset of which no full state is known yet stays recorded (its upload
    may still be on the way, with older fields) and the asset is re-fetched."""
    if registers.is_complete(row):
        return result
    fetched = ctx.refetch(row.asset_id, identity_of(row), "asset not held")
    return fetched if fetched.status != "stale" else result


def _tags(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    added, removed = _strings(item.get("added")), _strings(item.get("removed"))
    return registers.change_tags(row, added, removed, written)


def _context(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    updated: dict[str, Any] = {}
    for key in ("added", "updated"):
        updated.update(_pairs(item.get(key)))
    removed = item.get("removed")
    return registers.change_context(
        row, updated, [*_pairs(removed), *_strings(removed)], written
    )


def _display_name(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    new = _str(item, "new_display_name") or _str(item, "display_name")
    if new is None:
        return False
    return registers.write(row, "display_name", written, {"display_name": new})


def _move(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    changed = False
    if (folder := _str(item, "to_asset_folder")) is not None:
        changed = registers.write(row, "folder", written, {"folder": folder})
    return _write_present(row, item, written) or changed


def _metadata(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    new = item.get("new_metadata")
    assert isinstance(new, dict)  # noqa: S101 -- _metadata_changed checked
    return registers.write(row, "metadata", written, {"metadata_": new})


def _write_present(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    """The display name and folder an event states (as of the event), where it has them."""
    changed = False
    if (display_name := _str(item, "display_name")) is not None:
        changed |= registers.write(
            row, "display_name", written, {"display_name": display_name}
        )
    if (folder := events.asset_columns(item).get("folder")) is not None:
        changed |= registers.write(row, "folder", written, {"folder": folder})
    return changed


def _metadata_changed(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """The new values when the payload has them, else (the shape is not documented) a
    re-fetch of each asset."""
    items = events.resources(body)
    if items and all(isinstance(i.get("new_metadata"), dict) for i in items):
        return _diff(_metadata)(ctx, body)
    return _refetch_named(ctx, body)


def _access_control(row: AssetRow, item: Mapping[str, Any], written: str) -> bool:
    key = "access_control" if "access_control" in item else "new_access_control"
    rules = events.access_control(item.get(key))
    changed = registers.write(row, "access_control", written, {"access_control": rules})
    if (mode := _str(item, "access_mode")) is not None:
        changed |= registers.write(row, "access_mode", written, {"access_mode": mode})
    return changed


def _access_control_changed(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """The new rules when every item has them, else a re-fetch of each asset."""
    items = events.resources(body)
    if items and all(_ACCESS_KEYS & item.keys() for item in items):
        return _diff(_access_control)(ctx, body)
    return _refetch_named(ctx, body)


_ACCESS_KEYS = {"access_control", "new_access_control"}


def _moderation(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """A moderation decision, trusted when it names its asset unambiguously: by asset_id,
    or (it may have none) as the live row of its name at the version it was decided for.
    Else (another asset may hold the name by now) the asset is re-fetched."""
    identity, asset_id = events.identity(body), events.asset_id(body)
    decided = events.moderation(body)
    if identity is None and asset_id is None:
        return [Outcome("stale", None, None, "moderation names no asset")]
    if decided.get("moderation_status") is None:
        return [ctx.refetch(asset_id, identity, "moderation")]
    row = ctx.store.row_for(asset_id, identity)
    version = events.version(body)
    if row is None or (
        asset_id is None
        and None not in (version, row.version)
        and version != row.version
    ):
        return [ctx.refetch(asset_id, identity, "moderated asset not held")]
    before = row.stamps
    if identity is not None:
        name(ctx.store, row, identity, ctx.stamp)
    registers.write(row, "moderation", ctx.stamp, decided)
    return [_complete(ctx, row, outcome(row, before))]


def _restored(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """An asset restored from its backups: the answer of a re-fetch (the payload has not
    its fields), which brings a deleted asset back as any newer full state does.

    One more rule: a restore made after the host app deleted the asset (the delete this
    database asked for was carried out, or Cloudinary could not restore it) is a newer,
    deliberate act; the version the host deleted may come back (registers.restored)."""
    for item in events.targets(body):
        row = ctx.store.row_for(events.asset_id(item), events.identity(item))
        if row is not None:
            registers.restored(row, ctx.stamp)
    return _refetch_named(ctx, body)


def _refetch_named(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """Types whose payload we do not trust: ask the Admin API for each named asset."""
    outcomes = []
    default_type = "multi" if body.get("notification_type") == "multi" else "upload"
    for item in events.targets(body):
        identity = events.identity({"type": default_type, **item})
        outcomes.append(
            ctx.refetch(events.asset_id(item), identity, str(body["notification_type"]))
        )
    return outcomes


def _folder_renamed(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    """Each asset the new folder holds now (the Admin API's listing: assets whose own
    notifications, an upload into the old folder say, are still on their way included),
    then each of the mirror's rows still in the old folder (moved on since, or deleted),
    re-fetched: every answer is newer than any event made before the rename.
    Subfolders: through the rows the mirror has in them."""
    old, new = _str(body, "from_path"), _str(body, "to_path")
    if not old:
        return [Outcome("recorded", detail="no from_path")]
    listed: list[tuple[str | None, Identity]] | None = []
    if new and ctx.fetcher is not None:
        listed = assets_in_folder(ctx.fetcher, new, MAX_FOLDER_REFETCH)
    rows = ctx.store.live_in_folder(old, MAX_FOLDER_REFETCH + 1)
    known = {asset_id for asset_id, _ in listed or ()}
    rows = [row for row in rows if row.asset_id is None or row.asset_id not in known]
    if listed is None or len(listed) + len(rows) > MAX_FOLDER_REFETCH:
        for row in rows:
            row.sync_status = "needs_refresh"
        why = "rate limited" if listed is None else "too many assets"
        return [Outcome("needs_refresh", detail=f"folder {old!r}: {why}")]
    why = "folder renamed"
    return [ctx.refetch(asset_id, named, why) for asset_id, named in listed] + [
        ctx.refetch(row.asset_id, identity_of(row), why) for row in rows
    ]


def _recorded(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    # no mirror column reflects these (derived assets, folders); the inbox row is the record
    return [Outcome("recorded", _str(body, "public_id"), events.asset_id(body))]


def _str(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _pairs(value: Any) -> dict[str, Any]:
    """Context diffs: a list of {name, value} (as documented) or a plain object."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if not isinstance(value, list):
        return {}
    return {
        pair["name"]: pair.get("value")
        for pair in value
        if isinstance(pair, dict) and isinstance(pair.get("name"), str)
    }


HANDLERS: dict[str, Handler] = {
    "upload": _upload,
    "delete": _delete,
    "rename": _rename,
    "resource_tags_changed": _diff(_tags),
    "resource_context_changed": _diff(_context),
    "resource_display_name_changed": _diff(_display_name),
    "move": _diff(_move),
    "resource_metadata_changed": _metadata_changed,
    "access_control_changed": _access_control_changed,
    "restore_asset_version": _restored,
    "multi": _refetch_named,
    "moderation": _moderation,
    "delete_by_token": _refetch_named,
    "move_or_rename_asset_folder": _folder_renamed,
    "eager": _recorded,
    "create_folder": _recorded,
    "delete_folder": _recorded,
}


def keys_of(body: Mapping[str, Any]) -> tuple[list[Identity | None], list[str | None]]:
    """The identities and asset_ids an event names: what its batch locks and loads up front
    (anything else a handler looks up is locked and loaded when it does)."""
    items = [body, *events.resources(body)]
    identities = [events.identity(item) for item in items]
    identities += [
        events.identity(body, "from_public_id"),
        events.identity(body, "to_public_id"),
    ]
    return identities, [events.asset_id(item) for item in items]
