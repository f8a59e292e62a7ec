"""The round trip as a property: for any short sequence of SDK operations on a few
colliding names, and any delivery of the notifications they produce (reordered, some
twice, drained at any points in between), the live mirror equals the Admin API's view.

A failure prints the shrunk operations and delivery (hypothesis' falsifying example, plus
a readable account of the notifications in delivery order and the differences); such a
sequence belongs in test_round_trip_regressions.py as a plain test.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from tests.chaos import ops
from tests.chaos.conftest import chaos_mode
from tests.chaos.roundtrip import RoundTrip, describe

FULL = chaos_mode() == "full"
# few names, so uploads overwrite, renames land on taken names and names are reused
NAMES = ("a", "b", "f/c")
TAGS = ("t1", "t2")

names = st.sampled_from(NAMES)
# the folders assets are in: uploads' ("x", or "f" from "f/c"), updates' and renames'
folders = st.sampled_from(("x", "f", "n1", "y"))
some_names = st.lists(names, min_size=1, max_size=3, unique=True).map(tuple)
values = st.sampled_from(("v1", "v2"))
# context and metadata as (key, value) pairs: none, one or both of two keys
pairs = st.fixed_dictionaries({}, optional={"k": values, "j": values}).map(
    lambda d: tuple(sorted(d.items()))
)

uploads = st.builds(
    ops.Upload,
    name=names,
    size=st.sampled_from(((1, 1), (2, 3), (3, 2))),
    tags=st.none() | st.lists(st.sampled_from(TAGS), unique=True).map(tuple),
    context=st.none() | pairs,
    asset_folder=st.sampled_from((None, "x")),
    moderated=st.booleans(),
    backup=st.booleans(),
)
operations = st.one_of(
    uploads,
    st.builds(ops.Rename, source=names, target=names, overwrite=st.booleans()),
    st.builds(
        ops.Tags,
        command=st.sampled_from(("add", "remove", "replace", "remove_all")),
        names=some_names,
        tag=st.sampled_from(TAGS),
    ),
    st.builds(
        ops.Context,
        command=st.sampled_from(("add", "remove_all")),
        names=some_names,
        context=pairs.filter(bool),
    ),
    st.builds(ops.Update, name=names, field=st.just("context"), value=pairs),
    st.builds(
        ops.Update,
        name=names,
        field=st.sampled_from(("display_name", "asset_folder")),
        value=st.sampled_from(("n1", "n2")),
    ),
    st.builds(ops.Update, name=names, field=st.just("metadata"), value=pairs),
    st.builds(ops.Destroy, name=names),
    st.builds(ops.DeleteResources, names=some_names),
    st.builds(
        ops.Moderate, name=names, status=st.sampled_from(("approved", "rejected"))
    ),
    st.builds(
        ops.Access,
        name=names,
        access_types=st.sampled_from(((), ("token",), ("anonymous",))),
    ),
    st.builds(ops.Restore, names=some_names),
    st.builds(ops.RenameFolder, source=folders, target=folders),
)


# a few uploads first: most operations need an asset to act on (else they are refused
# and the history makes no notification)
histories = st.tuples(
    st.lists(uploads, min_size=1, max_size=3), st.lists(operations, max_size=10)
).map(lambda parts: parts[0] + parts[1])


@pytest.mark.timeout(1800 if FULL else 120)
@settings(
    max_examples=400 if FULL else 60,
    deadline=None,
    database=None,  # nothing written into the checkout; a failure prints its example
    # the fixtures are reset by hand at the start of every example
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories, delivery=st.data())
def test_any_delivery_of_any_history_leaves_the_mirror_equal_to_cloudinary(
    round_trip: RoundTrip, history: list[ops.Op], delivery: st.DataObject
) -> None:
    round_trip.reset()
    captured = round_trip.perform(history)
    count = len(captured)
    for kind in sorted({item.notification_type for item in captured}):
        event(kind)  # --hypothesis-show-statistics: which types the histories made
    plan = list(delivery.draw(st.permutations(range(count)), label="order"))
    if count:
        again = delivery.draw(
            st.lists(
                st.tuples(st.integers(0, count - 1), st.integers(0, count)), max_size=3
            ),
            label="duplicates (notification, position)",
        )
        for index, position in again:
            plan.insert(position, index)
    drains = delivery.draw(
        st.sets(st.integers(0, max(0, len(plan) - 1)), max_size=3),
        label="drained after positions",
    )
    state = round_trip.deliver(captured, plan, drains)
    result = round_trip.differences()
    note(f"delivery ({count} notifications):\n{describe(captured, plan)}")
    note(f"{state}\n{result.report(detail=20)}")
    assert (state.pending, state.failed) == (0, 0), str(state)
    assert result.asserted == [], result.report(detail=20)
