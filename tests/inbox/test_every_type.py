"""Every notification type in the reference, posted signed to the receiver, then applied."""

import pytest
from sqlalchemy import select

from db.models import MediaAsset, WebhookInbox
from tests.inbox import payloads as p
from tests.webhook_receiver.helpers import WEBHOOK, signed
from workers.celery_app import session_scope
from workers.inbox import batch as inbox

PIC = "t/pic"


def rows():
    with session_scope() as session:
        return {
            (a.public_id, a.deleted_at is None): a
            for a in session.scalars(select(MediaAsset).order_by(MediaAsset.id))
        }


def live(public_id):
    return rows()[(public_id, True)]


CASES = {
    "upload": (p.upload(PIC, 2, t=10, width=7), lambda: live(PIC).width == 7),
    "delete": (p.delete(PIC, 1, t=10), lambda: (PIC, True) not in rows()),
    "rename": (p.rename(PIC, "t/new", t=10), lambda: live("t/new").asset_id),
    "move": (
        p.move(PIC, "t/elsewhere", t=10),
        lambda: live(PIC).folder == "t/elsewhere",
    ),
    "resource_tags_changed": (
        p.tags_changed(PIC, ["b"], ["catalog"], t=10),
        lambda: live(PIC).tags == ["b"],
    ),
    "resource_context_changed": (
        p.context_changed(PIC, added={"alt": "A"}, t=10),
        lambda: live(PIC).context == {"alt": "A"},
    ),
    "resource_display_name_changed": (
        p.display_name_changed(PIC, "Pic", t=10),
        lambda: live(PIC).display_name == "Pic",
    ),
    # no Cloudinary account here: these are marked for reconciliation
    # (tests/inbox/test_emulator.py re-fetches them for real)
    "resource_metadata_changed": (
        p.metadata_changed(PIC, t=10),
        lambda: live(PIC).sync_status == "needs_refresh",
    ),
    "access_control_changed": (
        p.access_control_changed(PIC, t=10),
        lambda: live(PIC).access_control == [{"access_type": "token"}],
    ),
    "restore_asset_version": (
        p.restore_asset_version(PIC, t=10),
        lambda: live(PIC).sync_status == "needs_refresh",
    ),
    "moderation": (
        p.moderation(PIC, 1, t=10),
        lambda: (
            (live(PIC).moderation_status, live(PIC).moderation_kind)
            == ("approved", "manual")
        ),
    ),
    "delete_by_token": (
        p.delete_by_token(PIC, t=10),
        lambda: live(PIC).sync_status == "needs_refresh",
    ),
    "move_or_rename_asset_folder": (
        p.folder_renamed("t", "u", t=10),
        lambda: live(PIC).sync_status == "needs_refresh",
    ),
    "multi": (p.multi("spring", t=10), lambda: live(PIC).sync_status == "synced"),
    "eager": (p.eager(PIC), lambda: live(PIC).sync_status == "synced"),
    "create_folder": (p.create_folder("t/x"), lambda: len(rows()) == 1),
    "delete_folder": (p.delete_folder("t/x"), lambda: len(rows()) == 1),
}
# official types with nothing to mirror: stored, then ignored
IGNORED = [
    "bulk_refresh_auto_fetch",
    "error",
    "explode",
    "generate_archive",
    "info",
    "invalidate_custom_cdn",
    "moderation_summary",
    "publish",
    "report",
    "sprite",
]


def post_and_apply(client, body):
    raw, headers = signed(body)
    answer = client.post(WEBHOOK, data=raw, headers=headers)
    assert answer.status_code == 202
    inbox.drain(session_scope, fetcher=None)
    with session_scope() as session:
        return session.get_one(WebhookInbox, answer.json["inbox_id"]).status


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_handled_type_ends_in_the_expected_row_state(receiver_client, kind):
    assert post_and_apply(receiver_client, p.upload(PIC, 1, t=0)) == "applied"
    body, expected = CASES[kind]
    assert post_and_apply(receiver_client, body) == "applied"
    assert expected()


@pytest.mark.parametrize("kind", IGNORED)
def test_types_with_nothing_to_mirror_are_stored_and_ignored(receiver_client, kind):
    assert post_and_apply(receiver_client, p.upload(PIC, 1, t=0)) == "applied"
    body = {"notification_type": kind, "public_id": PIC, "asset_id": "x"}
    assert post_and_apply(receiver_client, body) == "ignored"
    assert live(PIC).sync_status == "synced"
