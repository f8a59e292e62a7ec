"""An operator's decisions on a mass delete the breaker held, at full size: 5,000 rows
restored (the mirror again equal to Cloudinary, nothing deleted there) or released (every
asset gone in ceil(5,000 / 100) delete_resources calls); a copied database adopted."""

from dataclasses import replace

import pytest
from sqlalchemy import text

from tests.cleanup.conftest import FAST, queue_statuses, remaining, seed
from tests.reconcile.conftest import Reconciler, mirror_differences
from workers.cleanup import drain as cleanup
from workers.cleanup import guard
from workers.operations import deletes
from workers.reconcile import driver as reconcile
from workers.reconcile.report import CLASSES

MASS = 5000
DEFAULTS = replace(FAST, guardrails=guard.Guardrails())


def drain(sessions, cloudinary, governor):
    return cleanup.drain(sessions, cloudinary, governor, holder="test", policy=DEFAULTS)


def held_mass_delete(statement, cloud, sessions, cloudinary, governor):
    with sessions.begin() as session:
        session.execute(text(statement))
    cloud.client.reset_counters()
    report = drain(sessions, cloudinary, governor)
    assert report.tripped
    assert queue_statuses(sessions) == {"held": MASS}


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM media_assets", "UPDATE media_assets SET deleted_at = now()"],
    ids=["hard", "soft"],
)
def test_a_restored_mass_delete_gives_every_row_back_and_deletes_nothing(
    statement, cloud, sessions, cloudinary, governor
):
    cloud.client.seed(count=MASS, prefix="t/")
    mirror = Reconciler(sessions, cloudinary, governor, reconcile.Limits())
    mirror.run("full")
    assert mirror_differences(cloud, sessions) == []
    held_mass_delete(statement, cloud, sessions, cloudinary, governor)
    # a reconcile meanwhile takes the held deletes as the host's, waiting: it queues none
    # of its own (they would go around the breaker) and revives nothing
    meanwhile = mirror.run("full").counts
    assert (meanwhile["requeued_cleanup"], meanwhile["unchanged"]) == (0, MASS)
    assert queue_statuses(sessions) == {"held": MASS}

    with sessions.begin() as session:
        restored = deletes.restore(
            session, deletes.Selection(every=True), "test", cloudinary, governor
        )
    drain(sessions, cloudinary, governor)

    assert restored.restored_soft + restored.recreated == MASS
    assert (restored.left, restored.missing) == (0, 0)
    counters = cloud.client.counters()
    assert (counters["delete_resources"], counters["destroy"]) == (0, 0)
    assert len(remaining(cloud)) == MASS
    assert queue_statuses(sessions) == {"cancelled": MASS}
    assert mirror_differences(cloud, sessions) == []
    # a full reconcile afterwards finds nothing to change
    again = mirror.run("full").counts
    changed = {name: again[name] for name in CLASSES if name != "unchanged"}
    assert changed == dict.fromkeys(changed, 0)
    assert again["unchanged"] == MASS


def test_a_released_mass_delete_is_sent_in_batches_of_100(
    cloud, sessions, cloudinary, governor
):
    seed(cloud, sessions, MASS)
    held_mass_delete("DELETE FROM media_assets", cloud, sessions, cloudinary, governor)

    with sessions.begin() as session:
        released = deletes.release(session, deletes.Selection(every=True), "test")
    assert released.breaker_reset
    drain(sessions, cloudinary, governor)

    assert remaining(cloud) == []
    assert cloud.client.counters()["delete_resources"] == -(-MASS // 100)
    assert queue_statuses(sessions) == {"completed": MASS}
    # the burst no longer counts: the next everyday delete goes through
    [public_id] = seed(cloud, sessions, 1, prefix="u/")
    with sessions.begin() as session:
        session.execute(
            text("DELETE FROM media_assets WHERE public_id = :p"), {"p": public_id}
        )
    drain(sessions, cloudinary, governor)
    assert remaining(cloud, "u/") == []
