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

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "kind": self.kind,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": dict(self.counts),
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
        return cls(
            run_id=run.id,
            kind=run.kind,
            status=run.status,
            dry_run=run.dry_run,
            counts=dict(run.counts),
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
