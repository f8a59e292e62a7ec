"""Apply one Cloudinary notification to media_assets, by type, never regressing an asset.

Full states (`upload`, a re-fetched resource) go through apply_rows.upsert; diffs (tags,
context, display name, folder move, rename) apply to the live row when they are newer than
it. A diff that is older than the row, or names an asset we do not hold, cannot be merged
safely, so the asset is re-fetched instead (apply_refetch), as are the types whose payload
is not documented well enough to trust.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workers import events
from workers.apply_refetch import AssetFetcher, refetch
from workers.apply_rows import Outcome, is_older, tombstone, touch, upsert
from workers.asset_row import AssetRow
from workers.asset_store import AssetStore, identity_of
from workers.events import Identity

# A folder rename re-fetches each asset in it; beyond this many, reconciliation does it.
MAX_FOLDER_REFETCH = 100


@dataclass(frozen=True)
class Context:
    store: AssetStore
    fetcher: AssetFetcher | None
    event_at: datetime  # when Cloudinary made the event (events.event_time)
    now: datetime

    def refetch(
        self, asset_id: str | None, identity: Identity | None, why: str
    ) -> Outcome:
        return refetch(
            self.store, self.fetcher, asset_id, identity, now=self.now, why=why
        )


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
    return [upsert(ctx.store, identity, columns, ctx.event_at, ctx.now)]


def _delete(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    return [_delete_one(ctx, item) for item in events.resources(body)]


def _delete_one(ctx: Context, item: Mapping[str, Any]) -> Outcome:
    identity = events.identity(item)
    asset_id, version = events.asset_id(item), events.version(item)
    if identity is None:
        return Outcome("stale", None, asset_id, "no public_id")
    ctx.store.lock(identity)
    row = ctx.store.find_live(asset_id, identity)
    if row is not None:
        if _newer_version_held(row, version) or (
            (version is None or row.version is None)
            and is_older(row, None, ctx.event_at)
        ):
            return Outcome("stale", identity.public_id, asset_id, "newer state held")
        tombstone(row, ctx.event_at, ctx.now)
        return Outcome("applied", row.public_id, row.asset_id, "deleted")
    if ctx.store.deleted_here(asset_id, identity, version, ctx.event_at):
        # the echo of our own cleanup: its queue row already guards against a late upload
        return Outcome("applied", identity.public_id, asset_id, "already deleted here")
    held = ctx.store.newest_tombstone(asset_id, identity)
    if held is None:
        # Deleted before we saw it uploaded: keep a tombstone so a late upload of this
        # version cannot create a live row.
        held = ctx.store.new_row(identity)
        for name, value in events.asset_columns(item).items():
            setattr(held, name, value)
        ctx.store.track(held)
    elif version is not None and (held.version is None or version > held.version):
        held.version = version
    tombstone(held, ctx.event_at, ctx.now)
    return Outcome("applied", identity.public_id, asset_id, "tombstone")


def _newer_version_held(row: AssetRow, version: int | None) -> bool:
    return version is not None and row.version is not None and row.version > version


def _rename(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    asset_id = events.asset_id(body)
    source = events.identity(body, "from_public_id")
    target = events.identity(body, "to_public_id")
    if target is None:
        return [Outcome("stale", None, asset_id, "no to_public_id")]
    ctx.store.lock(source, target)
    row = ctx.store.find_live(asset_id, source)
    if row is None:
        return [ctx.refetch(asset_id, target, "renamed asset not held")]
    if is_older(row, None, ctx.event_at):
        return [ctx.refetch(row.asset_id or asset_id, identity_of(row), "older rename")]
    target = Identity(
        target.public_id,
        _str(body, "resource_type") or row.resource_type,
        _str(body, "type") or row.delivery_type,
    )
    occupant = ctx.store.find_live(None, target)
    outcomes = []
    if occupant is not None and occupant is not row:
        # an overwriting rename replaced the asset that had this name
        tombstone(occupant, ctx.event_at, ctx.now)
        # before the rename's UPDATE, or the live-identity index sees two live rows
        ctx.store.flush()
        outcomes.append(
            Outcome("applied", occupant.public_id, occupant.asset_id, "replaced")
        )
    row.public_id = target.public_id
    row.resource_type, row.delivery_type = target.resource_type, target.delivery_type
    ctx.store.track(row)
    _assign_present(row, body, ("display_name",))
    if (folder := events.asset_columns(body).get("folder")) is not None:
        row.folder = folder
    touch(row, ctx.event_at, ctx.now)
    outcomes.append(Outcome("applied", row.public_id, row.asset_id, "renamed"))
    return outcomes


def _diff(apply_one: Callable[[AssetRow, Mapping[str, Any]], None]) -> Handler:
    """A handler applying `apply_one` to each named asset that is held and not newer."""

    def handler(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
        outcomes = []
        for item in events.resources(body):
            identity, asset_id = events.identity(item), events.asset_id(item)
            ctx.store.lock(identity)
            row = ctx.store.find_live(asset_id, identity)
            if row is None:
                outcomes.append(ctx.refetch(asset_id, identity, "asset not held"))
            elif is_older(row, None, ctx.event_at):
                outcomes.append(
                    ctx.refetch(row.asset_id, identity_of(row), "older change")
                )
            else:
                apply_one(row, item)
                touch(row, ctx.event_at, ctx.now)
                outcomes.append(Outcome("applied", row.public_id, row.asset_id))
        return outcomes

    return handler


def _tags(row: AssetRow, item: Mapping[str, Any]) -> None:
    removed = set(_strings(item.get("removed")))
    tags = [tag for tag in row.tags if tag not in removed]
    tags += [
        tag for tag in dict.fromkeys(_strings(item.get("added"))) if tag not in tags
    ]
    row.tags = tags


def _context(row: AssetRow, item: Mapping[str, Any]) -> None:
    context = dict(row.context)
    for key in ("added", "updated"):
        context.update(_pairs(item.get(key)))
    removed = item.get("removed")
    for name in [*_pairs(removed), *_strings(removed)]:
        context.pop(name, None)
    row.context = context


def _display_name(row: AssetRow, item: Mapping[str, Any]) -> None:
    name = _str(item, "new_display_name") or _str(item, "display_name")
    if name is not None:
        row.display_name = name


def _move(row: AssetRow, item: Mapping[str, Any]) -> None:
    folder = _str(item, "to_asset_folder")
    if folder is not None:
        row.folder = folder
    _assign_present(row, item, ("display_name",))


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
    old = _str(body, "from_path")
    if not old:
        return [Outcome("recorded", detail="no from_path")]
    rows = ctx.store.live_in_folder(old, MAX_FOLDER_REFETCH + 1)
    if len(rows) > MAX_FOLDER_REFETCH:
        for row in rows:
            row.sync_status = "needs_refresh"
        return [Outcome("needs_refresh", detail=f"folder {old!r}: too many assets")]
    return [
        ctx.refetch(row.asset_id, identity_of(row), "folder renamed") for row in rows
    ]


def _recorded(ctx: Context, body: Mapping[str, Any]) -> list[Outcome]:
    # no mirror column reflects these (derived assets, folders); the inbox row is the record
    return [Outcome("recorded", _str(body, "public_id"), events.asset_id(body))]


def _assign_present(
    row: AssetRow, item: Mapping[str, Any], names: tuple[str, ...]
) -> None:
    for name in names:
        if (value := _str(item, name)) is not None:
            setattr(row, name, value)


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
    "resource_metadata_changed": _refetch_named,
    "access_control_changed": _refetch_named,
    "restore_asset_version": _refetch_named,
    "multi": _refetch_named,
    "moderation": _refetch_named,
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
