-- mediasync's tables: the mirror, the two durable queues and the audit log.
-- Forward-only: never edit this file once merged; add a new numbered file instead.

CREATE TABLE media_assets (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id              text,                       -- Cloudinary's immutable id
    public_id             text        NOT NULL,
    resource_type         text        NOT NULL DEFAULT 'image',
    delivery_type         text        NOT NULL DEFAULT 'upload',  -- Cloudinary's `type`
    version               bigint,
    format                text,
    bytes                 bigint,
    width                 integer,
    height                integer,
    duration              double precision,
    folder                text,
    display_name          text,
    tags                  text[]      NOT NULL DEFAULT '{}',
    context               jsonb       NOT NULL DEFAULT '{}',
    metadata              jsonb       NOT NULL DEFAULT '{}',
    secure_url            text,
    etag                  text,
    cloudinary_created_at timestamptz,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,                -- soft delete; a deleted row is a tombstone
    sync_status           text        NOT NULL DEFAULT 'synced',
    synced_at             timestamptz,
    -- when Cloudinary produced the newest event applied to this row: an older event never wins
    last_event_at         timestamptz
);

-- One live row per Cloudinary identity; tombstones (deleted_at set) may repeat it.
CREATE UNIQUE INDEX media_assets_live_identity
    ON media_assets (public_id, resource_type, delivery_type) WHERE deleted_at IS NULL;
CREATE INDEX media_assets_identity ON media_assets (public_id, resource_type, delivery_type);
CREATE INDEX media_assets_asset_id ON media_assets (asset_id);
CREATE INDEX media_assets_tags ON media_assets USING gin (tags);
CREATE INDEX media_assets_sync_status ON media_assets (sync_status) WHERE sync_status <> 'synced';


CREATE TABLE webhook_inbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest            text        NOT NULL UNIQUE,   -- SHA-256 hex of the raw body: redelivery is a no-op
    notification_type text        NOT NULL,
    body              jsonb       NOT NULL,
    signed_at         timestamptz,                   -- X-Cld-Timestamp of the delivery
    received_at       timestamptz NOT NULL DEFAULT now(),
    status            text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'applied', 'ignored', 'failed')),
    attempts          integer     NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error        text,
    applied_at        timestamptz
);

CREATE INDEX webhook_inbox_pending_due ON webhook_inbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_inbox_failed ON webhook_inbox (id) WHERE status = 'failed';
CREATE INDEX webhook_inbox_applied_at ON webhook_inbox (applied_at) WHERE status IN ('applied', 'ignored');


CREATE TABLE cloudinary_cleanup_queue (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    media_asset_id  bigint,                 -- the mirror row's id; no FK, the row may be gone
    asset_id        text,
    public_id       text        NOT NULL,
    resource_type   text        NOT NULL,
    delivery_type   text        NOT NULL,
    version         bigint,
    reason          text        NOT NULL
        CHECK (reason IN ('hard_delete', 'soft_delete', 'operator', 'reconcile')),
    status          text        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    attempts        integer     NOT NULL DEFAULT 0,
    max_attempts    integer     NOT NULL DEFAULT 8,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_at       timestamptz,
    locked_by       text,
    last_error      text,
    response        jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz
);

CREATE INDEX cleanup_queue_pending_due ON cloudinary_cleanup_queue (next_attempt_at) WHERE status = 'pending';
CREATE INDEX cleanup_queue_processing ON cloudinary_cleanup_queue (locked_at) WHERE status = 'processing';
CREATE INDEX cleanup_queue_failed ON cloudinary_cleanup_queue (id) WHERE status = 'failed';
CREATE INDEX cleanup_queue_identity ON cloudinary_cleanup_queue (public_id, resource_type, delivery_type);
CREATE INDEX cleanup_queue_asset_id ON cloudinary_cleanup_queue (asset_id);
CREATE INDEX cleanup_queue_completed_at ON cloudinary_cleanup_queue (completed_at) WHERE status IN ('completed', 'skipped');


CREATE TABLE media_sync_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operation     text        NOT NULL,
    status        text        NOT NULL,
    public_id     text,
    asset_id      text,
    source        text        NOT NULL CHECK (source IN ('webhook', 'trigger', 'reconcile', 'operator')),
    error_message text,
    duration_ms   double precision,
    details       jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX media_sync_log_public_id ON media_sync_log (public_id, created_at);
CREATE INDEX media_sync_log_created_at ON media_sync_log (created_at);
