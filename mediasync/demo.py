"""`mediasync demo`: show both directions of the sync working, against the emulator.

Uploads assets through the real SDK (the emulator posts signed webhooks to the receiver),
watches them arrive in media_assets, renames and re-tags a few, deletes rows with plain SQL
and watches the assets disappear from the emulator, runs a reconcile, and checks that the
mirror and the emulator agree. Every step is timed.
"""

from __future__ import annotations

import json
import statistics
import struct
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cloudinary.uploader
import psycopg

from db.urls import libpq_url
from workers.config import CloudinaryAccount

UPLOADS = 50
RENAMES = 3
RETAGS = 3
HARD_DELETES = 20
SOFT_DELETES = 5
STEP_TIMEOUT_S = 60.0


class DemoFailed(Exception):
    """A step did not converge in time; the message says which."""


@dataclass
class DemoReport:
    steps: list[tuple[str, float, str]] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    agree: bool = False
    differences: list[str] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)

    def table(self) -> str:
        lines = ["", "step                                   seconds  result"]
        lines += [
            f"{name:<38} {secs:7.2f}  {result}" for name, secs, result in self.steps
        ]
        lines += ["", f"{'':<28}{'before':>8}{'after':>8}"]
        for key in self.before:
            lines.append(f"{key:<28}{self.before[key]:>8}{self.after.get(key, 0):>8}")
        verdict = "AGREE" if self.agree else "DISAGREE"
        lines += ["", f"mirror and emulator {verdict}"]
        lines += [f"  {d}" for d in self.differences[:20]]
        return "\n".join(lines)


def tiny_png(seed: int) -> bytes:
    """A valid 2x2 PNG whose pixels depend on `seed`, so every upload has its own bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    raw = b"".join(b"\x00" + pixel * 2 for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


class Demo:
    def __init__(
        self,
        env: dict[str, str],
        emulator_url: str,
        write: Callable[[str], None] = print,
    ) -> None:
        from cloudinary_emulator.client import EmulatorClient

        self.env = env
        self.account = CloudinaryAccount.parse(env["CLOUDINARY_URL"])
        self.sdk = {**self.account.sdk_config(), "timeout": 30}
        self.emulator = EmulatorClient(emulator_url)
        self.database_url = libpq_url(env["DATABASE_URL"])
        self.write = write
        self.report = DemoReport()
        self.run_tag = "demo-" + uuid.uuid4().hex[:6]

    # -- observations --------------------------------------------------------------------

    def _db(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query.encode(), params).fetchall()

    def counts(self) -> dict[str, int]:
        live, deleted = self._db(
            "SELECT count(*) FILTER (WHERE deleted_at IS NULL),"
            " count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM media_assets"
        )[0]
        pending = self._db(
            "SELECT count(*) FROM cloudinary_cleanup_queue WHERE status IN ('pending', 'processing')"
        )[0][0]
        return {
            "assets in the emulator": len(self.emulator.assets()),
            "live rows in media_assets": live,
            "deleted rows (tombstones)": deleted,
            "cleanups pending": pending,
        }

    def _live_row(self, public_id: str) -> tuple[Any, ...] | None:
        rows = self._db(
            "SELECT public_id, version, tags FROM media_assets"
            " WHERE public_id = %s AND deleted_at IS NULL",
            (public_id,),
        )
        return rows[0] if rows else None

    def _wait(self, what: str, done: Callable[[], bool]) -> float:
        started = time.monotonic()
        while not done():
            if time.monotonic() - started > STEP_TIMEOUT_S:
                raise DemoFailed(f"{what}: not done after {STEP_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        return time.monotonic() - started

    def _step(self, name: str, seconds: float, result: str) -> None:
        self.report.steps.append((name, seconds, result))
        self.write(f"demo | {name}: {result} ({seconds:.2f} s)")

    # -- the story -----------------------------------------------------------------------

    def run(self) -> DemoReport:
        self.report.before = self.counts()
        ids = [f"{self.run_tag}/asset-{n:02d}" for n in range(UPLOADS)]
        self._upload(ids)
        renamed = self._rename(ids[:RENAMES])
        ids = renamed + ids[RENAMES:]
        self._retag(ids[RENAMES : RENAMES + RETAGS])
        self._delete(ids[-(HARD_DELETES + SOFT_DELETES) :])
        self._reconcile()
        self.report.after = self.counts()
        self._compare()
        return self.report

    def _upload(self, ids: list[str]) -> None:
        started = time.monotonic()
        uploaded_at: dict[str, float] = {}
        for n, public_id in enumerate(ids):
            cloudinary.uploader.upload(
                tiny_png(n),
                public_id=public_id,
                tags=["demo", self.run_tag],
                **self.sdk,
            )
            uploaded_at[public_id] = time.time()
        query = (
            "SELECT public_id, extract(epoch FROM created_at) FROM media_assets"
            " WHERE public_id = ANY(%s) AND deleted_at IS NULL"
        )
        self._wait(
            "uploads to reach media_assets",
            lambda: len(self._db(query, (ids,))) == len(ids),
        )
        # the row's created_at (the database's clock, on this machine) against the moment
        # the upload call returned: webhook delivery, verification, inbox, queue and apply
        latencies = sorted(
            max(0.0, float(created) - uploaded_at[public_id])
            for public_id, created in self._db(query, (ids,))
        )
        self._step(
            f"upload {len(ids)} → rows in media_assets",
            time.monotonic() - started,
            f"{len(ids)} rows; webhook latency p50 {statistics.median(latencies) * 1000:.0f} ms,"
            f" max {latencies[-1] * 1000:.0f} ms",
        )

    def _rename(self, ids: list[str]) -> list[str]:
        started = time.monotonic()
        new_ids = [f"{public_id}-renamed" for public_id in ids]
        for old, new in zip(ids, new_ids, strict=True):
            cloudinary.uploader.rename(old, new, **self.sdk)
        seconds = self._wait(
            "renames to reach media_assets",
            lambda: (
                all(self._live_row(n) for n in new_ids)
                and not any(self._live_row(o) for o in ids)
            ),
        )
        self._step(
            f"rename {len(ids)} in Cloudinary", time.monotonic() - started, "rows moved"
        )
        del seconds
        return new_ids

    def _retag(self, ids: list[str]) -> None:
        started = time.monotonic()
        cloudinary.uploader.add_tag("featured", ids, **self.sdk)

        def tagged() -> bool:
            rows = [self._live_row(p) for p in ids]
            return all(row is not None and "featured" in row[2] for row in rows)

        self._wait("tags to reach media_assets", tagged)
        self._step(
            f"tag {len(ids)} 'featured'", time.monotonic() - started, "rows re-tagged"
        )

    def _delete(self, ids: list[str]) -> None:
        hard, soft = ids[:HARD_DELETES], ids[HARD_DELETES:]
        started = time.monotonic()
        with psycopg.connect(self.database_url) as conn:
            conn.execute("DELETE FROM media_assets WHERE public_id = ANY(%s)", (hard,))
            conn.execute(
                "UPDATE media_assets SET deleted_at = now() WHERE public_id = ANY(%s)"
                " AND deleted_at IS NULL",
                (soft,),
            )

        def gone() -> bool:
            return all(self.emulator.asset("image", "upload", p) is None for p in ids)

        self._wait("deleted rows to disappear from the emulator", gone)
        self._step(
            f"SQL delete {len(hard)} + soft delete {len(soft)}",
            time.monotonic() - started,
            f"{len(ids)} assets gone from Cloudinary",
        )

    def _reconcile(self) -> None:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "mediasync",
                "reconcile",
                "--full",
                "--wait",
                "--json",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise DemoFailed(f"reconcile failed: {result.stderr.strip()[-500:]}")
        summary = _summarize(result.stdout)
        self._step("full reconcile", time.monotonic() - started, summary)
        # the webhooks alone must have kept the mirror true: anything reconcile had to
        # repair is a difference, even though the repair hides it from _compare
        self.report.repaired = _repairs(result.stdout)

    def _compare(self) -> None:
        emulator = {
            (a["public_id"], a["resource_type"], a["type"]): (
                a["version"],
                sorted(a.get("tags", [])),
            )
            for a in self.emulator.assets()
        }
        rows = self._db(
            "SELECT public_id, resource_type, delivery_type, version, tags FROM media_assets"
            " WHERE deleted_at IS NULL"
        )
        mirror = {(p, r, t): (v, sorted(tags)) for p, r, t, v, tags in rows}
        differences = []
        for key in sorted(set(emulator) | set(mirror)):
            if key not in mirror:
                differences.append(f"only in Cloudinary: {key[0]}")
            elif key not in emulator:
                differences.append(f"only in the mirror: {key[0]}")
            elif emulator[key] != mirror[key]:
                differences.append(
                    f"differs: {key[0]} {emulator[key]} vs {mirror[key]}"
                )
        differences += [
            f"the full reconcile repaired what webhooks left wrong: {name} {count}"
            for name, count in self.report.repaired.items()
        ]
        self.report.differences = differences
        self.report.agree = not differences


# A reconcile's counts that mean the mirror was wrong before it ran.
REPAIRS = ("inserted", "updated", "marked_deleted", "requeued_cleanup")


def _repairs(stdout: str) -> dict[str, int]:
    try:
        counts = json.loads(stdout).get("counts", {})
    except (ValueError, AttributeError):
        return {}
    return {name: counts[name] for name in REPAIRS if counts.get(name)}


def _summarize(stdout: str) -> str:
    try:
        report = json.loads(stdout)
    except ValueError:
        return stdout.strip().splitlines()[-1] if stdout.strip() else "done"
    counts = {
        k: v for k, v in report.get("counts", {}).items() if isinstance(v, int) and v
    }
    listed = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"{report.get('status', 'done')}: {listed or 'nothing to repair'}"
