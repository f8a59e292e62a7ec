-- Deleting a mirror row (hard DELETE, or deleted_at going from NULL to a value) queues the asset
-- for deletion from Cloudinary and wakes the listener, in the deleting transaction itself:
-- the queue row commits or rolls back with the delete, and NOTIFY is delivered only on commit.
--
-- Echo suppression: a transaction that ran `SET LOCAL mediasync.origin = 'cloudinary'` is applying
-- a deletion Cloudinary already made, so nothing is queued. The conditions live in the triggers'
-- WHEN clauses, so ordinary UPDATEs never enter PL/pgSQL at all.
-- The channel name is db.notify.CLEANUP_CHANNEL; tests check that the two agree.

CREATE OR REPLACE FUNCTION media_assets_queue_cleanup() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    queued_id bigint;
BEGIN
    INSERT INTO cloudinary_cleanup_queue
        (media_asset_id, asset_id, public_id, resource_type, delivery_type, version, reason)
    VALUES
        (OLD.id, OLD.asset_id, OLD.public_id, OLD.resource_type, OLD.delivery_type, OLD.version,
         CASE TG_OP WHEN 'DELETE' THEN 'hard_delete' ELSE 'soft_delete' END)
    RETURNING id INTO queued_id;
    PERFORM pg_notify('mediasync_cleanup', queued_id::text);
    RETURN NULL;
END;
$$;

-- A restored row (deleted_at back to NULL, by the host app or by a newer upload from Cloudinary)
-- must not lose its asset: cancel the cleanup that has not started yet.
CREATE OR REPLACE FUNCTION media_assets_cancel_cleanup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cloudinary_cleanup_queue
       SET status = 'skipped', last_error = 'row restored before cleanup', updated_at = now(),
           completed_at = now()
     WHERE status = 'pending'
       AND public_id = NEW.public_id
       AND resource_type = NEW.resource_type
       AND delivery_type = NEW.delivery_type;
    RETURN NULL;
END;
$$;

-- Only live rows queue a cleanup: hard-deleting a tombstone (already queued when it was
-- soft-deleted, or deleted by Cloudinary itself) must not delete the asset twice.
CREATE TRIGGER media_assets_after_delete_queue_cleanup
    AFTER DELETE ON media_assets
    FOR EACH ROW
    WHEN (OLD.deleted_at IS NULL
          AND current_setting('mediasync.origin', true) IS DISTINCT FROM 'cloudinary')
    EXECUTE FUNCTION media_assets_queue_cleanup();

CREATE TRIGGER media_assets_after_soft_delete_queue_cleanup
    AFTER UPDATE OF deleted_at ON media_assets
    FOR EACH ROW
    WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL
          AND current_setting('mediasync.origin', true) IS DISTINCT FROM 'cloudinary')
    EXECUTE FUNCTION media_assets_queue_cleanup();

CREATE TRIGGER media_assets_after_restore_cancel_cleanup
    AFTER UPDATE OF deleted_at ON media_assets
    FOR EACH ROW
    WHEN (OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL)
    EXECUTE FUNCTION media_assets_cancel_cleanup();
