-- Reconciliation: one row per run (full listing, incremental search, or a single asset), the
-- set of identities a full run has seen, and the incremental watermark.

CREATE TABLE reconcile_runs (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('full', 'incremental', 'single')),
    status      text        NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'paused', 'finished', 'aborted', 'failed')),
    dry_run     boolean     NOT NULL DEFAULT false,
    params      jsonb       NOT NULL DEFAULT '{}',   -- what was asked (scopes, search window, target)
    cursor      jsonb       NOT NULL DEFAULT '{}',   -- where to resume: saved with every page
    counts      jsonb       NOT NULL DEFAULT '{}',   -- per class, plus pages and API calls
    report      jsonb       NOT NULL DEFAULT '{}',   -- the final report (and why it stopped)
    error       text,
    -- when a paused run may continue (the rate-limit reset); NULL while paused by an operator
    resume_at   timestamptz,
    started_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- At most one unfinished full (and one incremental) run that writes: a second start finds
-- this one instead. Dry runs write nothing and single-asset runs are tiny, so they may overlap.
CREATE UNIQUE INDEX reconcile_runs_one_active
    ON reconcile_runs (kind)
    WHERE status IN ('running', 'paused') AND NOT dry_run AND kind <> 'single';
CREATE INDEX reconcile_runs_unfinished ON reconcile_runs (resume_at)
    WHERE status IN ('running', 'paused');
CREATE INDEX reconcile_runs_started_at ON reconcile_runs (started_at);

-- The live rows a full run found listed (by media_assets id), so that "live row, asset gone"
-- is one set difference at the end. Scratch data: UNLOGGED (no WAL for 100k rows per run);
-- a crash empties it, which the run detects (its seen count no longer matches) and answers
-- by listing again. No foreign key: rows come and go while the run pages.
CREATE UNLOGGED TABLE reconcile_seen (
    run_id         bigint NOT NULL,
    media_asset_id bigint NOT NULL,
    PRIMARY KEY (run_id, media_asset_id)
);

-- Where the next incremental search starts (minus an overlap): the start of the last
-- finished run that looked at everything changed before it.
CREATE TABLE reconcile_watermarks (
    name       text        PRIMARY KEY,
    watermark  timestamptz NOT NULL,
    run_id     bigint,
    updated_at timestamptz NOT NULL DEFAULT now()
);
