"""Seeded random histories of SDK operations against the emulator, and what they produced:
every signed notification in production order, and Cloudinary's final state.

The generator keeps a small model of which names are taken so that most operations do
something (a history of refusals would be short on notifications); the emulator stays the
truth, and `ops.run` skips whatever it refuses anyway.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

from cloudinary_emulator import Emulator
from tests.chaos import ops
from tests.chaos.capture import Captured, Sink

TAGS = ("red", "blue", "sale", "new", "old", "hero", "x1", "x2")
CONTEXT_KEYS = ("alt", "caption", "sku", "k1")
FOLDERS = ("", "shop", "shop/shoes", "archive")


@dataclass(frozen=True)
class Profile:
    name: str
    notifications: int  # at least this many notifications per history
    public_ids: int  # names in the pool (most of them get used)
    seeds: tuple[int, ...]


QUICK = Profile("quick", notifications=300, public_ids=50, seeds=(1, 2))
FULL = Profile("full", notifications=2000, public_ids=320, seeds=(1, 2, 3, 4, 5))


@dataclass(frozen=True)
class History:
    seed: int
    operations: list[ops.Op]
    notifications: list[Captured]
    final_state: dict[str, Any]  # the emulator's store dump once the history ended
    public_ids: int  # distinct public_ids the notifications name


def generate(emulator: Emulator, sink: Sink, seed: int, profile: Profile) -> History:
    """Run a fresh history on an emptied emulator that notifies `sink` and return it."""
    emulator.reset()
    emulator.client.notifications(True, url=sink.url, attempts=5, base_delay=0.05)
    emulator.client.set_rate_limit(1_000_000)
    sink.take()
    opts = emulator_sdk_options(emulator)
    model = _Model(random.Random(seed), profile.public_ids)  # noqa: S311 - seeded
    done: list[ops.Op] = []
    while True:
        op = model.next_op()
        if ops.run(op, opts):
            model.performed(op)
            done.append(op)
        if len(done) % 50 == 0 and _delivered(emulator, sink) >= profile.notifications:
            break
    if not emulator.wait_deliveries_idle(60):
        raise AssertionError("the emulator did not deliver its notifications in 60 s")
    emulator.client.notifications(False)
    captured = sink.take()
    refused = [d for d in emulator.deliveries() if not d.get("ok")]
    assert not refused, f"the capture sink refused {len(refused)} deliveries"
    return History(
        seed,
        done,
        captured,
        emulator.store.dump(),
        len({pid for n in captured for pid in public_ids_of(n.parsed)}),
    )


def emulator_sdk_options(emulator: Emulator) -> dict[str, str]:
    from workers.config import CloudinaryAccount

    return CloudinaryAccount.parse(emulator.cloudinary_url).sdk_config()


def public_ids_of(body: dict[str, Any]) -> set[str]:
    """Every public_id a notification names (for the counts, not for the apply)."""
    found: set[str] = set()
    for key in ("public_id", "from_public_id", "to_public_id"):
        if isinstance(body.get(key), str):
            found.add(body[key])
    resources = body.get("resources")
    if isinstance(resources, dict):
        found.update(str(k) for k in resources)
    elif isinstance(resources, list):
        found.update(str(r["public_id"]) for r in resources if "public_id" in r)
    return found


def _delivered(emulator: Emulator, sink: Sink) -> int:
    emulator.wait_deliveries_idle(30)
    return sink.count()


class _Model:
    """Which names are taken, which were vacated (deleted or renamed away) and which are
    unused; weighted choices over the kinds of change Cloudinary notifies."""

    def __init__(self, rng: random.Random, pool_size: int) -> None:
        self.rng = rng
        self.pool_size = pool_size
        # a third of the names sit in folders: public_ids with slashes, as in production
        self.unused = [
            f"{rng.choice(FOLDERS[1:])}/p{n}" if n % 3 == 0 else f"p{n}"
            for n in range(pool_size)
        ]
        rng.shuffle(self.unused)
        self.live: dict[str, str] = {}  # name -> resource_type
        self.vacated: list[str] = []

    # -- choosing -----------------------------------------------------------------------
    def next_op(self) -> ops.Op:
        if len(self.live) < 3:
            return self._new_upload()
        # creations slow down and deletions speed up as the pool fills, so about 60 % of
        # the names are live at any time (and at the end, when the mirror is compared)
        full = len(self.live) / self.pool_size
        kinds = {
            "new": 30 * (1 - full),
            "overwrite": 12,
            "rename": 6,
            "rename_onto": 3 * full,
            "tags": 12,
            "context_op": 8,
            "update_context": 4,
            "names": 6,
            "metadata": 3,
            "explicit": 3,
            "destroy": 6 * full,
            "delete_resources": 4 * full,
        }
        kind = self.rng.choices(list(kinds), weights=list(kinds.values()))[0]
        return getattr(self, f"_{kind}")()  # type: ignore[no-any-return]

    def _pick(self, resource_type: str | None = None) -> str:
        names = [n for n, rt in self.live.items() if resource_type in (None, rt)]
        return self.rng.choice(names or list(self.live))

    def _some(self, most: int) -> tuple[str, ...]:
        first = self._pick()
        rt = self.live[first]
        others = [n for n, r in self.live.items() if r == rt and n != first]
        count = self.rng.randint(0, min(most - 1, len(others)))
        return (first, *self.rng.sample(others, count))

    def _maybe_tags(self) -> tuple[str, ...] | None:
        if self.rng.random() < 0.5:
            return None
        return tuple(self.rng.sample(TAGS, self.rng.randint(0, 3)))

    def _maybe_context(self) -> tuple[tuple[str, str], ...] | None:
        if self.rng.random() < 0.5:
            return None
        return self._pairs(self.rng.randint(0, 2))

    def _pairs(self, count: int) -> tuple[tuple[str, str], ...]:
        keys = self.rng.sample(CONTEXT_KEYS, count)
        return tuple((k, f"v{self.rng.randint(0, 99)}") for k in keys)

    def _size(self) -> tuple[int, int]:
        return self.rng.randint(1, 40), self.rng.randint(1, 40)

    def _new_upload(self) -> ops.Op:
        # reuse a vacated name half the time: a new asset_id on an old public_id
        if self.vacated and (not self.unused or self.rng.random() < 0.5):
            name = self.vacated.pop(self.rng.randrange(len(self.vacated)))
        elif self.unused:
            name = self.unused.pop()
        else:
            return self._overwrite()
        return ops.Upload(
            name,
            self._size(),
            self._maybe_tags(),
            self._maybe_context(),
            self.rng.choice((None, None, "", *FOLDERS[1:])),
            "raw" if self.rng.random() < 0.1 else "image",
        )

    def _new(self) -> ops.Op:
        return self._new_upload()

    def _overwrite(self) -> ops.Op:
        name = self._pick()
        return ops.Upload(
            name,
            self._size(),
            self._maybe_tags(),
            self._maybe_context(),
            self.rng.choice((None, None, *FOLDERS[1:])),
            self.live[name],
        )

    def _rename(self) -> ops.Op:
        source = self._pick()
        if self.vacated and self.rng.random() < 0.3:
            target = self.rng.choice(self.vacated)
        elif self.unused:
            target = self.unused[-1]
        else:
            return self._rename_onto()
        return ops.Rename(source, target, False, self.live[source])

    def _rename_onto(self) -> ops.Op:
        source = self._pick()
        targets = [
            n for n, rt in self.live.items() if rt == self.live[source] and n != source
        ]
        if not targets:
            return self._rename()
        return ops.Rename(source, self.rng.choice(targets), True, self.live[source])

    def _tags(self) -> ops.Op:
        names = self._some(4)
        command = self.rng.choice(("add", "add", "remove", "replace", "remove_all"))
        return ops.Tags(command, names, self.rng.choice(TAGS), self.live[names[0]])

    def _context_op(self) -> ops.Op:
        names = self._some(3)
        if self.rng.random() < 0.25:
            return ops.Context("remove_all", names, (), self.live[names[0]])
        return ops.Context(
            "add", names, self._pairs(self.rng.randint(1, 2)), self.live[names[0]]
        )

    def _update_context(self) -> ops.Op:
        name = self._pick()
        return ops.Update(
            name, "context", self._pairs(self.rng.randint(0, 2)), False, self.live[name]
        )

    def _names(self) -> ops.Op:
        name = self._pick()
        if self.rng.random() < 0.5:
            value = f"Name {self.rng.randint(0, 999)}"
            return ops.Update(name, "display_name", value, False, self.live[name])
        folder = self.rng.choice((*FOLDERS[1:], "misc"))
        return ops.Update(name, "asset_folder", folder, False, self.live[name])

    def _metadata(self) -> ops.Op:
        name = self._pick()
        value = (("sku", f"S-{self.rng.randint(0, 99)}"),)
        return ops.Update(name, "metadata", value, False, self.live[name])

    def _explicit(self) -> ops.Op:
        name = self._pick()
        if self.rng.random() < 0.5:
            tags = tuple(self.rng.sample(TAGS, self.rng.randint(0, 3)))
            return ops.Update(name, "tags", tags, True, self.live[name])
        return ops.Update(
            name, "context", self._pairs(self.rng.randint(1, 2)), True, self.live[name]
        )

    def _destroy(self) -> ops.Op:
        name = self._pick()
        return ops.Destroy(name, self.live[name])

    def _delete_resources(self) -> ops.Op:
        names = self._some(4)
        return ops.DeleteResources(names, self.live[names[0]])

    # -- remembering ----------------------------------------------------------------------
    def performed(self, op: ops.Op) -> None:
        match op:
            case ops.Upload():
                self.live[op.name] = op.resource_type
            case ops.Rename():
                del self.live[op.source]
                self._discard(op.target)
                self.live[op.target] = op.resource_type
                self.vacated.append(op.source)
            case ops.Destroy():
                self._vacate(op.name)
            case ops.DeleteResources():
                for name in op.names:
                    self._vacate(name)

    def _vacate(self, name: str) -> None:
        if self.live.pop(name, None) is not None:
            self.vacated.append(name)

    def _discard(self, name: str) -> None:
        if name in self.unused:
            self.unused.remove(name)
        if name in self.vacated:
            self.vacated.remove(name)


def timed(label: str) -> Any:
    """A tiny stopwatch for the printed counts."""
    started = time.monotonic()
    return lambda: f"{label} {time.monotonic() - started:.1f} s"
