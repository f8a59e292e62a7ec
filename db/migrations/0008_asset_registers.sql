-- The mirror as last-writer-wins registers (docs/ordering.md).
--
-- `stamps`: per media_assets row, when Cloudinary last wrote each field group (content,
-- identity, tags, context, metadata, display name, folder, existence) and each single tag and
-- context key, so that an event applies exactly the fields it is newer for, in any delivery
-- order. '{}' means "every field as of last_event_at": what rows written before this
-- migration, and rows reconcile writes from a listing, hold.
ALTER TABLE media_assets ADD COLUMN stamps jsonb NOT NULL DEFAULT '{}';

-- Rows are keyed by Cloudinary's asset_id: one row per asset, whatever names it takes over
-- time. Earlier code could leave duplicates (a tombstone revived under a new asset_id kept
-- none, but a new row beside an old tombstone of the same asset could): keep the newest row
-- of each asset_id, dropping older tombstones (no trigger fires: they are not live), and take
-- the asset_id off older live duplicates, marked for reconcile to set right.
DELETE FROM media_assets old
 USING media_assets newer
 WHERE old.asset_id = newer.asset_id AND old.id < newer.id AND old.deleted_at IS NOT NULL;
UPDATE media_assets old
   SET asset_id = NULL, sync_status = 'needs_refresh'
 WHERE old.asset_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM media_assets newer
                WHERE newer.asset_id = old.asset_id AND newer.id > old.id);
CREATE UNIQUE INDEX media_assets_one_row_per_asset ON media_assets (asset_id)
    WHERE asset_id IS NOT NULL;
-- it serves every lookup by asset_id the plain index did (each is `asset_id = ...`, which
-- implies NOT NULL): one index less to write per row
DROP INDEX media_assets_asset_id;

-- Which asset holds each name, as of when: a last-writer-wins register per identity, written
-- by every event that names an asset at that identity (an upload, a rename to it, a tag
-- change) and cleared by deletes and renames away. A row is shown live only while its own
-- identity's holder is its asset, so an asset replaced without a notification of its own (a
-- rename with overwrite onto its name) never comes back when a late event re-states it.
CREATE TABLE media_asset_holders (
    public_id     text NOT NULL,
    resource_type text NOT NULL,
    delivery_type text NOT NULL,
    asset_id      text,          -- NULL: nobody holds the name since `stamp`
    stamp         text COLLATE "C" NOT NULL, -- workers/stamps.py: sorts by bytes, time first
    PRIMARY KEY (public_id, resource_type, delivery_type)
);
