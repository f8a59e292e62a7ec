"""A reconcile run as a value, its per-class counts, and the report the CLI, the operator
API and media_sync_log show."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The classes every report counts, in the order operators read them.
CLASSES = (
    "inserted",
    "updated",
    "requeued_cleanup",
    "marked_deleted",
    "unchanged",
    "errors",
)
# Every asset a listing or search returned lands in exactly one of these (marked_deleted
# counts rows whose asset was *not* returned).
LISTED_CLASSES = ("inserted", "updated", "requeued_cleanup", "unchanged", "errors")

# What a single-asset run decided when Cloudinary answered 404 (report details "verdict").
MARKED_DELETED = "marked_deleted"
KEPT_IN_GRACE_PERIOD = "kept_in_grace_period"
NO_LIVE_ROW = "no_live_row"
ROW_CHANGED_AFTER_THE_RUN = "row_changed_after_the_run"


@dataclass
class Run:
    id: int
    kind: str
    status: str
    dry_run: bool
    params: dict[str, Any]
    cursor: dict[str, Any]
    counts: dict[str, int]
    report: dict[str, Any]
    error: str | None
    resume_at: datetime | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Report:
    """What a run did, for the CLI, the operator API and media_sync_log."""

    run_id: int
    kind: str
    status: str
    dry_run: bool
    counts: dict[str, int]
    started_at: datetime
    finished_at: datetime | None = None
    resume_at: datetime | None = None
    reason: str | None = None
    error: str | None = None
    already_running: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status not in ("aborted", "failed")

    @property
    def listed(self) -> int | None:
        """How many assets Cloudinary's listing or search returned (None for a single-asset
        run, whose one answer is `found_in_cloudinary`)."""
        if self.kind == "single":
            return None
        return sum(self.counts.get(name, 0) for name in LISTED_CLASSES)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
            "listed": self.listed,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "resume_at": _iso(self.resume_at),
            "reason": self.reason,
            "error": self.error,
            "already_running": self.already_running,
            "details": dict(self.details),
        }

    @classmethod
    def of(cls, run: Run, *, already_running: bool = False) -> Report:
        details = {k: v for k, v in run.report.items() if k != "reason"}
        counts = dict(run.counts)
        if run.kind != "full":
            # the seen set is kept only for a full run's final sweep; elsewhere it would
            # read "seen 0" beside everything the run compared
            counts.pop("seen", None)
        return cls(
            run_id=run.id,
            kind=run.kind,
            status=run.status,
            dry_run=run.dry_run,
            counts=counts,
            started_at=run.started_at,
            finished_at=run.finished_at,
            resume_at=run.resume_at,
            reason=run.report.get("reason"),
            error=run.error,
            already_running=already_running,
            details=details,
        )


def empty_counts() -> dict[str, int]:
    extra = {"pages": 0, "api_calls": 0, "seen": 0, "pauses": 0}
    return dict.fromkeys(CLASSES, 0) | extra


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
