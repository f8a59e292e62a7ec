-- The change feed (issue #19): every change of media_assets, as a durable row with a
-- monotonically increasing id, and a NOTIFY on 'mediasync_changes' to wake the feed
-- (webhook_receiver/change_feed/, `mediasync feed`), which streams them as Server-Sent
-- Events and resumes a client from the id it last saw (Last-Event-ID).
--
-- op: created (a live row inserted), updated (a live row's fields changed), deleted (a hard
-- DELETE of a live row, or deleted_at set), restored (deleted_at cleared). Rows that stay
-- tombstones write nothing, nor does an UPDATE that changes only bookkeeping.
-- changed: updated, restored -> the fields that changed, with their new values (previous:
-- their old ones); created, deleted -> NULL (the row itself is one join away, and building
-- a whole row's JSON would double the cost of every insert). Bookkeeping columns never
-- count: they are listed in mediasync_change_bookkeeping().
--
-- The triggers are per statement, with transition tables: one INSERT ... SELECT and one
-- NOTIFY per statement, whatever its row count (the apply writes media_assets in bulk), and
-- the diff is computed from to_jsonb(OLD/NEW), so columns added later need no change here.
-- Ids are taken in statement order, not commit order: the feed delivers an id only once
-- every transaction that could still commit a smaller one has ended (change_feed/hub.py).

CREATE TABLE mediasync_changes (
    id             bigserial   PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    op             text        NOT NULL CHECK (op IN ('created', 'updated', 'deleted', 'restored')),
    media_asset_id bigint      NOT NULL,   -- media_assets.id; no FK, the row may be gone
    public_id      text        NOT NULL,
    resource_type  text        NOT NULL,
    delivery_type  text        NOT NULL,
    asset_folder   text,                   -- media_assets.folder
    asset_id       text,
    changed        jsonb,
    previous       jsonb                   -- updated: the old values of the changed fields
);

-- Resume reads by id (the primary key). Retention deletes by time: ids and `at` grow
-- together, so a BRIN index serves it at almost no cost per insert.
CREATE INDEX mediasync_changes_at ON mediasync_changes USING brin (at);

CREATE FUNCTION mediasync_change_bookkeeping() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT '{id,created_at,updated_at,deleted_at,synced_at,sync_status,stamps,last_event_at}'::text[]
$$;

CREATE FUNCTION mediasync_record_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    last_id bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        WITH written AS (
            INSERT INTO mediasync_changes
                (op, media_asset_id, public_id, resource_type, delivery_type, asset_folder,
                 asset_id)
            SELECT 'created', n.id, n.public_id, n.resource_type, n.delivery_type, n.folder,
                   n.asset_id
              FROM new_rows n
             WHERE n.deleted_at IS NULL
             ORDER BY n.id
            RETURNING id)
        SELECT max(id) INTO last_id FROM written;
    ELSIF TG_OP = 'DELETE' THEN
        WITH written AS (
            INSERT INTO mediasync_changes
                (op, media_asset_id, public_id, resource_type, delivery_type, asset_folder,
                 asset_id)
            SELECT 'deleted', o.id, o.public_id, o.resource_type, o.delivery_type, o.folder,
                   o.asset_id
              FROM old_rows o
             WHERE o.deleted_at IS NULL
             ORDER BY o.id
            RETURNING id)
        SELECT max(id) INTO last_id FROM written;
    ELSE
        -- each row as jsonb once (MATERIALIZED: referenced below per key, it would
        -- otherwise be rebuilt per key); the fields whose values differ are the change
        WITH pairs AS MATERIALIZED (
            SELECT n.id, n.public_id, n.resource_type, n.delivery_type, n.folder, n.asset_id,
                   CASE WHEN o.deleted_at IS NULL AND n.deleted_at IS NOT NULL THEN 'deleted'
                        WHEN o.deleted_at IS NOT NULL AND n.deleted_at IS NULL THEN 'restored'
                        ELSE 'updated' END AS op,
                   to_jsonb(n) - mediasync_change_bookkeeping() AS new_values,
                   to_jsonb(o) AS old_values
              FROM new_rows n JOIN old_rows o ON o.id = n.id
             WHERE o.deleted_at IS NULL OR n.deleted_at IS NULL),
        written AS (
            INSERT INTO mediasync_changes
                (op, media_asset_id, public_id, resource_type, delivery_type, asset_folder,
                 asset_id, changed, previous)
            SELECT p.op, p.id, p.public_id, p.resource_type, p.delivery_type, p.folder,
                   p.asset_id, d.changed, d.previous
              FROM pairs p
             CROSS JOIN LATERAL (
                   SELECT jsonb_object_agg(e.key, e.value) AS changed,
                          jsonb_object_agg(e.key, p.old_values -> e.key) AS previous
                     FROM jsonb_each(p.new_values) e
                    WHERE e.value IS DISTINCT FROM p.old_values -> e.key) d
             WHERE p.op <> 'updated' OR d.changed IS NOT NULL
             ORDER BY p.id
            RETURNING id)
        SELECT max(id) INTO last_id FROM written;
    END IF;
    IF last_id IS NOT NULL THEN
        -- a wake-up only: the feed reads the table from the last id it delivered
        PERFORM pg_notify('mediasync_changes', last_id::text);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER media_assets_after_insert_record_changes
    AFTER INSERT ON media_assets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION mediasync_record_changes();

CREATE TRIGGER media_assets_after_update_record_changes
    AFTER UPDATE ON media_assets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION mediasync_record_changes();

CREATE TRIGGER media_assets_after_delete_record_changes
    AFTER DELETE ON media_assets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    EXECUTE FUNCTION mediasync_record_changes();
