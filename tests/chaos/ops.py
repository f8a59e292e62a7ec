"""SDK operations against the emulator as plain values, so a history can be printed,
shrunk and replayed.

Every operation goes through the real `cloudinary` SDK. `run` is total: an operation the
account's current state refuses (renaming a missing asset, renaming onto a taken name
without overwrite, updating a deleted asset) is skipped, so any sequence is valid and a
shrinker may drop any step.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader

from tests.cloudinary_emulator.helpers import png_bytes

Opts = dict[str, str]


@dataclass(frozen=True)
class Upload:
    """An upload to `name`: a new asset, or an overwrite when the name is taken."""

    name: str
    size: tuple[int, int] = (2, 2)
    tags: tuple[str, ...] | None = None
    context: tuple[tuple[str, str], ...] | None = None
    asset_folder: str | None = None
    resource_type: str = "image"
    moderated: bool = False  # moderation="manual": pending until a Moderate decides
    backup: bool = False  # keep a backup: a delete leaves a placeholder, Restore works


@dataclass(frozen=True)
class Rename:
    source: str
    target: str
    overwrite: bool = False
    resource_type: str = "image"


@dataclass(frozen=True)
class Tags:
    """uploader.add_tag / remove_tag / replace_tag / remove_all_tags."""

    command: str
    names: tuple[str, ...]
    tag: str = ""
    resource_type: str = "image"


@dataclass(frozen=True)
class Context:
    """uploader.add_context / remove_all_context."""

    command: str
    names: tuple[str, ...]
    context: tuple[tuple[str, str], ...] = ()
    resource_type: str = "image"


@dataclass(frozen=True)
class Update:
    """api.update of one field group: context (replaced whole), tags, metadata,
    display_name or asset_folder; `explicit` sends tags/context through uploader.explicit."""

    name: str
    field: str
    value: Any
    explicit: bool = False
    resource_type: str = "image"


@dataclass(frozen=True)
class Destroy:
    name: str
    resource_type: str = "image"


@dataclass(frozen=True)
class DeleteResources:
    names: tuple[str, ...]
    resource_type: str = "image"


@dataclass(frozen=True)
class Moderate:
    """api.update(moderation_status=...): a manual moderation's decision."""

    name: str
    status: str
    resource_type: str = "image"


@dataclass(frozen=True)
class Access:
    """api.update(access_control=[...]): one rule per access_type; none removes them."""

    name: str
    access_types: tuple[str, ...]
    resource_type: str = "image"


@dataclass(frozen=True)
class Restore:
    """api.restore: deleted assets back from their backups."""

    names: tuple[str, ...]
    resource_type: str = "image"


@dataclass(frozen=True)
class RenameFolder:
    """api.rename_folder: every asset in the folder (and below) moves with it."""

    source: str
    target: str
    resource_type: str = "image"  # unused: folders hold every type


Op = (
    Upload
    | Rename
    | Tags
    | Context
    | Update
    | Destroy
    | DeleteResources
    | Moderate
    | Access
    | Restore
    | RenameFolder
)
# the structured metadata fields Update(field="metadata") writes: defined up front, as
# Cloudinary refuses values of undefined fields
METADATA_FIELDS = ("k", "j")


def define_metadata_fields(opts: Opts) -> None:
    """Define METADATA_FIELDS (string fields) on a freshly reset account."""
    for external_id in METADATA_FIELDS:
        cloudinary.api.add_metadata_field(
            {"external_id": external_id, "label": external_id, "type": "string"},
            **opts,
        )


def access_rules(access_types: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"access_type": access_type} for access_type in access_types]


_REFUSED = (
    cloudinary.exceptions.NotFound,
    cloudinary.exceptions.BadRequest,
    cloudinary.exceptions.AlreadyExists,  # a folder renamed onto an existing one
)


def run(op: Op, opts: Opts) -> bool:
    """Perform `op` through the SDK; False when the account's state refused it."""
    try:
        _perform(op, opts)
    except _REFUSED:
        return False
    return True


def _perform(op: Op, opts: Opts) -> None:
    rt = {"resource_type": op.resource_type}
    match op:
        case Upload():
            _upload(op, opts)
        case Rename():
            cloudinary.uploader.rename(
                op.source, op.target, overwrite=op.overwrite, **rt, **opts
            )
        case Tags(command="remove_all"):
            cloudinary.uploader.remove_all_tags(list(op.names), **rt, **opts)
        case Tags():
            call = {
                "add": cloudinary.uploader.add_tag,
                "remove": cloudinary.uploader.remove_tag,
                "replace": cloudinary.uploader.replace_tag,
            }[op.command]
            call(op.tag, list(op.names), **rt, **opts)
        case Context(command="add"):
            cloudinary.uploader.add_context(
                dict(op.context), list(op.names), **rt, **opts
            )
        case Context():
            cloudinary.uploader.remove_all_context(list(op.names), **rt, **opts)
        case Update():
            _update(op, opts)
        case Destroy():
            cloudinary.uploader.destroy(op.name, **rt, **opts)
        case DeleteResources():
            cloudinary.api.delete_resources(list(op.names), **rt, **opts)
        case Moderate():
            cloudinary.api.update(op.name, moderation_status=op.status, **rt, **opts)
        case Access():
            rules = access_rules(op.access_types)
            cloudinary.api.update(op.name, access_control=rules, **rt, **opts)
        case Restore():
            cloudinary.api.restore(list(op.names), **rt, **opts)
        case RenameFolder():
            cloudinary.api.rename_folder(op.source, op.target, **opts)


def _upload(op: Upload, opts: Opts) -> None:
    extra: dict[str, Any] = {}
    if op.tags is not None:
        extra["tags"] = list(op.tags)
    if op.context is not None:
        extra["context"] = dict(op.context)
    if op.asset_folder is not None:
        extra["asset_folder"] = op.asset_folder
    if op.moderated:
        extra["moderation"] = "manual"
    if op.backup:
        extra["backup"] = True
    data = png_bytes(*op.size)
    if op.resource_type == "raw":
        # a few bytes a name says are text: the emulator stores it as raw (no dimensions)
        data = b"raw " * (op.size[0] * op.size[1])
    cloudinary.uploader.upload(
        io.BytesIO(data),
        public_id=op.name,
        resource_type=op.resource_type,
        overwrite=True,
        **extra,
        **opts,
    )


def _update(op: Update, opts: Opts) -> None:
    value = dict(op.value) if op.field in ("context", "metadata") else op.value
    if op.field == "tags":
        value = list(op.value)
    if op.explicit:
        cloudinary.uploader.explicit(
            op.name,
            type="upload",
            resource_type=op.resource_type,
            **{op.field: value},
            **opts,
        )
    else:
        cloudinary.api.update(
            op.name, resource_type=op.resource_type, **{op.field: value}, **opts
        )
