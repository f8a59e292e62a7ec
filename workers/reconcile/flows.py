"""The three run kinds, page by page: each page is fetched, judged, repaired and its cursor
saved in one transaction, so a run stopped anywhere resumes at the next page, redoing nothing.

- full: list every scope (resource_type, type) oldest first, then mark unseen rows deleted;
- incremental: search what was uploaded or changed since the watermark (minus an overlap);
- single: one `resource` call for one identity.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from workers.reconcile import runs, sweep
from workers.reconcile.page import apply_page
from workers.reconcile.rows import mirror_rows
from workers.reconcile.source import AdminCalls, CursorExpired, Paused

logger = logging.getLogger(__name__)

MAX_CURSOR_RESTARTS = 3


@dataclass(frozen=True)
class Limits:
    """Reconciliation's safety limits and budget share (from Settings, at the edge)."""

    grace_s: float = 300.0
    overlap_s: float = 300.0
    max_deletes: int = 1000
    max_delete_share: float = 0.5
    budget_share: float = 0.5
    # how far back the very first incremental run looks (nothing to start from yet)
    first_lookback_s: float = 86400.0


def search_expression(since: datetime) -> str:
    """Cloudinary Search: uploaded, or changed in any way (tags, context, ...), since then."""
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'uploaded_at>="{stamp}" OR last_updated>="{stamp}"'


class Flow:
    """One execution of one run (holding its advisory lock); raises Paused to stop early."""

    def __init__(
        self,
        run: runs.Run,
        sessions: sessionmaker[Session],
        calls: AdminCalls,
        limits: Limits,
    ) -> None:
        self.run = run
        self.sessions = sessions
        self.calls = calls
        self.limits = limits
        self.cursor: dict[str, Any] = dict(run.cursor)
        self.counts: dict[str, int] = runs.empty_counts() | dict(run.counts)
        self._calls_before = self.counts["api_calls"]

    def execute(self) -> None:
        kind = self.run.kind
        if kind == "full":
            self._full()
        elif kind == "incremental":
            self._incremental()
        else:
            self._single()

    def snapshot(self) -> tuple[dict[str, Any], dict[str, int]]:
        """(cursor, counts) as they must be saved now, the budget window included."""
        self.counts["api_calls"] = self._calls_before + self.calls.calls
        self.cursor["budget"] = dict(self.calls.window)
        return dict(self.cursor), dict(self.counts)

    # -- full ---------------------------------------------------------------------------

    def _full(self) -> None:
        scopes = [(str(rt), str(dt)) for rt, dt in self.run.params["scopes"]]
        self._check_seen_survived()
        while int(self.cursor.get("scope", 0)) < len(scopes):
            index = int(self.cursor.get("scope", 0))
            resource_type, delivery_type = scopes[index]
            token = self.cursor.get("next_cursor")

            def advance(next_token: str | None, index: int = index) -> None:
                if next_token:
                    self.cursor["next_cursor"] = next_token
                else:
                    self.cursor.update(scope=index + 1, next_cursor=None)

            self._page(
                partial(self.calls.list_page, resource_type, delivery_type, token),
                advance,
                track_seen=True,
            )
        cutoff = self.run.started_at - timedelta(seconds=self.limits.grace_s)
        with self.sessions.begin() as session:
            found = sweep.measure(session, self.run.id, scopes, cutoff)
            reason = sweep.blast_radius_exceeded(
                found,
                max_deletes=self.limits.max_deletes,
                max_share=self.limits.max_delete_share,
            )
            report: dict[str, Any] = {"live": found.live, "gone": found.gone}
            if reason is not None:
                logger.warning("reconcile run %s aborted: %s", self.run.id, reason)
                self._finish(session, "aborted", report | {"reason": reason})
                return
            if self.run.dry_run:
                marked = found.gone
            else:
                marked = sweep.mark_gone(
                    session, self.run.id, scopes, cutoff, self.limits.max_deletes
                )
            self.counts["marked_deleted"] = marked
            self._finish(session, "finished", report)
            if not self.run.dry_run:
                # everything changed before this run's start is now in the mirror
                runs.advance_watermark(session, self.run.started_at, self.run.id)

    def _check_seen_survived(self) -> None:
        """The seen set is UNLOGGED: after a Postgres crash it is empty. Start the listing
        over rather than mistake every asset listed before the crash for gone."""
        if not self.counts["seen"]:
            return
        with self.sessions.begin() as session:
            present = runs.seen_count(session, self.run.id)
            if present == self.counts["seen"]:
                return
            logger.warning(
                "reconcile run %s lost its seen set (%s of %s rows); listing again",
                self.run.id,
                present,
                self.counts["seen"],
            )
            self.cursor.update(scope=0, next_cursor=None)
            self.cursor["relisted"] = int(self.cursor.get("relisted", 0)) + 1
            self.counts["seen"] = present
            runs.save_progress(session, self.run.id, *self.snapshot())

    # -- incremental --------------------------------------------------------------------

    def _incremental(self) -> None:
        expression = str(self.run.params["expression"])

        def advance(next_token: str | None) -> None:
            self.cursor.update(next_cursor=next_token, searched=next_token is None)

        while not self.cursor.get("searched"):
            token = self.cursor.get("next_cursor")
            self._page(
                partial(self.calls.search_page, expression, token),
                advance,
                track_seen=False,
            )
        with self.sessions.begin() as session:
            self._finish(session, "finished", {"since": self.run.params["since"]})
            if not self.run.dry_run:
                runs.advance_watermark(session, self.run.started_at, self.run.id)

    # -- single -------------------------------------------------------------------------

    def _single(self) -> None:
        target = self.run.params
        public_id = str(target["public_id"])
        resource_type = str(target["resource_type"])
        delivery_type = str(target["delivery_type"])
        fetched_at = datetime.now(UTC)
        self._check_operator_pause()
        resource = self.calls.resource(public_id, resource_type, delivery_type)
        with self.sessions.begin() as session:
            if resource is None:
                cutoff = fetched_at - timedelta(seconds=self.limits.grace_s)
                marked = sweep.mark_missing(
                    session,
                    self.run.id,
                    (public_id, resource_type, delivery_type),
                    cutoff,
                    dry_run=self.run.dry_run,
                )
                self.counts["marked_deleted"] += marked
                self.counts["unchanged"] += 1 - marked
                found = False
            else:
                self._apply(session, [resource], fetched_at, track_seen=False)
                found = True
            self._finish(session, "finished", {"found_in_cloudinary": found})

    # -- shared -------------------------------------------------------------------------

    def _page(
        self,
        fetch: Callable[[], Any],
        advance: Callable[[str | None], None],
        *,
        track_seen: bool,
    ) -> None:
        """Fetch, repair and checkpoint one page; `advance` moves the cursor past it in the
        same transaction as the repairs, so the two never disagree."""
        self._check_operator_pause()
        fetched_at = datetime.now(UTC)
        try:
            result = fetch()
        except CursorExpired:
            restarts = int(self.cursor.get("cursor_restarts", 0)) + 1
            if restarts > MAX_CURSOR_RESTARTS:
                raise
            # start this listing over; repairs already made are no-ops the second time
            self.cursor.update(next_cursor=None, cursor_restarts=restarts)
            return
        with self.sessions.begin() as session:
            self._apply(session, result.get("resources") or [], fetched_at, track_seen)
            self.counts["pages"] += 1
            advance(result.get("next_cursor") or None)
            self.cursor["transient_failures"] = 0
            runs.save_progress(session, self.run.id, *self.snapshot())

    def _apply(
        self,
        session: Session,
        resources: list[Any],
        fetched_at: datetime,
        track_seen: bool,
    ) -> None:
        rows, errors = mirror_rows(resources)
        result = apply_page(
            session,
            self.run.id,
            self.run.kind,
            rows,
            fetched_at,
            dry_run=self.run.dry_run,
            track_seen=track_seen,
        )
        for name, value in result.counts.items():
            self.counts[name] += value
        self.counts["seen"] += result.seen
        self.counts["errors"] += len(errors)
        if errors and not self.run.dry_run:
            _log_unreadable(session, self.run.id, errors)

    def _check_operator_pause(self) -> None:
        with self.sessions.begin() as session:
            reason = runs.operator_pause(session)
        if reason is not None:
            raise Paused(f"paused by an operator: {reason}", None)

    def _finish(self, session: Session, status: str, report: dict[str, Any]) -> None:
        cursor, counts = self.snapshot()
        runs.finish(session, self.run.id, status, cursor, counts, report)
        logger.info(
            "reconcile run %s (%s) %s: %s", self.run.id, self.run.kind, status, counts
        )


def _log_unreadable(session: Session, run_id: int, errors: list[str]) -> None:
    session.execute(
        text(
            "INSERT INTO media_sync_log (operation, status, source, error_message, details)"
            " SELECT 'reconcile.read', 'error', 'reconcile', e,"
            " jsonb_build_object('run_id', CAST(:run_id AS bigint))"
            " FROM jsonb_array_elements_text(CAST(:errors AS jsonb)) AS e"
        ),
        {"run_id": run_id, "errors": json.dumps(errors)},
    )
