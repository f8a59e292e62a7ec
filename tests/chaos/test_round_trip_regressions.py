"""Round trips that went wrong, kept as plain deterministic tests: each names its SDK
operations and the order its notifications are delivered in (indexes into the order the
emulator produced them), and asserts the live mirror equals the Admin API's view.

The first was shrunk by test_round_trip_property.py; the others pin the four causes
issue 13 traced in the apply, each in the smallest history that shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tests.chaos import ops
from tests.chaos.roundtrip import RoundTrip, describe


def assert_round_trip(
    round_trip: RoundTrip,
    history: Sequence[ops.Op],
    plan: Sequence[int],
    drains: Sequence[int] = (),
    *,
    notifications: int,
) -> None:
    round_trip.reset()
    captured = round_trip.perform(history)
    # the history must still produce what the plan indexes (guards against an emulator
    # change silently turning this into a different test)
    assert len(captured) == notifications, describe(captured, range(len(captured)))
    state = round_trip.deliver(captured, plan, drains)
    result = round_trip.differences()
    print(f"\n{describe(captured, plan)}\n{state}\n{result.report()}")
    assert (state.pending, state.failed) == (0, 0), str(state)
    assert result.asserted == [], result.report()


def test_an_upload_delivered_after_the_delete_of_a_later_version_does_not_revive(
    round_trip: RoundTrip,
) -> None:
    # shrunk by hypothesis: the asset is gone, yet its last upload, late, made it live
    # again (issue 13, cause 1: the delete left no version/time on the live row)
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Upload("a", (1, 1)),
        ops.Upload("a", (1, 1)),
        ops.Destroy("a"),
    ]
    assert_round_trip(round_trip, history, plan=[0, 1, 3, 2], notifications=4)


def test_a_late_upload_never_revives_an_asset_deleted_after_it(
    round_trip: RoundTrip,
) -> None:
    # cause 1 in two uploads: the delete applies to a live row, then v1 arrives
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Upload("a", (2, 3)),
        ops.Destroy("a"),
    ]
    assert_round_trip(round_trip, history, plan=[0, 2, 1], notifications=3)


def test_a_late_rename_of_a_deleted_asset_leaves_the_new_asset_on_its_name_alone(
    round_trip: RoundTrip,
) -> None:
    # cause 2: asset 1 is renamed a -> b and destroyed; asset 2 is uploaded as `a`. The
    # rename of asset 1, arriving last, must not touch asset 2 (same public_id as asset 1
    # once had, another asset_id)
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Rename("a", "b"),
        ops.Destroy("b"),
        ops.Upload("a", (2, 3)),
    ]
    assert_round_trip(round_trip, history, plan=[0, 2, 3, 1], notifications=4)


def test_a_late_re_fetch_of_a_deleted_asset_leaves_the_new_asset_on_its_name_alone(
    round_trip: RoundTrip,
) -> None:
    # cause 2 through a re-fetch: a metadata change (always re-fetched) of asset 1,
    # delivered after asset 1 was destroyed and asset 2 took its public_id; the re-fetch
    # finds asset 1 gone, and that must not mark asset 2 deleted
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Update("a", "metadata", (("k", "v1"),)),
        ops.Destroy("a"),
        ops.Upload("a", (2, 3)),
    ]
    assert_round_trip(round_trip, history, plan=[0, 2, 3, 1], notifications=4)


def test_a_new_asset_on_a_deleted_public_id_keeps_nothing_of_the_old_one(
    round_trip: RoundTrip,
) -> None:
    # cause 3: the old asset had tags and context; the new one, uploaded to the same
    # public_id, has neither (Cloudinary omits an empty context) - in production order
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1), tags=("t1",), context=(("k", "v1"),)),
        ops.Destroy("a"),
        ops.Upload("a", (2, 3)),
    ]
    assert_round_trip(round_trip, history, plan=[0, 1, 2], notifications=3)


def test_a_late_upload_does_not_undo_a_later_tag_change(
    round_trip: RoundTrip,
) -> None:
    # cause 4: the overwrite (v2) happened before the tag was added; delivered after the
    # tag change it must not take the tag away (a higher version, an earlier time)
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Upload("a", (2, 3)),
        ops.Tags("add", ("a",), "t1"),
    ]
    assert_round_trip(round_trip, history, plan=[0, 2, 1], notifications=3)


def test_a_late_upload_does_not_undo_a_later_context_change(
    round_trip: RoundTrip,
) -> None:
    # cause 4 for context: the same shape through add_context
    history: list[ops.Op] = [
        ops.Upload("a", (1, 1)),
        ops.Upload("a", (2, 3)),
        ops.Context("add", ("a",), (("k", "v1"),)),
    ]
    assert_round_trip(round_trip, history, plan=[0, 2, 1], notifications=3)
