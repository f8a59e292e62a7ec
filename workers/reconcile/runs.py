"""The reconcile_runs table: create, resume, pause and finish runs; their reports; the watermark.

Functions take a Session and never commit, except where a lock needs a connection of its own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from workers.reconcile.report import (
    CLASSES,
    KEPT_IN_GRACE_PERIOD,
    MARKED_DELETED,
    NO_LIVE_ROW,
    ROW_CHANGED_AFTER_THE_RUN,
    Report,
    Run,
    empty_counts,
)

__all__ = ["CLASSES", "Report", "Run", "empty_counts"]

KINDS = ("full", "incremental", "single")
TERMINAL = ("finished", "aborted", "failed")
INCREMENTAL_WATERMARK = "incremental"
# Session-level advisory locks take (class, object) pairs; this class is ours ("reco").
_LOCK_CLASS = 0x7265636F

_COLUMNS = (
    "id, kind, status, dry_run, params, cursor, counts, report, error, resume_at,"
    " started_at, finished_at"
)

_INSERT = text("""
INSERT INTO reconcile_runs (kind, dry_run, params, counts)
VALUES (:kind, :dry_run, CAST(:params AS jsonb), CAST(:counts AS jsonb))
ON CONFLICT (kind) WHERE status IN ('running', 'paused') AND NOT dry_run AND kind <> 'single'
DO NOTHING
RETURNING id
""")

_ACTIVE_OF_KIND = text("""
SELECT id FROM reconcile_runs
 WHERE kind = :kind AND status IN ('running', 'paused') AND NOT dry_run
 ORDER BY id LIMIT 1
""")

_SELECT = text(f"SELECT {_COLUMNS} FROM reconcile_runs WHERE id = :id")  # noqa: S608 -- constant columns

_RECENT = text(
    f"SELECT {_COLUMNS} FROM reconcile_runs ORDER BY id DESC LIMIT :limit"  # noqa: S608 -- constant columns
)

_PROGRESS = text("""
UPDATE reconcile_runs
   SET status = 'running', cursor = CAST(:cursor AS jsonb), counts = CAST(:counts AS jsonb),
       resume_at = NULL, updated_at = now()
 WHERE id = :id
""")

_PAUSE = text("""
UPDATE reconcile_runs
   SET status = 'paused', cursor = CAST(:cursor AS jsonb), counts = CAST(:counts AS jsonb),
       resume_at = :resume_at, report = jsonb_build_object('reason', CAST(:reason AS text)),
       updated_at = now()
 WHERE id = :id
""")

_FINISH = text("""
UPDATE reconcile_runs
   SET status = :status, cursor = CAST(:cursor AS jsonb), counts = CAST(:counts AS jsonb),
       report = CAST(:report AS jsonb), error = :error, resume_at = NULL,
       finished_at = now(), updated_at = now()
 WHERE id = :id
""")

# One audit row per finished run; a dry run writes nothing but its own run row.
_SUMMARY = text("""
INSERT INTO media_sync_log (operation, status, source, error_message, duration_ms, details)
SELECT 'reconcile.' || kind, status, 'reconcile', error,
       extract(epoch FROM finished_at - started_at) * 1000,
       jsonb_build_object('run_id', id, 'counts', counts, 'report', report)
  FROM reconcile_runs
 WHERE id = :id AND NOT dry_run
""")

# Runs a resume sweep should try: paused ones whose reset has passed (or that an operator
# paused, once the pause is lifted) and running ones, which may have lost their worker; the
# advisory lock tells a live run from an orphan.
_DUE = text("""
SELECT id FROM reconcile_runs
 WHERE status = 'running'
    OR (status = 'paused' AND resume_at <= now())
    OR (status = 'paused' AND resume_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM mediasync_pauses WHERE flow = 'reconcile'))
 ORDER BY id
""")

# When the live row of a single run's asset last changed (the grace window's measure).
_LIVE_ROW_CHANGED = text("""
SELECT GREATEST(created_at, updated_at, COALESCE(last_event_at, '-infinity')) AS changed_at
  FROM media_assets
 WHERE deleted_at IS NULL AND public_id = :public_id
   AND resource_type = :resource_type AND delivery_type = :delivery_type
 ORDER BY changed_at DESC LIMIT 1
""")

_OPERATOR_PAUSE = text("SELECT reason FROM mediasync_pauses WHERE flow = 'reconcile'")

_WATERMARK = text("SELECT watermark FROM reconcile_watermarks WHERE name = :name")

_ADVANCE_WATERMARK = text("""
INSERT INTO reconcile_watermarks (name, watermark, run_id) VALUES (:name, :watermark, :run_id)
ON CONFLICT (name) DO UPDATE
   SET watermark = GREATEST(reconcile_watermarks.watermark, EXCLUDED.watermark),
       run_id = CASE WHEN EXCLUDED.watermark > reconcile_watermarks.watermark
                     THEN EXCLUDED.run_id ELSE reconcile_watermarks.run_id END,
       updated_at = now()
""")


def create_run(
    session: Session, kind: str, *, dry_run: bool, params: dict[str, Any]
) -> tuple[int, bool]:
    """(run id, created). An unfinished writing run of the same kind is returned instead of
    a second one: "already running" is an answer, not an error."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    values = {
        "kind": kind,
        "dry_run": dry_run,
        "params": json.dumps(params),
        "counts": json.dumps(empty_counts()),
    }
    # The active run may finish between the insert and the look-up: then insert again.
    for _ in range(3):
        run_id = session.execute(_INSERT, values).scalar_one_or_none()
        if run_id is not None:
            return int(run_id), True
        existing = session.execute(_ACTIVE_OF_KIND, {"kind": kind}).scalar_one_or_none()
        if existing is not None:
            return int(existing), False
    raise RuntimeError("could not create or find a reconcile run")  # pragma: no cover


def load(session: Session, run_id: int) -> Run | None:
    row = session.execute(_SELECT, {"id": run_id}).mappings().one_or_none()
    return Run(**row) if row is not None else None


def save_progress(
    session: Session, run_id: int, cursor: dict[str, Any], counts: dict[str, int]
) -> None:
    session.execute(
        _PROGRESS,
        {"id": run_id, "cursor": json.dumps(cursor), "counts": json.dumps(counts)},
    )


def pause(
    session: Session,
    run_id: int,
    cursor: dict[str, Any],
    counts: dict[str, int],
    *,
    resume_at: datetime | None,
    reason: str,
) -> None:
    session.execute(
        _PAUSE,
        {
            "id": run_id,
            "cursor": json.dumps(cursor),
            "counts": json.dumps(counts),
            "resume_at": resume_at,
            "reason": reason,
        },
    )


def finish(
    session: Session,
    run_id: int,
    status: str,
    cursor: dict[str, Any],
    counts: dict[str, int],
    report: dict[str, Any],
    error: str | None = None,
) -> None:
    if status not in TERMINAL:
        raise ValueError(f"a finished run's status is one of {TERMINAL}")
    session.execute(
        _FINISH,
        {
            "id": run_id,
            "status": status,
            "cursor": json.dumps(cursor),
            "counts": json.dumps(counts),
            "report": json.dumps(report),
            "error": error,
        },
    )
    # the seen set only serves the run's own final sweep
    session.execute(
        text("DELETE FROM reconcile_seen WHERE run_id = :id"), {"id": run_id}
    )
    session.execute(_SUMMARY, {"id": run_id})


def report_of(session: Session, run: Run, *, already_running: bool = False) -> Report:
    """A run's report; a finished single-asset run that Cloudinary answered 404 also says
    why its row was or was not marked deleted (details "verdict")."""
    report = Report.of(run, already_running=already_running)
    if not (
        run.kind == "single"
        and run.status == "finished"
        and run.report.get("found_in_cloudinary") is False
    ):
        return report
    extra: dict[str, Any] = {}
    if run.counts.get("marked_deleted"):
        extra["verdict"] = MARKED_DELETED
    else:
        # mark_missing spares a live row only when it changed inside the grace window
        changed_at = session.execute(
            _LIVE_ROW_CHANGED,
            {
                "public_id": run.params.get("public_id"),
                "resource_type": run.params.get("resource_type"),
                "delivery_type": run.params.get("delivery_type"),
            },
        ).scalar_one_or_none()
        if changed_at is None:
            extra["verdict"] = NO_LIVE_ROW
        else:
            after = run.finished_at is not None and changed_at > run.finished_at
            extra["verdict"] = (
                ROW_CHANGED_AFTER_THE_RUN if after else KEPT_IN_GRACE_PERIOD
            )
            extra["row_changed_at"] = changed_at.isoformat()
    return replace(report, details=report.details | extra)


def run_status(session: Session, run_id: int) -> dict[str, Any] | None:
    """The report of one run, as JSON-ready values (None when there is no such run)."""
    run = load(session, run_id)
    return report_of(session, run).as_dict() if run is not None else None


def recent_runs(session: Session, limit: int = 20) -> list[dict[str, Any]]:
    rows = session.execute(_RECENT, {"limit": limit}).mappings().all()
    return [report_of(session, Run(**row)).as_dict() for row in rows]


def due_runs(session: Session) -> list[int]:
    return [int(run_id) for run_id in session.execute(_DUE).scalars()]


def operator_pause(session: Session) -> str | None:
    """The reason an operator paused reconciliation (`cleanup pause`-style), else None."""
    row = session.execute(_OPERATOR_PAUSE).one_or_none()
    if row is None:
        return None
    return str(row[0] or "paused by an operator")


def watermark(session: Session, name: str = INCREMENTAL_WATERMARK) -> datetime | None:
    value: datetime | None = session.execute(
        _WATERMARK, {"name": name}
    ).scalar_one_or_none()
    return value


def advance_watermark(
    session: Session,
    when: datetime,
    run_id: int,
    name: str = INCREMENTAL_WATERMARK,
) -> None:
    """Move the watermark forward only: a slow older run never drags it back."""
    session.execute(
        _ADVANCE_WATERMARK, {"name": name, "watermark": when, "run_id": run_id}
    )


def seen_count(session: Session, run_id: int) -> int:
    return int(
        session.execute(
            text("SELECT count(*) FROM reconcile_seen WHERE run_id = :id"),
            {"id": run_id},
        ).scalar_one()
    )


def try_lock(conn: Connection, run_id: int) -> bool:
    """Hold the run for this connection's session; False when another process has it."""
    return bool(
        conn.execute(
            text("SELECT pg_try_advisory_lock(:cls, CAST(:obj AS integer))"),
            {"cls": _LOCK_CLASS, "obj": run_id % 2_147_483_647},
        ).scalar_one()
    )


def unlock(conn: Connection, run_id: int) -> None:
    conn.execute(
        text("SELECT pg_advisory_unlock(:cls, CAST(:obj AS integer))"),
        {"cls": _LOCK_CLASS, "obj": run_id % 2_147_483_647},
    )
