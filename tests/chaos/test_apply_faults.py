"""The inbound path under infrastructure faults: workers SIGKILLed mid-apply, Redis flushed
and crashed, PostgreSQL restarted, the listener SIGKILLed, while the emulator's own
notifications flow to the receiver over HTTP.

Every scenario runs on servers it starts itself (tests/chaos/services.py) and asserts
properties, never tight timings: nothing the receiver accepted is lost, every inbox row ends
applied, nothing takes effect twice, and the mirror equals the emulator's Admin API view.
Each prints its counts. MEDIASYNC_CHAOS=full makes the histories and the faults bigger.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.chaos.services import (
    Deliveries,
    Stack,
    Traffic,
    duplicate_effects,
    full_profile,
    mirror_mismatches,
    private_stack,
    unaccounted,
    wait_settled,
)
from tests.waiting import wait_until


@dataclass(frozen=True)
class Sizes:
    operations: int  # SDK calls in the flowing history
    pace_s: float  # pause between two calls
    kills: int  # worker SIGKILLs in (a)
    reserved: int  # assets deleted from the mirror in (c) and (d)
    down_s: float  # seconds PostgreSQL or Redis stays down


SIZES = (
    Sizes(operations=600, pace_s=0.03, kills=10, reserved=40, down_s=6.0)
    if full_profile()
    else Sizes(operations=100, pace_s=0.06, kills=3, reserved=5, down_s=3.0)
)
# Generous: the quick profile proves nothing is lost; the time is printed, not judged
SETTLE_TIMEOUT_S = 90.0
# After Redis returns the inbox sweep (every 5 s, for rows overdue 5 s) or a new wake-up
# must find every row; issue 13 asks for 15 s, this bound leaves the machine room.
REDIS_RECOVERY_BOUND_S = 30.0
# The cleanup sweep runs this rarely in (c) and (d), so that only the listener's catch-up
# can process the deletes these scenarios queue behind its back.
SLOW_CLEANUP_SWEEP_S = 120

pytestmark = pytest.mark.timeout(300)


def report(scenario: str, **counts: object) -> None:
    print(f"\nchaos {scenario}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))


def outcome(stack: Stack) -> tuple[Deliveries, list[str]]:
    """The settled run's deliveries and mirror mismatches, read before the report is
    printed (the asserts come after it, so a failing run still shows its counts)."""
    return Deliveries.read(stack.emulator), mirror_mismatches(stack)


def assert_nothing_lost(
    stack: Stack, traffic: Traffic, deliveries: Deliveries, mismatches: list[str]
) -> None:
    assert traffic.errors == []
    assert deliveries.gave_up == 0, "the emulator gave up on a notification"
    assert unaccounted(stack, deliveries) == [], "accepted notifications were lost"
    inbox = stack.inbox_counts()
    assert set(inbox) <= {"applied", "ignored"}, inbox
    assert duplicate_effects(stack) == 0, "an event took effect twice"
    assert mismatches == [], "\n".join(mismatches[:20])


def start_workers(stack: Stack, names: list[str], row_delay_ms: int = 0) -> None:
    for name in names:
        stack.start_worker(name, row_delay_ms=row_delay_ms)
    stack.wait_workers_ready(names)


def test_workers_killed_during_apply_leave_every_notification_applied_once(
    server_dir: Path,
) -> None:
    started = time.monotonic()
    with private_stack(server_dir) as stack:
        stack.start_receiver()
        # each applied row holds the batch open 15 ms longer, so kills land mid-batch
        start_workers(stack, ["w1", "w2"], row_delay_ms=15)
        stack.start_beat(cleanup_sweep_s=30)
        traffic = Traffic(stack, "kill", seed=1)
        traffic.start(SIZES.operations, SIZES.pace_s)
        kills: list[str] = []
        spawned = 2
        while len(kills) < SIZES.kills and traffic.running():
            victims = stack.open_worker_transactions()
            if not victims:
                time.sleep(0.005)
                continue
            victim = victims[0]
            # alternately the whole worker (a lost pod) and only its pool child (an OOM
            # kill: Celery's parent sees the child lost and gives the message back)
            if len(kills) % 2 == 0:
                stack.kill(victim)
                spawned += 1
                stack.start_worker(f"w{spawned}", row_delay_ms=15)
                kills.append(f"{victim} (worker)")
            else:
                stack.kill_pool_child(victim)
                kills.append(f"{victim} (pool child)")
            time.sleep(SIZES.operations * SIZES.pace_s / (SIZES.kills + 2))
        traffic.join()
        flow_ended = time.monotonic()
        settle_s = wait_settled(stack, SETTLE_TIMEOUT_S)
        deliveries, mismatches = outcome(stack)
        attempts = dict(
            stack.query("SELECT attempts, count(*) FROM webhook_inbox GROUP BY 1")
        )
        report(
            "(a) workers SIGKILLed mid-apply",
            sdk_calls=dict(traffic.calls),
            sent=deliveries.sent,
            answers=dict(deliveries.answers),
            kills=len(kills),
            killed=kills,
            inbox=stack.inbox_counts(),
            attempts=attempts,
            mismatches=len(mismatches),
            settle_after_flow_s=round(settle_s, 1),
            flow_s=round(flow_ended - started, 1),
            total_s=round(time.monotonic() - started, 1),
        )
        assert len(kills) == SIZES.kills, "the history ended before every kill"
        assert set(deliveries.answers) == {"202"}
        assert_nothing_lost(stack, traffic, deliveries, mismatches)


def test_redis_flushed_and_crashed_loses_no_notification(server_dir: Path) -> None:
    started = time.monotonic()
    with private_stack(server_dir) as stack:
        stack.start_receiver()
        start_workers(stack, ["w1", "w2"])
        stack.start_beat(cleanup_sweep_s=30)
        traffic = Traffic(stack, "redis", seed=2)
        traffic.start(SIZES.operations, SIZES.pace_s)
        flow_s = SIZES.operations * SIZES.pace_s
        time.sleep(flow_s * 0.15)
        stack.flush_redis()  # queued wake-ups and the wake-up key gone
        time.sleep(flow_s * 0.1)
        stack.flush_redis()
        time.sleep(flow_s * 0.1)
        stack.crash_redis()
        time.sleep(SIZES.down_s)  # the receiver keeps storing; wake-ups fail
        stack.redis.start()  # same port, empty
        back = time.monotonic()
        traffic.join()
        flow_ended = time.monotonic()
        wait_settled(stack, SETTLE_TIMEOUT_S)
        recovered_s = time.monotonic() - back
        # The tail no later wake-up can rescue: notifications stored while Redis is
        # down, then the receiver that owed their wake-up dies with it (a pod replaced
        # during the outage), then Redis returns empty and nothing more arrives. Only
        # beat's inbox sweep can find these rows.
        stack.crash_redis()
        traffic.run(SIZES.operations // 10, SIZES.pace_s)
        assert stack.emulator.wait_deliveries_idle(SETTLE_TIMEOUT_S)
        stack.kill("receiver")
        stack.start_receiver()
        stack.redis.start()
        back_again = time.monotonic()
        stranded = stack.inbox_counts().get("pending", 0)
        wait_settled(stack, SETTLE_TIMEOUT_S)
        swept_s = time.monotonic() - back_again
        deliveries, mismatches = outcome(stack)
        report(
            "(b) Redis flushed twice and crashed under traffic, then crashed again"
            " with a stranded tail",
            sdk_calls=dict(traffic.calls),
            sent=deliveries.sent,
            answers=dict(deliveries.answers),
            inbox=stack.inbox_counts(),
            mismatches=len(mismatches),
            redis_down_s=SIZES.down_s,
            flow_after_redis_back_s=round(max(0.0, flow_ended - back), 1),
            applied_after_redis_back_s=round(recovered_s, 1),
            stranded_tail=stranded,
            tail_applied_after_redis_back_s=round(swept_s, 1),
            total_s=round(time.monotonic() - started, 1),
        )
        # a broker outage is not the sender's problem: every answer is still 202
        assert set(deliveries.answers) == {"202"}
        assert_nothing_lost(stack, traffic, deliveries, mismatches)
        assert stranded > 0, "no row was stranded: the tail proves nothing"
        assert recovered_s < REDIS_RECOVERY_BOUND_S
        assert swept_s < REDIS_RECOVERY_BOUND_S


def test_postgres_restarted_under_every_part_loses_nothing(server_dir: Path) -> None:
    started = time.monotonic()
    with private_stack(server_dir) as stack:
        stack.start_receiver()
        start_workers(stack, ["w1", "w2"])
        stack.start_listener()
        stack.start_beat(cleanup_sweep_s=SLOW_CLEANUP_SWEEP_S)
        reserved = Traffic(stack, "pg-reserved", seed=30)
        doomed = [reserved.upload() for _ in range(SIZES.reserved)]
        wait_settled(stack, SETTLE_TIMEOUT_S)
        traffic = Traffic(stack, "pg", seed=3)
        traffic.start(SIZES.operations, SIZES.pace_s)
        time.sleep(SIZES.operations * SIZES.pace_s * 0.25)
        stack.restart_postgres(SIZES.down_s)
        # at once, while the listener is still backing off its reconnect
        listener_was_connected = stack.hard_delete(doomed)
        deleted_at = time.monotonic()
        traffic.join()
        flow_ended = time.monotonic()
        cleanup_s = wait_until(
            lambda: (
                set(stack.cleanups_of(doomed).values()) == {"completed"}
                and time.monotonic() - deleted_at
            ),
            timeout=SETTLE_TIMEOUT_S,
            what="the hard deletes' cleanups",
        )
        sweeps_before_cleanup = stack.cleanup_sweeps_fired()
        wait_settled(stack, SETTLE_TIMEOUT_S)
        deliveries, mismatches = outcome(stack)
        still_in_emulator = [
            p for p in doomed if stack.emulator.client.asset("image", "upload", p)
        ]
        exited = {
            name: process.returncode
            for name, process in stack.processes.items()
            if process.poll() is not None
        }
        report(
            "(c) PostgreSQL restarted under receiver, listener, workers and beat",
            sdk_calls=dict(traffic.calls),
            sent=deliveries.sent,
            answers=dict(deliveries.answers),
            inbox=stack.inbox_counts(),
            cleanup=stack.cleanup_counts(),
            mismatches=len(mismatches),
            postgres_down_s=SIZES.down_s,
            listener_connected_at_delete=listener_was_connected,
            cleanup_done_after_delete_s=round(cleanup_s, 1),
            cleanup_sweeps_before=sweeps_before_cleanup,
            settle_after_flow_s=round(time.monotonic() - flow_ended, 1),
            total_s=round(time.monotonic() - started, 1),
        )
        assert deliveries.answers["503"] >= 1, "no delivery met the outage"
        assert set(deliveries.answers) <= {"202", "503"}
        assert_nothing_lost(stack, traffic, deliveries, mismatches)
        assert exited == {}, "a part did not survive the restart"
        assert stack.beat_leads(), "beat did not take its leader lock back"
        seen = stack.listener_seen("listener")
        assert seen is not None, "the listener's heartbeat is gone"
        assert seen < 10, "the listener's heartbeat stopped"
        assert still_in_emulator == []
        # the listener's catch-up found the deletes, not the (slow) cleanup sweep
        assert sweeps_before_cleanup == 0


def test_cleanups_queued_while_the_listener_was_dead_are_processed(
    server_dir: Path,
) -> None:
    started = time.monotonic()
    with private_stack(server_dir) as stack:
        stack.start_receiver()
        start_workers(stack, ["w1", "w2"])
        stack.start_listener("listener-1")
        stack.start_beat(cleanup_sweep_s=SLOW_CLEANUP_SWEEP_S)
        reserved = Traffic(stack, "listener-reserved", seed=40)
        doomed = [reserved.upload() for _ in range(SIZES.reserved)]
        wait_settled(stack, SETTLE_TIMEOUT_S)
        traffic = Traffic(stack, "listener", seed=4)
        traffic.start(SIZES.operations // 2, SIZES.pace_s)
        stack.kill("listener-1")
        # in several transactions, as an application deletes: each NOTIFY goes unheard
        half = len(doomed) // 2
        stack.hard_delete(doomed[:half])
        stack.hard_delete(doomed[half:])
        time.sleep(1.0)
        while_dead = stack.cleanups_of(doomed)
        stack.start_listener("listener-2")
        restarted = time.monotonic()
        cleanup_s = wait_until(
            lambda: (
                set(stack.cleanups_of(doomed).values()) == {"completed"}
                and time.monotonic() - restarted
            ),
            timeout=SETTLE_TIMEOUT_S,
            what="the cleanups queued while the listener was dead",
        )
        sweeps_before_cleanup = stack.cleanup_sweeps_fired()
        traffic.join()
        flow_ended = time.monotonic()
        wait_settled(stack, SETTLE_TIMEOUT_S)
        deliveries, mismatches = outcome(stack)
        still_in_emulator = [
            p for p in doomed if stack.emulator.client.asset("image", "upload", p)
        ]
        report(
            "(d) listener SIGKILLed, rows deleted, listener restarted",
            sdk_calls=dict(traffic.calls),
            sent=deliveries.sent,
            answers=dict(deliveries.answers),
            inbox=stack.inbox_counts(),
            cleanup=stack.cleanup_counts(),
            deleted=len(doomed),
            cleanup_while_dead=sorted(set(while_dead.values())),
            cleanup_done_after_restart_s=round(cleanup_s, 1),
            cleanup_sweeps_before=sweeps_before_cleanup,
            mismatches=len(mismatches),
            settle_after_flow_s=round(time.monotonic() - flow_ended, 1),
            total_s=round(time.monotonic() - started, 1),
        )
        # nothing else processed them while the listener was dead (else this proves nothing)
        assert set(while_dead.values()) == {"pending"}
        assert len(while_dead) == len(doomed)
        assert sweeps_before_cleanup == 0
        assert still_in_emulator == []
        assert set(deliveries.answers) == {"202"}
        assert_nothing_lost(stack, traffic, deliveries, mismatches)
