"""Reconcile reports as an operator reads them in a terminal: one run in a few lines
(`mediasync reconcile --wait`, `reconcile show`), or one line per run (`reconcile list`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from workers.reconcile.report import (
    CLASSES,
    KEPT_IN_GRACE_PERIOD,
    MARKED_DELETED,
    NO_LIVE_ROW,
    ROW_CHANGED_AFTER_THE_RUN,
    Report,
)


def follow_hint(run_id: int) -> str:
    return f"mediasync reconcile show {run_id}"


def describe(report: Report, *, grace_s: float) -> str:
    """The report as a few lines. `grace_s` is MEDIASYNC_RECONCILE_GRACE, named when the
    grace window is what decided a single-asset run."""
    head = f"reconcile {report.kind} run {report.run_id}: {report.status}"
    if report.dry_run:
        head += " (dry run: nothing was changed)"
    if report.already_running:
        head += " (already running elsewhere)"
    lines = [head]
    counts = report.counts
    if report.kind == "single" and "found_in_cloudinary" in report.details:
        lines.append("  " + single_outcome(report, grace_s=grace_s))
    else:
        lines.append(
            "  " + "  ".join(f"{name} {counts.get(name, 0)}" for name in CLASSES)
        )
    calls = f"Admin API calls {counts.get('api_calls', 0)}"
    if report.listed is not None:
        calls = (
            f"assets listed {report.listed}, pages {counts.get('pages', 0)}, {calls}"
        )
    if counts.get("pauses"):
        calls += f", pauses {counts['pauses']}"
    lines.append(f"  {calls}")
    if report.reason:
        lines.append(f"  reason: {report.reason}")
    if report.resume_at is not None:
        lines.append(f"  resumes at {report.resume_at.isoformat()}")
    return "\n".join(lines)


def single_outcome(report: Report, *, grace_s: float) -> str:
    """What a finished single-asset run found and did, as one sentence."""
    details, counts = report.details, report.counts
    would = "would be" if report.dry_run else "was"
    if details.get("found_in_cloudinary"):
        done = [
            name
            for name in ("inserted", "updated", "requeued_cleanup")
            if counts.get(name)
        ]
        if counts.get("errors"):
            return "found in Cloudinary, but its answer could not be read (see media_sync_log)"
        if not done:
            return "found in Cloudinary: its row already matches (unchanged)"
        return f"found in Cloudinary: its row {would} {done[0].replace('_', ' ')}"
    verdict = details.get("verdict")
    if verdict == MARKED_DELETED:
        return f"not found in Cloudinary: its row {would} marked deleted"
    if verdict == NO_LIVE_ROW:
        return "not found in Cloudinary, and the mirror has no live row for it: nothing to do"
    if verdict == KEPT_IN_GRACE_PERIOD:
        changed = datetime.fromisoformat(str(details["row_changed_at"]))
        again = changed + timedelta(seconds=grace_s)
        return (
            f"not found in Cloudinary, but its row changed at {changed.isoformat()}, inside "
            f"the grace period (MEDIASYNC_RECONCILE_GRACE={grace_s:g} s): kept, as "
            f"Cloudinary may not show a fresh upload yet; run again after {again.isoformat()}"
        )
    if verdict == ROW_CHANGED_AFTER_THE_RUN:
        return (
            "not found in Cloudinary; its row has changed since the run: run it again"
        )
    return "not found in Cloudinary; its row was not marked deleted"


def list_line(run: dict[str, Any]) -> str:
    """One run of `reconcile list` (a Report.as_dict())."""
    counts = run["counts"]
    changed = ", ".join(
        f"{name} {counts[name]}" for name in CLASSES if counts.get(name)
    )
    if run["kind"] == "single":
        what = f"{run['details'].get('verdict') or ''} {changed}".strip()
    else:
        what = f"listed {run['listed']}" + (f", {changed}" if changed else "")
    flags = " (dry run)" if run["dry_run"] else ""
    return (
        f"{run['run_id']:>6}  {run['kind']:<11}  {run['status']:<8}  "
        f"{run['started_at'][:19]}  {what}{flags}"
    )
