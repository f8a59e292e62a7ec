-- Operator kill switches. A row here means the named flow ('cleanup', later 'reconcile') makes
-- no Cloudinary calls until the row is removed; its queued work stays pending, nothing is lost.
-- A table rather than a Redis key: a pause must survive a Redis restart (Redis keeps nothing).
CREATE TABLE mediasync_pauses (
    flow      text        PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now(),
    paused_by text,
    reason    text
);
