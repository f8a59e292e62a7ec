"""The inbox wake-up protocol, shared by the receiver (webhook_receiver/wakeup.py) and the
drain task (workers/inbox/tasks.py).

While WAKEUP_KEY exists, a drain is queued that has not started: whoever would queue
another (the receiver after a commit, a drain fanning a backlog out) skips it, because the
queued drain will see their rows. A drain deletes the key as it starts, before it claims
rows, so a row committed after that gets a wake-up of its own. The TTL bounds the damage of
a wake-up lost after the key was set; the inbox sweep covers the rest. Only a Redis broker
has the key: with another broker every wake-up is sent.
"""

from __future__ import annotations

import redis

WAKEUP_KEY = "mediasync:inbox:wakeup"
WAKEUP_TTL_S = 10
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def has_slot(broker_url: str) -> bool:
    """Whether the broker is Redis, where the protocol's key lives."""
    return broker_url.startswith(_REDIS_SCHEMES)


def take_slot(client: redis.Redis, holder: object) -> bool:
    """Claim the one queued-drain slot (`holder` says who, for debugging); False when a
    queued drain already holds it."""
    return bool(client.set(WAKEUP_KEY, str(holder), nx=True, ex=WAKEUP_TTL_S))


def release_slot(client: redis.Redis) -> None:
    """Free the slot: a drain starting, or a wake-up that could not be sent after all."""
    client.delete(WAKEUP_KEY)
