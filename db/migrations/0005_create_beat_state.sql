-- When each periodic task last fired. The beat that holds the leader lock writes it before
-- every send, so a standby that takes over continues the schedule instead of restarting it.
CREATE TABLE mediasync_beat_state (
    name        text        PRIMARY KEY,
    last_run_at timestamptz NOT NULL,
    run_count   bigint      NOT NULL DEFAULT 0,
    fired_by    text
);

-- Liveness marks written by long-running parts (the worker canary, and whatever else reports
-- "I was alive at"): metrics turn them into ages.
CREATE TABLE mediasync_heartbeats (
    name      text        PRIMARY KEY,
    last_seen timestamptz NOT NULL DEFAULT now(),
    details   jsonb       NOT NULL DEFAULT '{}'
);
