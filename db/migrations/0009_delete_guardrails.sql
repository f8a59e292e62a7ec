-- Delete guardrails (README "Safety"): a mistake in the database must never wipe the cloud.
--
-- held:      a cleanup not yet sent that waits for an operator (the mass-delete breaker
--            tripped, or this database is not the one mediasync was set up on); held_reason
--            says which. `mediasync cleanup release` sends it, `restore` gives the row back.
-- cancelled: an operator restored the row; nothing was, or will be, deleted.
-- released_at/by: an operator released the row: it is sent even while the breaker is tripped.
-- actor:     who deleted: the deleting transaction's mediasync.actor, else its application_name.
-- folder, tags: the row's, when deleted (MEDIASYNC_DELETE_SCOPE is checked against them).
ALTER TABLE cloudinary_cleanup_queue DROP CONSTRAINT cloudinary_cleanup_queue_status_check;
ALTER TABLE cloudinary_cleanup_queue ADD CONSTRAINT cloudinary_cleanup_queue_status_check
    CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped', 'held',
                      'cancelled'));
ALTER TABLE cloudinary_cleanup_queue
    ADD COLUMN held_reason text,
    ADD COLUMN released_at timestamptz,
    ADD COLUMN released_by text,
    ADD COLUMN actor       text,
    ADD COLUMN folder      text,
    ADD COLUMN tags        text[];
CREATE INDEX cleanup_queue_held ON cloudinary_cleanup_queue (id) WHERE status = 'held';
-- the breaker's sliding window counts rows by when they were queued
CREATE INDEX cleanup_queue_created_at ON cloudinary_cleanup_queue (created_at);

-- The mass-delete breaker: one row. tripped_at is set while it is tripped (every cleanup not
-- yet sent is held); the window counts only rows queued after reset_at (an operator's
-- decision on a burst closes the breaker, and the burst no longer counts).
CREATE TABLE mediasync_delete_breaker (
    id         boolean     PRIMARY KEY DEFAULT true CHECK (id),
    tripped_at timestamptz,
    reset_at   timestamptz NOT NULL DEFAULT '-infinity',
    details    jsonb       NOT NULL DEFAULT '{}'      -- what tripped it: counts, limit, sample
);
INSERT INTO mediasync_delete_breaker DEFAULT VALUES;

-- Which database this mirror is: recorded at this migration. A copy (pg_dump into another
-- database or cluster, CREATE DATABASE ... TEMPLATE) carries this row but is another database:
-- its deletes are held until an operator adopts it (`mediasync cleanup adopt`).
-- system_identifier is NULL where the migrating role may not read pg_control_system().
CREATE TABLE mediasync_database_identity (
    id                boolean     PRIMARY KEY DEFAULT true CHECK (id),
    database_oid      oid         NOT NULL,
    database_name     text        NOT NULL,
    system_identifier text,
    cloud_name        text,                  -- the account it deletes in, once a drain knew it
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    adopted_by        text
);
INSERT INTO mediasync_database_identity (database_oid, database_name)
SELECT oid, datname FROM pg_database WHERE datname = current_database();
DO $$
BEGIN
    UPDATE mediasync_database_identity
       SET system_identifier = (SELECT system_identifier::text FROM pg_control_system());
EXCEPTION WHEN insufficient_privilege THEN
    NULL;  -- the database's oid and name still tell a copy
END;
$$;

-- The queue row says who deleted, and the row's folder and tags.
CREATE OR REPLACE FUNCTION media_assets_queue_cleanup() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    queued_id bigint;
BEGIN
    INSERT INTO cloudinary_cleanup_queue
        (media_asset_id, asset_id, public_id, resource_type, delivery_type, version, reason,
         actor, folder, tags)
    VALUES
        (OLD.id, OLD.asset_id, OLD.public_id, OLD.resource_type, OLD.delivery_type, OLD.version,
         CASE TG_OP WHEN 'DELETE' THEN 'hard_delete' ELSE 'soft_delete' END,
         coalesce(nullif(current_setting('mediasync.actor', true), ''),
                  nullif(current_setting('application_name', true), '')),
         OLD.folder, OLD.tags)
    RETURNING id INTO queued_id;
    PERFORM pg_notify('mediasync_cleanup', queued_id::text);
    RETURN NULL;
END;
$$;

-- A restored row cancels its cleanup that was not sent: pending, or held for an operator.
CREATE OR REPLACE FUNCTION media_assets_cancel_cleanup() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cloudinary_cleanup_queue
       SET status = 'skipped', last_error = 'row restored before cleanup', updated_at = now(),
           completed_at = now()
     WHERE status IN ('pending', 'held')
       AND public_id = NEW.public_id
       AND resource_type = NEW.resource_type
       AND delivery_type = NEW.delivery_type;
    RETURN NULL;
END;
$$;

-- TRUNCATE fires no row trigger: the rows would leave without their cleanups, and the cloud
-- would keep every asset with no row to say so. Refused, naming the two ways out.
CREATE FUNCTION media_assets_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'TRUNCATE media_assets is refused by mediasync'
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'A TRUNCATE queues no Cloudinary delete: the assets would stay in the cloud with no row.',
              HINT = 'To delete the assets too: DELETE FROM media_assets (the delete breaker holds a mass delete for review). To empty only the mirror: SET LOCAL mediasync.origin = ''cloudinary'' in the same transaction, then TRUNCATE.';
END;
$$;

CREATE TRIGGER media_assets_before_truncate_refuse
    BEFORE TRUNCATE ON media_assets
    FOR EACH STATEMENT
    WHEN (current_setting('mediasync.origin', true) IS DISTINCT FROM 'cloudinary')
    EXECUTE FUNCTION media_assets_refuse_truncate();
