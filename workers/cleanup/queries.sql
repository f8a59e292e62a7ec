-- The cleanup queue's long statements (workers/cleanup/queue.py), loaded by workers/sql.py.


-- name: claimable
-- A fragment: a queue row (as q) that is due and that the guardrails admit
-- (workers/cleanup/guard.py): old enough for the delay; while the breaker is tripped,
-- released by an operator; a host delete queued within the breaker's window only if the
-- breaker counted it (id <= :max_id; the window starts at :since).
q.status = 'pending' AND q.next_attempt_at <= now()
       AND q.created_at <= now() - make_interval(secs => :delay_s)
       AND (q.released_at IS NOT NULL OR NOT :tripped)
       AND (q.id <= :max_id OR q.released_at IS NOT NULL OR q.created_at <= :since
            OR q.reason NOT IN ('hard_delete', 'soft_delete'))


-- name: claim_batch
-- The oldest due row picks the group (resource_type, delivery_type), and the batch is
-- filled from that group only: delete_resources takes one group per call, so a mixed batch
-- would cost several calls. SKIP LOCKED lets any number of workers claim side by side.
WITH head AS (
    SELECT q.resource_type, q.delivery_type
      FROM cloudinary_cleanup_queue q
     WHERE /* include: claimable */
     ORDER BY q.next_attempt_at, q.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT q.id
      FROM cloudinary_cleanup_queue q
      JOIN head USING (resource_type, delivery_type)
     WHERE /* include: claimable */
     ORDER BY q.next_attempt_at, q.id
     LIMIT :limit
       FOR UPDATE OF q SKIP LOCKED
)
UPDATE cloudinary_cleanup_queue q
   SET status = 'processing', locked_at = now(), locked_by = :token, updated_at = now()
  FROM picked
 WHERE q.id = picked.id
RETURNING q.id, q.media_asset_id, q.asset_id, q.public_id, q.resource_type,
          q.delivery_type, q.reason, q.attempts, q.max_attempts, q.folder, q.tags


-- name: record_outcomes
-- Every outcome write is guarded by the lease token: a worker whose lease was reclaimed
-- (it stalled past LEASE_S) must not overwrite what the new holder records.
UPDATE cloudinary_cleanup_queue q
   SET status = u.status,
       attempts = q.attempts + u.attempt_inc,
       next_attempt_at = COALESCE(u.next_attempt_at, q.next_attempt_at),
       last_error = u.last_error,
       response = COALESCE(u.response::jsonb, q.response),
       completed_at = CASE WHEN u.status IN ('completed', 'skipped') THEN now() END,
       locked_at = NULL, locked_by = NULL, updated_at = now()
  FROM unnest(CAST(:ids AS bigint[]), CAST(:statuses AS text[]), CAST(:incs AS int[]),
              CAST(:nexts AS timestamptz[]), CAST(:errors AS text[]),
              CAST(:responses AS text[]))
       AS u(id, status, attempt_inc, next_attempt_at, last_error, response)
 WHERE q.id = u.id AND q.status = 'processing' AND q.locked_by = :token
   AND q.id = ANY(CAST(:ids AS bigint[]))  -- through the primary key, whatever the statistics
RETURNING q.id


-- name: log_outcomes
-- One media_sync_log row per outcome.
INSERT INTO media_sync_log
    (operation, status, public_id, asset_id, source, error_message, duration_ms, details)
SELECT 'cleanup', u.status, u.public_id, u.asset_id, u.source, u.error, u.duration_ms,
       u.details::jsonb
  FROM unnest(CAST(:statuses AS text[]), CAST(:public_ids AS text[]),
              CAST(:asset_ids AS text[]), CAST(:sources AS text[]),
              CAST(:errors AS text[]), CAST(:durations AS float8[]),
              CAST(:details AS text[]))
       AS u(status, public_id, asset_id, source, error, duration_ms, details)
