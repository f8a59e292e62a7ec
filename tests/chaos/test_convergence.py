"""Convergence: generated SDK histories, their notifications delivered to the receiver over
HTTP 3 times in a shuffled order, or once in production order, applied by 2 worker processes;
then every live asset of the emulator's Admin API against every live mirror row.

Quick profile by default; MEDIASYNC_CHAOS=full (`make chaos`): ≥ 2,000 notifications over
≥ 300 public_ids, 5 seeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis

from cloudinary_emulator import Emulator
from tests.chaos import history as histories
from tests.chaos.compare import Comparison, cloudinary_view, compare, mirror_view
from tests.chaos.conftest import chaos_mode
from tests.chaos.delivery import InboxState, deliver, settle, shuffled_copies
from tests.chaos.stack import Stack
from workers.cloudinary_client import CloudinaryClient
from workers.inbox.tasks import wake
from workers.rate_governor import RateGovernor
from workers.reconcile import driver as reconcile

PROFILE = histories.FULL if chaos_mode() == "full" else histories.QUICK
SETTLE_TIMEOUT_S = 240 if PROFILE is histories.FULL else 60
MODES = ("shuffled_x3", "in_order")


def converge(
    stack: Stack,
    history: histories.History,
    mode: str,
    restore: Callable[[histories.History], None],
) -> tuple[Comparison, InboxState]:
    """Deliver `history` to a cleared stack as `mode` says; wait; compare; print counts."""
    restore(history)
    stack.clear()
    items = (
        shuffled_copies(history.notifications, 3, seed=history.seed)
        if mode == "shuffled_x3"
        else list(history.notifications)
    )
    started = time.monotonic()
    secret = stack.settings.account.api_secret
    # shuffled: 4 senders at once (their order is random anyway); in order: one at a time
    answers = deliver(
        stack.receiver_url, items, secret, parallel=4 if mode == "shuffled_x3" else 1
    )
    delivered = time.monotonic()
    state = settle(stack.sessions.begin, wake, timeout=SETTLE_TIMEOUT_S)
    applied = time.monotonic()
    truth = cloudinary_view(stack.settings.account.sdk_config())
    with stack.sessions.begin() as session:
        result = compare(truth, mirror_view(session))
    print(
        f"\n[chaos {PROFILE.name} seed {history.seed} {mode}] operations"
        f" {len(history.operations)}, notifications {len(history.notifications)},"
        f" deliveries {len(items)} (answers {dict(answers)}), public_ids"
        f" {history.public_ids}, delivered in {delivered - started:.1f} s, applied"
        f" {applied - delivered:.1f} s later\n{state}\n{result.report()}"
    )
    assert answers == {202: len(items)}, answers
    assert stack.alive(), stack.log_tail()
    return result, state


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", PROFILE.seeds)
def test_the_mirror_converges_to_cloudinary_whatever_the_delivery(
    chaos_stack: Stack,
    chaos_history: Callable[[int], histories.History],
    restore_truth: Callable[[histories.History], None],
    seed: int,
    mode: str,
) -> None:
    history = chaos_history(seed)
    assert len(history.notifications) >= PROFILE.notifications
    result, state = converge(chaos_stack, history, mode, restore_truth)
    assert (state.pending, state.failed) == (0, 0), str(state)
    assert result.asserted == [], result.report(detail=20)


def test_a_full_reconcile_after_convergence_would_change_nothing(
    chaos_stack: Stack,
    chaos_history: Callable[[int], histories.History],
    restore_truth: Callable[[histories.History], None],
    chaos_emulator: Emulator,
) -> None:
    history = chaos_history(PROFILE.seeds[0])
    converge(chaos_stack, history, "shuffled_x3", restore_truth)
    settings = chaos_stack.settings
    client = redis.Redis.from_url(settings.redis_url)
    try:
        governor = RateGovernor(client, settings.account.cloud_name)
        cloudinary = CloudinaryClient(settings.account, timeout=10)
        # no grace: every row is minutes old at most, and a live row of an asset
        # Cloudinary no longer has must count as a repair here
        limits = reconcile.Limits(grace_s=0.0)
        with chaos_stack.sessions.begin() as session:
            run_id, _ = reconcile.start(session, "full", limits, dry_run=True)
        report = reconcile.execute(
            chaos_stack.sessions, run_id, cloudinary, governor, limits
        )
    finally:
        client.close()
    print(f"dry-run full reconcile: {report.status} {report.counts}")
    assert report.status == "finished", report
    assert (report.counts["updated"], report.counts["inserted"]) == (0, 0), (
        report.counts
    )
