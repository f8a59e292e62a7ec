"""Events for one asset never regress it, whatever order they arrive in."""

from sqlalchemy import select

from db.models import CleanupQueueItem
from tests.factories import make_asset
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, assets, live, log_for
from workers.inbox import apply_batch


def apply(session, *bodies):
    ids = [add_notification(session, body) for body in bodies]
    apply_batch(session, fetcher=None)
    return ids


def test_an_older_version_arriving_late_does_not_overwrite_the_newer(db_session):
    apply(db_session, p.upload("o/v", 2, t=20, width=222))
    [late] = apply(db_session, p.upload("o/v", 1, t=10, width=111))
    [row] = assets(db_session, "o/v")
    assert (row.version, row.width) == (2, 222)
    [entry] = log_for(db_session, late)
    assert (entry.status, entry.details["detail"]) == ("stale", "older than the mirror")


def test_a_late_upload_never_resurrects_an_asset_deleted_later(db_session):
    apply(db_session, p.upload("o/d", 5, t=0))
    apply(db_session, p.delete("o/d", 5, t=20))
    apply(
        db_session, p.upload("o/d", 5, t=10)
    )  # redelivered late, older than the delete
    assert live(db_session, "o/d") is None


def test_a_delete_before_the_upload_it_follows_still_wins(db_session):
    apply(db_session, p.delete("o/early", 5, t=20))
    apply(db_session, p.upload("o/early", 5, t=10))
    assert live(db_session, "o/early") is None


def test_a_newer_re_upload_after_a_delete_is_live_again(db_session):
    apply(db_session, p.upload("o/re", 5, t=0))
    apply(db_session, p.delete("o/re", 5, t=10))
    apply(db_session, p.upload("o/re", 6, t=20))
    row = live(db_session, "o/re")
    assert row is not None
    assert row.version == 6
    assert len(assets(db_session, "o/re")) == 1  # the tombstone was revived


def test_reviving_a_host_deleted_row_cancels_its_pending_cleanup(db_session):
    make_asset(db_session, public_id="o/host", version=5)
    live(db_session, "o/host").deleted_at = p.BASE_TIME  # the host app's soft delete
    db_session.flush()
    apply(db_session, p.upload("o/host", 5, t=10))  # the same version: stays deleted
    assert live(db_session, "o/host") is None
    apply(db_session, p.upload("o/host", 6, t=20))  # a real re-upload
    assert live(db_session, "o/host").version == 6
    [queued] = db_session.scalars(
        select(CleanupQueueItem).where(CleanupQueueItem.public_id == "o/host")
    ).all()
    db_session.refresh(queued)
    assert queued.status == "skipped"


def test_a_late_upload_after_a_hard_delete_here_does_not_come_back(db_session):
    make_asset(db_session, public_id="o/hard", version=5)
    db_session.delete(live(db_session, "o/hard"))
    db_session.flush()
    [late] = apply(db_session, p.upload("o/hard", 5, t=10))
    assert assets(db_session, "o/hard") == []
    assert log_for(db_session, late)[0].details["detail"] == "deleted here later"


def test_a_delete_of_an_older_version_leaves_the_newer_upload_live(db_session):
    apply(db_session, p.upload("o/new", 6, t=20))
    apply(db_session, p.delete("o/new", 5, t=10))
    assert live(db_session, "o/new").version == 6


def test_an_older_tag_change_does_not_overwrite_a_newer_one(db_session):
    apply(db_session, p.upload("o/t", 1, t=0, tags=[]))
    apply(db_session, p.tags_changed("o/t", ["b"], ["a"], t=20))
    [late] = apply(db_session, p.tags_changed("o/t", ["a"], ["b"], t=10))
    row = live(db_session, "o/t")
    assert row.tags == ["b"]
    # each tag is its own register: the older change loses for both, nothing to re-fetch
    assert row.sync_status == "synced"
    assert log_for(db_session, late)[0].status == "stale"


def test_an_upload_of_the_same_version_older_than_a_diff_does_not_undo_it(db_session):
    apply(db_session, p.upload("o/same", 1, t=0, tags=["x"]))
    apply(db_session, p.tags_changed("o/same", ["sale"], [], t=20))
    apply(db_session, p.upload("o/same", 1, t=0, tags=["x"], request_id="again"))
    assert live(db_session, "o/same").tags == ["x", "sale"]


def test_an_older_rename_after_a_newer_one_leaves_the_newer_name(db_session):
    apply(db_session, p.upload("o/a", 1, t=0))
    apply(db_session, p.rename("o/b", "o/c", t=20, asset_of="o/a"))
    apply(db_session, p.rename("o/a", "o/b", t=10))
    assert live(db_session, "o/c") is not None
    assert live(db_session, "o/b") is None
