"""What upload and explicit do beyond storing the file: moderation, access control, and
the derived resources (`eager`, `responsive_breakpoints`) with their result fields."""

from __future__ import annotations

import time
from typing import Any

from cloudinary_emulator import payloads
from cloudinary_emulator.errors import bad_param
from cloudinary_emulator.forms import Form
from cloudinary_emulator.payloads import Payload
from cloudinary_emulator.store import Asset, random_hex
from cloudinary_emulator.upload_eager import make_breakpoints, make_eager
from cloudinary_emulator.upload_params import access_control

_ACCESS_MODES = ("public", "authenticated")


def apply_on_upload(asset: Asset, form: Form) -> None:
    """Moderation queue entries, access_control and access_mode from the form."""
    moderation = form.get("moderation")
    if moderation:
        now = time.time()
        # Only manual moderation works without an add-on; it waits for a reviewer.
        asset.moderation = [
            {"kind": kind, "status": "pending", "updated_at": now}
            for kind in moderation.split("|")
            if kind == "manual"
        ]
    if form.get("access_control"):
        asset.access_control = access_control(form.get("access_control"))
    mode = form.get("access_mode")
    if mode:
        if mode not in _ACCESS_MODES:
            raise bad_param("access_mode", mode)
        asset.access_mode = mode


def derive(
    asset: Asset, form: Form, cloud_name: str
) -> tuple[dict[str, Any], Payload | None]:
    """(extra result fields, an `eager` notification when eager_async was asked for)."""
    extra: dict[str, Any] = {}
    note: Payload | None = None
    if form.get("eager"):
        items = make_eager(asset, form.get("eager"), cloud_name)
        if form.flag("eager_async", False):
            note = payloads.eager(asset, items, random_hex(1)[0])
        else:
            extra["eager"] = items
    if form.get("responsive_breakpoints"):
        extra["responsive_breakpoints"] = make_breakpoints(
            asset, form.get("responsive_breakpoints"), cloud_name
        )
    return extra, note
