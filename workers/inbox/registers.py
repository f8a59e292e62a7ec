"""One asset's fields as last-writer-wins registers: the merge rules of the apply.

Each field group of a media_assets row holds the stamp (workers/inbox/stamps.py) of the write that
set it, in `row.stamps`; a write with an older stamp than the group's changes nothing, so
the same set of events gives the same row in any order, any number of times
(docs/ordering.md is the model, with the argument for each rule).

`row.stamps` (jsonb):
- one stamp per group (where it differs from "*", the last full state's, which covers
  the others): "identity" (public_id, resource_type, delivery_type), "content"
  (version, format, bytes, width, height, duration, etag, created_at, secure_url),
  "metadata", "display_name", "folder", "moderation" (moderation_status and _kind),
  "access_mode", "access_control", and "tags" / "context" for the last full state;
- "tag_ops" {tag: [stamp, present, position]} and "ctx_ops" {key: [stamp, present, value]}:
  one register per tag and per context key written *after* the last full state, because
  Cloudinary sends tag and context changes as diffs (added/removed), which only commute
  element by element. The row's other tags (context keys) are the last full state's: they
  share its stamp, so they are not listed again;
- "exists" [stamp, live, host_version]: the asset's existence; host_version is set when the
  host app deleted the row, and then only a newer *version* brings it back (a re-fetch of
  the version the host deleted must not undo the delete before its cleanup runs);
- "shown": whether the apply left the row live (deleted_at NULL), to notice the host
  changing deleted_at since; "url_for": the identity secure_url was built for.

Functions here change one row in memory and answer whether they changed it. The row is
never changed in place: `stamps` is replaced, so a changed row always compares unequal to
what was loaded (AssetStore.flush writes only changed rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from workers.inbox.asset_row import AssetRow
from workers.inbox.events import Identity
from workers.inbox.stamps import HOST, LEGACY, stamp, time_of

CONTENT = (
    "version",
    "format",
    "bytes",
    "width",
    "height",
    "duration",
    "etag",
    "cloudinary_created_at",
)
_GROUPS = (
    "identity",
    "content",
    "tags",
    "context",
    "metadata",
    "display_name",
    "folder",
    "moderation",
    "access_mode",
    "access_control",
)
# a full state writes these groups (their columns) only when it has them: fixed-folder
# accounts have no display name or asset folder, and not every answer speaks of
# moderation or access (an asset never moderated has no moderation entries)
_OPTIONAL_GROUPS = {
    "display_name": ("display_name",),
    "folder": ("folder",),
    "moderation": ("moderation_status", "moderation_kind"),
    "access_mode": ("access_mode",),
    "access_control": ("access_control",),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def prepare(row: AssetRow) -> None:
    """Make a loaded row's stamps say what its columns say, where something other than the
    apply wrote them: rows from before stamps (and from reconcile, which writes '{}'), and
    deleted_at changed by the host app since the apply last wrote the row."""
    stamps = row.stamps
    live = row.deleted_at is None
    if not stamps:
        # every field as of the newest event applied; a row no event ever touched (the host
        # app inserted it) is older than any event
        known = stamp(row.last_event_at or _EPOCH, row.version, LEGACY)
        stamps = {"*": known}
        stamps["exists"] = [known, True, None] if live else _host_delete(row)
        stamps["shown"] = live
        row.stamps = stamps
    elif stamps.get("shown") is not live:
        # the host app restored it, or deleted it
        restored = [stamp(row.updated_at or _EPOCH, 0, HOST), True, None]
        exists = restored if live else _host_delete(row)
        row.stamps = {**stamps, "exists": exists, "shown": live}


def _host_delete(row: AssetRow) -> list[Any]:
    assert row.deleted_at is not None  # noqa: S101 -- callers check
    return [stamp(row.deleted_at, 0, HOST), False, row.version or 0]


def host_deleted(at: datetime, version: int | None) -> list[Any]:
    """The existence register of an asset whose row the host app deleted (a cleanup row)."""
    return [stamp(at, 0, HOST), False, version or 0]


def _saw(row: AssetRow, written: str) -> None:
    at = time_of(written)
    if row.last_event_at is None or at > row.last_event_at:
        row.last_event_at = at


def held(stamps: Mapping[str, Any], group: str) -> str | None:
    """The stamp of a group: its own, else the row's default ("*", the last full state's:
    most rows have every group written by one upload, and stamping each group separately
    made the stamps most of the row)."""
    own: str | None = stamps.get(group)
    return own if own is not None else stamps.get("*")


def _newer(row: AssetRow, group: str, written: str) -> bool:
    stamp_held = held(row.stamps, group)
    return stamp_held is None or written > stamp_held


def write(row: AssetRow, group: str, written: str, values: Mapping[str, Any]) -> bool:
    """Set the group's columns to `values` if `written` is newer than the group."""
    if not _newer(row, group, written):
        return False
    for name, value in values.items():
        setattr(row, name, value)
    row.stamps = {**row.stamps, group: written}
    _saw(row, written)
    return True


def write_identity(row: AssetRow, identity: Identity, written: str) -> bool:
    before = [row.public_id, row.resource_type, row.delivery_type]
    if not write(row, "identity", written, identity._asdict()):
        return False
    if "url_for" not in row.stamps and before != list(identity):
        # secure_url names the name the row had: _settle_url moves it to the new one
        row.stamps = {**row.stamps, "url_for": before}
    return True


def change_tags(
    row: AssetRow, added: list[str], removed: list[str], written: str
) -> bool:
    if not _newer(row, "tags", written):
        return False  # the last full state already includes this change
    held = row.stamps.get("tag_ops", {})
    ops = dict(held)
    changed = False
    for position, tag in enumerate(dict.fromkeys(added)):
        if tag not in ops or ops[tag][0] < written:
            ops[tag], changed = [written, True, position], True
    for tag in removed:
        if tag not in ops or ops[tag][0] < written:
            ops[tag], changed = [written, False, 0], True
    if changed:
        # the tags of the last full state that no element write has overridden since
        base = [t for t in row.tags if t not in held]
        row.stamps = _with_ops(row.stamps, "tag_ops", ops)
        row.tags = [t for t in base if t not in ops] + _present_tags(ops)
        _saw(row, written)
    return changed


def _present_tags(ops: Mapping[str, list[Any]]) -> list[str]:
    # After the full state's, in the order they were added (Cloudinary appends added
    # tags): by the stamp of the write that added each, then its position in that write.
    present = [(op[0], op[2], tag) for tag, op in ops.items() if op[1]]
    return [tag for _, _, tag in sorted(present)]


def change_context(
    row: AssetRow, updated: Mapping[str, Any], removed: Iterable[str], written: str
) -> bool:
    if not _newer(row, "context", written):
        return False
    held = row.stamps.get("ctx_ops", {})
    ops = dict(held)
    changed = False
    for key, value in updated.items():
        if key not in ops or ops[key][0] < written:
            ops[key], changed = [written, True, value], True
    for key in removed:
        if key not in ops or ops[key][0] < written:
            ops[key], changed = [written, False, None], True
    if changed:
        base = {k: v for k, v in row.context.items() if k not in held}
        row.stamps = _with_ops(row.stamps, "ctx_ops", ops)
        kept = {k: v for k, v in base.items() if k not in ops}
        row.context = {**kept, **_present_context(ops)}
        _saw(row, written)
    return changed


def _present_context(ops: Mapping[str, list[Any]]) -> dict[str, Any]:
    return {key: op[2] for key, op in ops.items() if op[1]}


def _with_ops(
    stamps: dict[str, Any], key: str, ops: dict[str, list[Any]]
) -> dict[str, Any]:
    """`stamps` with these element registers (none kept when there are none: most rows
    have no element written after their last full state)."""
    if ops:
        return {**stamps, key: ops}
    return {k: v for k, v in stamps.items() if k != key}


def write_full(
    row: AssetRow, columns: Mapping[str, Any], identity: Identity, written: str
) -> bool:
    """A full state of the asset as of `written` (an upload, an Admin API answer): every
    group it is newer for, in one pass (the apply's commonest write).

    Absent tags, context and metadata are empty (Cloudinary leaves an empty context out);
    display name and folder only when present (fixed-folder accounts have neither)."""
    stamps = row.stamps
    default = stamps.get("*") or ""
    # stamps are never empty: `own or default` is held(), and "" is older than any write
    groups = [
        group
        for group in _GROUPS
        if written > (stamps.get(group) or default)
        and (group not in _OPTIONAL_GROUPS or _OPTIONAL_GROUPS[group][0] in columns)
    ]
    new = dict(stamps)
    if _revives(stamps.get("exists"), written, columns.get("version")):
        new["exists"] = [written, True, None]
    elif not groups:
        return False
    if "identity" in groups:
        before = [row.public_id, row.resource_type, row.delivery_type]
        row.public_id, row.resource_type, row.delivery_type = identity
        if "url_for" not in stamps and before != list(identity):
            new["url_for"] = before  # (the content's own URL, if newer, replaces it)
    if "content" in groups:
        for name in CONTENT:
            setattr(row, name, columns.get(name))
        row.secure_url = columns.get("secure_url")
        if "identity" in groups:
            new.pop("url_for", None)  # the URL names the row's name
        else:
            new["url_for"] = list(identity)  # a later rename moved the row since
        row.sync_status = "synced"  # a full state answers any earlier doubt
    if "tags" in groups:
        tags = dict.fromkeys(columns.get("tags", ()))
        if "tag_ops" in stamps:  # element writes newer than this state stay
            ops = {t: op for t, op in stamps["tag_ops"].items() if op[0] > written}
            new = _with_ops(new, "tag_ops", ops)
            row.tags = [t for t in tags if t not in ops] + _present_tags(ops)
        else:
            row.tags = list(tags)
    if "context" in groups:
        context = columns.get("context", {})
        if "ctx_ops" in stamps:
            ops = {k: op for k, op in stamps["ctx_ops"].items() if op[0] > written}
            new = _with_ops(new, "ctx_ops", ops)
            base = {k: v for k, v in context.items() if k not in ops}
            row.context = {**base, **_present_context(ops)}
        else:
            row.context = dict(context)
    if "metadata" in groups:
        row.metadata_ = columns.get("metadata_", {})
    for group, names in _OPTIONAL_GROUPS.items():
        if group in groups:
            for name in names:
                setattr(row, name, columns.get(name))
    _stamp_groups(new, groups, written)
    row.stamps = new
    _saw(row, written)
    return True


def _stamp_groups(stamps: dict[str, Any], groups: list[str], written: str) -> None:
    """Stamp `groups` with `written`: as the default when it is newer than the default
    (groups it does not cover keep theirs), else one by one."""
    if not groups:
        return
    default = stamps.get("*")
    if default is not None and written <= default:
        stamps.update(dict.fromkeys(groups, written))
        return
    for group in _GROUPS:
        if group in groups:
            stamps.pop(group, None)
        elif group not in stamps and default is not None:
            stamps[group] = default
    stamps["*"] = written


def _revives(held: list[Any] | None, written: str, version: int | None) -> bool:
    if held is None:
        return True
    if written <= held[0]:
        return False
    host_version = held[2]
    # the very version the host app deleted: its cleanup decides
    return held[1] or host_version is None or (version or 0) > host_version


def restored(row: AssetRow, written: str) -> bool:
    """Cloudinary restored the asset as of `written`: a host app's delete older than that
    was carried out (Cloudinary restores only deleted assets), so it no longer guards its
    version; the asset's next full state decides, as after any Cloudinary delete."""
    held = row.stamps.get("exists")
    if held is None or held[1] or held[2] is None or written <= held[0]:
        return False
    row.stamps = {**row.stamps, "exists": [held[0], False, None]}
    return True


def write_deleted(row: AssetRow, written: str) -> bool:
    held = row.stamps.get("exists")
    if held is not None and written <= held[0]:
        return False
    row.stamps = {**row.stamps, "exists": [written, False, None]}
    _saw(row, written)
    return True


def is_complete(row: AssetRow) -> bool:
    """Whether a full state was ever applied (else only diffs are known of the asset)."""
    stamps = row.stamps
    return held(stamps, "content") is not None and held(stamps, "identity") is not None


def settle(row: AssetRow, holds_its_name: bool, now: datetime) -> None:
    """Set deleted_at and sync_status from the registers: a row is live when the asset
    exists, a full state of it is known, and its name is held by it (not by an asset that
    took the name later)."""
    exists = row.stamps.get("exists")
    live = bool(exists and exists[1]) and is_complete(row) and holds_its_name
    if live:
        row.deleted_at = None
        if row.sync_status not in ("synced", "needs_refresh"):
            row.sync_status = "synced"
        _settle_url(row)
    elif exists is not None and not exists[1]:
        if row.deleted_at is None:
            row.deleted_at = time_of(exists[0])
        if row.sync_status != "synced":
            row.sync_status = "synced"
    else:
        if row.deleted_at is None:
            row.deleted_at = now
        # known to exist but its name is another asset's now, or only diffs are known yet
        row.sync_status = "displaced" if is_complete(row) else "incomplete"
    if row.stamps.get("shown") is not live:
        row.stamps = {**row.stamps, "shown": live}


def _settle_url(row: AssetRow) -> None:
    """secure_url names the row's current public_id: a rename after the upload moves it."""
    url_for = row.stamps.get("url_for")
    current = [row.public_id, row.resource_type, row.delivery_type]
    if url_for is None or url_for == current or row.secure_url is None:
        return
    moved = moved_url(row.secure_url, Identity(*url_for), Identity(*current))
    if moved is None:
        row.sync_status = "needs_refresh"  # reconcile (or the next full state) sets it
        return
    row.secure_url = moved
    row.stamps = {**row.stamps, "url_for": current}


def moved_url(url: str, old: Identity, new: Identity) -> str | None:
    """`url` (a delivery URL of `old`) for `new`, or None if it has an unknown shape.

    Cloudinary's delivery URLs end `/<resource_type>/<type>/v<version>/<public_id>[.<format>]`.
    """
    if old.resource_type != new.resource_type:
        return None
    pattern = (
        rf"/{re.escape(old.resource_type)}/{re.escape(old.delivery_type)}/"
        rf"(v\d+/)?{re.escape(old.public_id)}(\.[A-Za-z0-9]+)?$"
    )
    match = re.search(pattern, url)
    if match is None:
        return None
    version, extension = match.group(1) or "", match.group(2) or ""
    tail = (
        f"/{new.resource_type}/{new.delivery_type}/{version}{new.public_id}{extension}"
    )
    return url[: match.start()] + tail
