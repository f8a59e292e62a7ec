"""Moderation, access control, restores and folder renames reach the mirror, in any
delivery order."""

from __future__ import annotations

from typing import Any

from cloudinary.exceptions import NotFound

from tests.factories import make_asset
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, assets, live, log_for
from workers.inbox.batch import apply_batch

TOKEN = [{"access_type": "token"}]
ANONYMOUS = [{"access_type": "anonymous", "start": "2026-12-01T00:00:00Z"}]


class Cloudinary:
    """An Admin API that answers with what the test says Cloudinary holds now."""

    def __init__(self) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def resource_by_asset_id(self, asset_id: str) -> Any:
        self.calls += 1
        if asset_id not in self.assets:
            raise NotFound(f"no asset {asset_id}")
        return self.assets[asset_id]

    def resource(self, public_id: str, resource_type: str = "image", delivery_type: str = "upload") -> Any:  # fmt: skip
        self.calls += 1
        for asset in self.assets.values():
            if asset["public_id"] == public_id:
                return asset
        raise NotFound(f"no asset {public_id}")

    def resources_by_asset_folder(self, folder: str, max_results: int) -> Any:
        self.calls += 1
        found = [a for a in self.assets.values() if a.get("asset_folder") == folder]
        return {"resources": found[:max_results]}


def apply(session, *bodies, fetcher=None):
    ids = [add_notification(session, body) for body in bodies]
    apply_batch(session, fetcher=fetcher)
    return ids


def moderation(public_id, status, *, t, version=1, asset_id=True):
    body = p.moderation(public_id, version, t=t)
    body["moderation_status"] = status
    if asset_id:
        body["asset_id"] = p.asset_id_for(public_id)
    return body


def access(public_id, rules, *, t, key="access_control"):
    body = p.access_control_changed(public_id, t=t)
    [item] = body["resources"]
    del item["new_access_control"], item["previous_access_control"]
    item[key] = rules
    return body


def resource(public_id, version, **fields):
    """An Admin API answer, from the upload notification's fields."""
    body = p.upload(public_id, version)
    for key in ("notification_type", "notification_context", "request_id", "timestamp"):
        body.pop(key)
    return {**body, **fields}


# -- moderation ----------------------------------------------------------------------------


def test_a_moderation_decision_sets_status_and_kind(db_session):
    apply(db_session, p.upload("m/a", 1, t=0))
    apply(db_session, moderation("m/a", "approved", t=10))
    row = live(db_session, "m/a")
    assert (row.moderation_status, row.moderation_kind) == ("approved", "manual")
    assert row.sync_status == "synced"


def test_an_older_moderation_arriving_late_does_not_overwrite_the_newer(db_session):
    apply(db_session, p.upload("m/b", 1, t=0))
    apply(db_session, moderation("m/b", "rejected", t=20))
    [late] = apply(db_session, moderation("m/b", "approved", t=10))
    assert live(db_session, "m/b").moderation_status == "rejected"
    assert log_for(db_session, late)[0].status == "stale"


def test_a_late_upload_saying_pending_does_not_undo_the_decision(db_session):
    pending = [{"kind": "manual", "status": "pending"}]
    apply(db_session, moderation("m/c", "approved", t=10))  # before its upload
    apply(db_session, p.upload("m/c", 1, t=0, moderation=pending))
    row = live(db_session, "m/c")
    assert (row.moderation_status, row.moderation_kind) == ("approved", "manual")
    # and delivered the other way round, the same
    apply(db_session, p.upload("m/d", 1, t=0, moderation=pending))
    assert live(db_session, "m/d").moderation_status == "pending"
    apply(db_session, moderation("m/d", "approved", t=10))
    assert live(db_session, "m/d").moderation_status == "approved"


def test_an_upload_without_moderation_keeps_the_status(db_session):
    apply(db_session, p.upload("m/e", 1, t=0))
    apply(db_session, moderation("m/e", "approved", t=10))
    apply(db_session, p.upload("m/e", 2, t=20))  # an overwrite that says nothing of it
    row = live(db_session, "m/e")
    assert (row.version, row.moderation_status) == (2, "approved")


def test_a_moderation_without_asset_id_of_another_version_is_not_trusted(db_session):
    apply(db_session, p.upload("m/f", 2, t=20))
    [late] = apply(db_session, moderation("m/f", "rejected", t=10, asset_id=False))
    row = live(db_session, "m/f")
    assert row.moderation_status is None  # the name's asset may be another one now
    assert row.sync_status == "needs_refresh"  # so it is re-fetched (no account here)
    assert log_for(db_session, late)[0].status == "needs_refresh"
    apply(db_session, moderation("m/f", "approved", t=30, version=2, asset_id=False))
    assert live(db_session, "m/f").moderation_status == "approved"


def test_a_moderation_of_an_asset_not_held_is_re_fetched(db_session):
    cloudinary = Cloudinary()
    pending = [{"kind": "manual", "status": "approved"}]
    cloudinary.assets[p.asset_id_for("m/g")] = resource("m/g", 1, moderation=pending)
    apply(db_session, moderation("m/g", "approved", t=10), fetcher=cloudinary)
    row = live(db_session, "m/g")
    assert (row.moderation_status, row.sync_status) == ("approved", "synced")


# -- access control ------------------------------------------------------------------------


def test_access_control_changes_apply_in_any_order(db_session):
    apply(db_session, access("c/a", ANONYMOUS, t=20), p.upload("c/a", 1, t=0))
    assert live(db_session, "c/a").access_control == ANONYMOUS
    apply(db_session, access("c/a", TOKEN, t=10))  # older: changes nothing
    assert live(db_session, "c/a").access_control == ANONYMOUS
    apply(db_session, access("c/a", [], t=30))  # removed: none
    assert live(db_session, "c/a").access_control is None


def test_the_documented_new_access_control_key_is_read_too(db_session):
    apply(db_session, p.upload("c/b", 1, t=0), p.access_control_changed("c/b", t=10))
    assert live(db_session, "c/b").access_control == TOKEN


def test_an_upload_states_access_mode_and_control(db_session):
    apply(
        db_session,
        p.upload("c/c", 1, t=0, access_mode="authenticated", access_control=TOKEN),
    )
    row = live(db_session, "c/c")
    assert (row.access_mode, row.access_control) == ("authenticated", TOKEN)
    apply(
        db_session, p.upload("c/c", 2, t=10, access_mode="public", access_control=None)
    )
    row = live(db_session, "c/c")
    assert (row.access_mode, row.access_control) == ("public", None)


def test_access_control_without_values_is_re_fetched(db_session):
    cloudinary = Cloudinary()
    cloudinary.assets[p.asset_id_for("c/d")] = resource(
        "c/d", 1, access_mode="public", access_control=TOKEN
    )
    apply(db_session, p.upload("c/d", 1, t=0))
    body = access("c/d", TOKEN, t=10)
    del body["resources"][0]["access_control"]
    apply(db_session, body, fetcher=cloudinary)
    assert cloudinary.calls == 1
    assert live(db_session, "c/d").access_control == TOKEN


# -- restores -------------------------------------------------------------------------------


def test_a_restore_brings_a_deleted_asset_back_and_late_events_keep_it(db_session):
    cloudinary = Cloudinary()
    apply(db_session, p.upload("r/a", 1, t=0))
    apply(db_session, p.delete("r/a", 1, t=10))
    assert live(db_session, "r/a") is None
    cloudinary.assets[p.asset_id_for("r/a")] = resource("r/a", 1, width=640)
    apply(db_session, p.restore_asset_version("r/a", t=20), fetcher=cloudinary)
    assert live(db_session, "r/a").width == 640
    # the delete and the upload again (Cloudinary's retries of them), late: older than
    # the restore (another body: the very same one is a no-op at the inbox)
    retry = {**p.delete("r/a", 1, t=10), "retry": 1}
    apply(db_session, retry, p.upload("r/a", 1, t=0))
    assert live(db_session, "r/a").width == 640
    assert len(assets(db_session, "r/a")) == 1


def test_a_restore_re_fetched_after_a_newer_delete_stays_deleted(db_session):
    cloudinary = Cloudinary()  # holds nothing: deleted again since the restore
    apply(db_session, p.upload("r/b", 1, t=0), p.delete("r/b", 1, t=10))
    apply(db_session, p.restore_asset_version("r/b", t=20), fetcher=cloudinary)
    assert live(db_session, "r/b") is None
    apply(db_session, p.upload("r/b", 1, t=0))  # a stale duplicate never resurrects it
    assert live(db_session, "r/b") is None


def test_a_placeholder_left_by_a_delete_is_not_a_live_asset(db_session):
    """With backups, a deleted asset's details stay (bytes 0, placeholder true) until a
    restore: a re-fetch that gets one must not bring the row back."""
    cloudinary = Cloudinary()
    placeholder = resource("r/p", 1, bytes=0, placeholder=True)
    cloudinary.assets[p.asset_id_for("r/p")] = placeholder
    apply(db_session, p.upload("r/p", 1, t=0), p.delete("r/p", 1, t=10))
    apply(db_session, p.restore_asset_version("r/p", t=5), fetcher=cloudinary)
    assert live(db_session, "r/p") is None
    # a change to an asset not held, re-fetched by name, finds the placeholder too
    gone = resource("r/q", 1, bytes=0, placeholder=True)
    cloudinary.assets[p.asset_id_for("r/q")] = gone
    apply(db_session, p.display_name_changed("r/q", "Q", t=10), fetcher=cloudinary)
    assert live(db_session, "r/q") is None


def test_a_restore_arriving_before_its_delete_still_ends_live(db_session):
    cloudinary = Cloudinary()
    cloudinary.assets[p.asset_id_for("r/c")] = resource("r/c", 1)
    apply(db_session, p.upload("r/c", 1, t=0))
    apply(db_session, p.restore_asset_version("r/c", t=20), fetcher=cloudinary)
    apply(db_session, p.delete("r/c", 1, t=10))  # made before the restore
    assert live(db_session, "r/c") is not None


def test_a_restore_after_the_host_deleted_the_asset_brings_it_back(db_session):
    cloudinary = Cloudinary()
    make_asset(db_session, public_id="r/h", version=1)
    live(db_session, "r/h").deleted_at = p.BASE_TIME  # the host app's soft delete
    db_session.flush()
    # a late upload of that very version: the host's delete stands
    apply(db_session, p.upload("r/h", 1, t=-10))
    assert live(db_session, "r/h") is None
    # the cleanup deleted it in Cloudinary; then someone restored it
    cloudinary.assets[p.asset_id_for("r/h")] = resource("r/h", 1)
    apply(db_session, p.restore_asset_version("r/h", t=20), fetcher=cloudinary)
    assert live(db_session, "r/h").version == 1


def test_a_restore_older_than_the_host_delete_does_not_undo_it(db_session):
    cloudinary = Cloudinary()
    cloudinary.assets[p.asset_id_for("r/o")] = resource("r/o", 1)
    make_asset(db_session, public_id="r/o", version=1)
    live(db_session, "r/o").deleted_at = p.BASE_TIME
    db_session.flush()
    apply(db_session, p.restore_asset_version("r/o", t=-10), fetcher=cloudinary)
    assert live(db_session, "r/o") is None


# -- folder renames ---------------------------------------------------------------------------


def test_an_upload_into_a_folder_renamed_before_it_arrives_ends_in_the_new_one(
    db_session,
):
    cloudinary = Cloudinary()
    cloudinary.assets[p.asset_id_for("d/a")] = resource("d/a", 1, asset_folder="y")
    # the rename (x -> y) arrives first: the mirror has nothing in x yet
    apply(db_session, p.folder_renamed("x", "y", t=20), fetcher=cloudinary)
    assert live(db_session, "d/a").folder == "y"
    # the upload into x, made before the rename, arrives late: older than the listing
    apply(db_session, p.upload("d/a", 1, t=10, asset_folder="x"), fetcher=cloudinary)
    assert live(db_session, "d/a").folder == "y"


def test_a_folder_rename_re_fetches_rows_that_left_the_folder_since(db_session):
    cloudinary = Cloudinary()
    apply(db_session, p.upload("d/b", 1, t=0, asset_folder="x"))
    cloudinary.assets[p.asset_id_for("d/b")] = resource("d/b", 1, asset_folder="z")
    apply(db_session, p.folder_renamed("x", "y", t=20), fetcher=cloudinary)
    assert live(db_session, "d/b").folder == "z"
    assert cloudinary.calls == 2  # the listing of y, then the row still in x
