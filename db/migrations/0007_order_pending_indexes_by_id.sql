-- The claims read due rows `ORDER BY next_attempt_at, id`. Indexed on next_attempt_at alone,
-- rows that share a timestamp (every row one statement wrote: a 10,000-row DELETE queues
-- 10,000 cleanups at one now(); a bulk retry; a seeded backlog) had to be sorted in full on
-- every claim: 70,000 pending inbox rows sharing one next_attempt_at cost ~90 ms and 66 MB of
-- temp files per 500-row claim. With id in the index, the claim reads its rows in order and
-- stops at the limit. Both indexes hold only pending rows, so they build quickly.

DROP INDEX webhook_inbox_pending_due;
CREATE INDEX webhook_inbox_pending_due ON webhook_inbox (next_attempt_at, id)
    WHERE status = 'pending';

DROP INDEX cleanup_queue_pending_due;
CREATE INDEX cleanup_queue_pending_due ON cloudinary_cleanup_queue (next_attempt_at, id)
    WHERE status = 'pending';
