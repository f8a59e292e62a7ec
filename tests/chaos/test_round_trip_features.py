"""Round trips of the newer features (issue #16): moderation, access control, backups and
restores, folder renames and structured metadata, each delivered in the orders that
matter (reversed, the late duplicate, the re-fetch that finds a placeholder), compared
field by field with the Admin API like every round trip (test_round_trip_regressions.py).
"""

from __future__ import annotations

import pytest

from tests.chaos import ops
from tests.chaos.roundtrip import RoundTrip
from tests.chaos.test_round_trip_regressions import assert_round_trip


@pytest.mark.parametrize("plan", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]])
def test_moderation_and_access_control_in_any_order(
    round_trip: RoundTrip, plan: list[int]
) -> None:
    history: list[ops.Op] = [
        ops.Upload("a", moderated=True),
        ops.Moderate("a", "approved"),
        ops.Access("a", ("token",)),
        ops.Access("a", ()),
    ]
    assert_round_trip(round_trip, history, plan=plan, notifications=4)


@pytest.mark.parametrize(
    "plan",
    [[0, 1, 2], [2, 1, 0], [0, 2, 1], [1, 0, 2], [0, 1, 2, 0, 1]],
    ids=["in order", "reversed", "restore first", "delete first", "late duplicates"],
)
def test_a_restore_brings_the_asset_back_and_nothing_late_undoes_it(
    round_trip: RoundTrip, plan: list[int]
) -> None:
    history: list[ops.Op] = [
        ops.Upload("a", backup=True),
        ops.Destroy("a"),
        ops.Restore(("a",)),
    ]
    assert_round_trip(round_trip, history, plan=plan, notifications=3)


def test_a_restore_then_a_delete_stays_deleted(round_trip: RoundTrip) -> None:
    history: list[ops.Op] = [
        ops.Upload("a", backup=True),
        ops.Destroy("a"),
        ops.Restore(("a",)),
        ops.Destroy("a"),
    ]
    assert_round_trip(round_trip, history, plan=[3, 2, 0, 1], notifications=4)


def test_a_re_fetch_that_finds_a_placeholder_does_not_revive_the_asset(
    round_trip: RoundTrip,
) -> None:
    # the display-name change arrives first (asset not held: re-fetched), when the
    # asset is deleted; with backups its details remain, as a placeholder
    history: list[ops.Op] = [
        ops.Upload("a", backup=True),
        ops.Update("a", "display_name", "n1"),
        ops.Destroy("a"),
    ]
    assert_round_trip(round_trip, history, plan=[1, 2, 0], notifications=3)


@pytest.mark.parametrize("plan", [[0, 1], [1, 0]])
def test_an_upload_into_a_folder_renamed_later_ends_in_the_new_folder(
    round_trip: RoundTrip, plan: list[int]
) -> None:
    history: list[ops.Op] = [
        ops.Upload("a", asset_folder="x"),
        ops.RenameFolder("x", "y"),
    ]
    assert_round_trip(round_trip, history, plan=plan, notifications=2)


def test_a_move_into_a_folder_renamed_later_ends_in_the_new_folder(
    round_trip: RoundTrip,
) -> None:
    history: list[ops.Op] = [
        ops.Upload("a"),
        ops.Update("a", "asset_folder", "x"),
        ops.RenameFolder("x", "y"),
    ]
    assert_round_trip(round_trip, history, plan=[2, 0, 1], notifications=3)


@pytest.mark.parametrize("plan", [[0, 1, 2], [2, 1, 0]])
def test_structured_metadata_changes_in_any_order(
    round_trip: RoundTrip, plan: list[int]
) -> None:
    history: list[ops.Op] = [
        ops.Upload("a"),
        ops.Update("a", "metadata", (("k", "v1"), ("j", "v2"))),
        ops.Update("a", "metadata", (("k", "v2"),)),
    ]
    assert_round_trip(round_trip, history, plan=plan, notifications=3)
