"""Events for one asset never regress it, whatever order they arrive in."""

from sqlalchemy import select

from db.models import CleanupQueueItem
from tests.factories import make_asset
from tests.inbox import payloads as p
from tests.inbox.helpers import add_notification, assets, live, log_for
from workers.inbox.batch import apply_batch


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


# The four causes issue 13 traced in the apply before the registers (docs/ordering.md),
# each as the smallest delivery that showed it.


def test_cause_1_a_delete_is_stamped_so_the_upload_before_it_stays_dead(db_session):
    apply(db_session, p.upload("c1/a", 1, t=0))
    apply(db_session, p.delete("c1/a", 2, t=20))  # of version 2, uploaded at t=10
    apply(db_session, p.upload("c1/a", 2, t=10))  # ...whose notification comes last
    assert live(db_session, "c1/a") is None


def test_cause_2_an_old_asset_gone_never_marks_the_new_one_of_its_name(db_session):
    # asset A named c2/p, renamed to c2/q, deleted; asset B uploaded as c2/p later.
    apply(db_session, p.upload("c2/p", 5, t=20, asset_id="B"))
    gone = p.delete("c2/q", 1, t=10)
    gone["resources"][0]["asset_id"] = p.asset_id_for("c2/p")  # asset A
    apply(db_session, gone)
    late = p.rename("c2/p", "c2/q", t=5)  # A's rename, delivered last: A is not held
    [late_id] = apply(db_session, late)
    row = live(db_session, "c2/p")
    assert row is not None
    assert (row.asset_id, row.sync_status) == ("B", "synced")
    assert log_for(db_session, late_id)[0].asset_id == p.asset_id_for("c2/p")


def test_cause_3_a_new_asset_on_a_reused_name_starts_empty(db_session):
    old = p.upload("c3/p", 1, t=0, tags=["t1"], context={"custom": {"k": "v1"}})
    apply(db_session, old)
    apply(db_session, p.delete("c3/p", 1, t=10))
    new = p.upload("c3/p", 2, t=20, asset_id="new-asset", tags=[])
    new.pop("context", None)  # Cloudinary leaves an empty context out
    apply(db_session, new)
    row = live(db_session, "c3/p")
    assert (row.asset_id, row.tags, row.context) == ("new-asset", [], {})
    old_row = [a for a in assets(db_session, "c3/p") if a.asset_id != "new-asset"]
    assert [a.deleted_at is not None for a in old_row] == [True]


def test_cause_4_a_late_upload_does_not_undo_a_later_tag_change(db_session):
    apply(db_session, p.upload("c4/p", 1, t=0, tags=[]))
    apply(db_session, p.tags_changed("c4/p", ["x"], [], t=20))
    apply(db_session, p.upload("c4/p", 2, t=10, tags=[]))  # newer version, older time
    row = live(db_session, "c4/p")
    assert (row.version, row.tags) == (2, ["x"])


def test_a_rename_moves_the_delivery_url_with_the_name(db_session):
    apply(db_session, p.upload("u/old", 7, t=0))
    apply(db_session, p.rename("u/old", "u/new", t=10))
    row = live(db_session, "u/new")
    assert row.secure_url == "https://res.cloudinary.com/demo/image/upload/v7/u/new.jpg"
    assert row.sync_status == "synced"


def test_a_rename_onto_a_name_whose_asset_later_moves_away_never_revives_it(db_session):
    # B held c5/p; A was renamed onto it with overwrite (B is gone, no notification of
    # its own), then A moved on to c5/q. B's upload, delivered last, must not show B.
    a_id = p.asset_id_for("c5/a")
    apply(db_session, p.upload("c5/a", 1, t=0))
    apply(db_session, p.rename("c5/a", "c5/p", t=10))
    apply(db_session, p.rename("c5/p", "c5/q", t=20, asset_of="c5/a"))
    apply(db_session, p.upload("c5/p", 1, t=5, asset_id="B"))
    assert live(db_session, "c5/p") is None
    assert live(db_session, "c5/q").asset_id == a_id
