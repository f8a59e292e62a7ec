"""The shared Admin API budget, on a real Redis."""

import threading
import time

import pytest
import redis

from workers.rate_governor import RateGovernor


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


def make(redis_client, now=None, **options):
    clock = (lambda: now[0]) if now is not None else time.time
    return RateGovernor(redis_client, "acct", clock=clock, **options)


def test_an_unknown_budget_allows_calls(redis_client):
    governor = make(redis_client)
    assert governor.acquire()
    assert not governor.snapshot().known
    assert governor.wait_time() == 0


def test_acquire_spends_the_observed_budget_down_to_the_reserve(redis_client):
    governor = make(redis_client)
    governor.observe(100, 13, time.time() + 600)

    granted = sum(governor.acquire() for _ in range(10))

    # 10% of 100 stays in reserve for other Admin callers
    assert granted == 3
    assert governor.snapshot().remaining == 10
    assert 590 < governor.wait_time() <= 600


def test_workers_sharing_a_budget_never_overspend_it(redis_client, redis_url):
    make(redis_client).observe(100, 60, time.time() + 600)
    granted = []

    def worker():
        client = redis.Redis.from_url(redis_url)
        governor = make(client)
        granted.append(sum(governor.acquire() for _ in range(40)))
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(granted) == 50


def test_answers_arriving_out_of_order_keep_the_lowest_remaining(redis_client):
    governor = make(redis_client)
    reset = time.time() + 600
    governor.observe(100, 80, reset)
    governor.observe(100, 90, reset)  # an older answer, delivered late
    assert governor.snapshot().remaining == 80

    governor.observe(100, 95, reset - 3600)  # from the previous window
    assert governor.snapshot().remaining == 80

    governor.observe(100, 99, reset + 3600)  # the next window began
    assert governor.snapshot().remaining == 99


def test_the_budget_is_unknown_again_once_its_window_has_reset(redis_client):
    now = [1_000_000.0]
    governor = make(redis_client, now=now)
    governor.observe(100, 0, now[0] + 60)
    assert not governor.acquire()
    assert governor.wait_time() == 60

    now[0] += 61

    assert governor.acquire()
    assert not governor.snapshot().known


def test_a_refusal_marks_the_budget_spent_until_the_known_reset(redis_client):
    governor = make(redis_client)
    reset = time.time() + 1800
    governor.observe(500, 400, reset)

    governor.exhausted(time.time() + 60)

    snapshot = governor.snapshot()
    assert (snapshot.limit, snapshot.remaining) == (500, 0)
    assert abs(snapshot.reset_at.timestamp() - reset) < 1
    assert not governor.acquire()


def test_refund_returns_an_unused_call(redis_client):
    governor = make(redis_client)
    governor.observe(100, 50, time.time() + 600)
    assert governor.acquire()
    governor.refund()
    assert governor.snapshot().remaining == 50


def test_snapshot_is_plain_data_for_status_and_metrics(redis_client):
    governor = make(redis_client, reserve_fraction=0.2)
    governor.observe(2000, 1500, time.time() + 600)

    data = governor.snapshot().as_dict()

    assert data["cloud_name"] == "acct"
    assert (data["limit"], data["remaining"], data["reserve"]) == (2000, 1500, 400)
    assert isinstance(data["reset_at"], str)
