-- The inbox flow's longer statements (workers/sql.py reads this file). Each says which
-- module runs it; the short ones stay beside their callers.


-- name: claim_batch
-- workers/inbox/batch.py: a batch of due rows, locked for this transaction.
-- The body as text: decoded row by row (`Claimed.read`), so that one body Python cannot
-- read (jsonb keeps 1e5000 exactly; Python refuses the 5,001-digit integer it reads back)
-- fails its own row, not the claim of every batch.
SELECT id, digest, notification_type, CAST(body AS text) AS body, signed_at,
       received_at, attempts
  FROM webhook_inbox
 WHERE status = 'pending' AND next_attempt_at <= now()
 ORDER BY next_attempt_at, id
 LIMIT :limit
   FOR UPDATE SKIP LOCKED


-- name: record_applied
-- workers/inbox/records.py: the batch's inbox rows' new statuses.
-- Parameters travel as one json array of objects: serialized in C (orjson), where a
-- text[] per column would be adapted element by element in Python.
UPDATE webhook_inbox i
   SET status = u.status, attempts = i.attempts + 1, last_error = NULL,
       -- the transaction's last statement: the commit that makes the effect visible follows
       applied_at = clock_timestamp()
  FROM json_to_recordset(CAST(:rows AS json)) AS u(id bigint, status text)
 WHERE i.id = u.id
   -- the rows by their ids, through the primary key: joined on the function alone, the
   -- planner (guessing 100 rows from it, and a small table from stale statistics) hashed
   -- and scanned the whole inbox per batch, a cost that grew with the table
   AND i.id = ANY(CAST(:ids AS bigint[]))


-- name: log_outcomes
-- workers/inbox/records.py: one media_sync_log row per outcome (records.py also joins this
-- and record_applied into one statement: the batch's statuses and audit rows in one round
-- trip).
INSERT INTO media_sync_log
    (operation, status, public_id, asset_id, source, error_message, duration_ms, details)
SELECT u.operation, u.status, u.public_id, u.asset_id, 'webhook', u.error, u.duration_ms,
       CAST(u.details AS jsonb)
  FROM json_to_recordset(CAST(:rows AS json))
       AS u(operation text, status text, public_id text, asset_id text, error text,
            duration_ms double precision, details json)


-- name: asset_rows
-- A fragment: the rows insert_assets and update_assets write, as the json array of
-- AssetRows (db/asset_columns.WRITTEN) they are sent in, each numbered `n` in its order.
ROWS FROM (json_to_recordset(CAST(:rows AS json)) AS (
    id bigint, asset_id text, public_id text, resource_type text, delivery_type text,
    version bigint, format text, bytes bigint, width integer, height integer,
    duration double precision, folder text, display_name text, tags json, context json,
    metadata_ json, secure_url text, etag text, cloudinary_created_at timestamptz,
    updated_at timestamptz, deleted_at timestamptz, sync_status text,
    synced_at timestamptz, last_event_at timestamptz, stamps json,
    moderation_status text, moderation_kind text, access_mode text,
    access_control json)) WITH ORDINALITY AS u(
    id, asset_id, public_id, resource_type, delivery_type, version, format, bytes, width,
    height, duration, folder, display_name, tags, context, metadata_, secure_url, etag,
    cloudinary_created_at, updated_at, deleted_at, sync_status, synced_at, last_event_at,
    stamps, moderation_status, moderation_kind, access_mode, access_control, n)


-- name: insert_assets
-- workers/inbox/asset_row.py: new media_assets rows, answering their ids.
-- The rows travel as one json array of objects (AssetRows as orjson writes dataclasses: a
-- key per field), numbered `n` in their order. json, not jsonb: json_to_recordset reads the
-- text once, where a jsonb cast builds the whole document first (~40 % slower for 500
-- rows). The record is the asset_rows fragment, shared with update_assets.
-- One round trip: the new ids are drawn in a materialized CTE (nextval runs once per row)
-- that both the INSERT and the answer read, in the rows' order `n`.
WITH u AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('media_assets', 'id')) AS new_id, u.*
      FROM /* include: asset_rows */
), inserted AS (
    INSERT INTO media_assets (id, asset_id, public_id, resource_type, delivery_type,
        version, format, bytes, width, height, duration, folder, display_name, tags,
        context, metadata, secure_url, etag, cloudinary_created_at, updated_at,
        deleted_at, sync_status, synced_at, last_event_at, stamps, moderation_status,
        moderation_kind, access_mode, access_control)
    OVERRIDING SYSTEM VALUE
    SELECT u.new_id, u.asset_id, u.public_id, u.resource_type, u.delivery_type, u.version,
           u.format, u.bytes, u.width, u.height, u.duration, u.folder, u.display_name,
           ARRAY(SELECT json_array_elements_text(u.tags)), CAST(u.context AS jsonb),
           CAST(u.metadata_ AS jsonb),
           u.secure_url, u.etag, u.cloudinary_created_at, coalesce(u.updated_at, now()),
           u.deleted_at, u.sync_status, u.synced_at, u.last_event_at,
           CAST(u.stamps AS jsonb), u.moderation_status, u.moderation_kind,
           u.access_mode, CAST(u.access_control AS jsonb)
      FROM u
)
SELECT new_id FROM u ORDER BY n


-- name: update_assets
-- workers/inbox/asset_row.py: changed media_assets rows, by id; the rows travel as in
-- insert_assets (the same record).
UPDATE media_assets m
   SET asset_id = u.asset_id, public_id = u.public_id, resource_type = u.resource_type,
       delivery_type = u.delivery_type, version = u.version, format = u.format,
       bytes = u.bytes, width = u.width, height = u.height, duration = u.duration,
       folder = u.folder, display_name = u.display_name,
       tags = ARRAY(SELECT json_array_elements_text(u.tags)),
       context = CAST(u.context AS jsonb), metadata = CAST(u.metadata_ AS jsonb),
       secure_url = u.secure_url, etag = u.etag,
       cloudinary_created_at = u.cloudinary_created_at,
       updated_at = coalesce(u.updated_at, now()), deleted_at = u.deleted_at,
       sync_status = u.sync_status, synced_at = u.synced_at,
       last_event_at = u.last_event_at, stamps = CAST(u.stamps AS jsonb),
       moderation_status = u.moderation_status, moderation_kind = u.moderation_kind,
       access_mode = u.access_mode, access_control = CAST(u.access_control AS jsonb)
  FROM /* include: asset_rows */
 WHERE m.id = u.id
   -- by id through the primary key, whatever the statistics say (see record_applied)
   AND m.id = ANY(CAST(:ids AS bigint[]))


-- name: write_holders
-- workers/inbox/asset_store.py: the names' holder registers the batch changed; the stored
-- holder stands unless the one written is stamped later.
INSERT INTO media_asset_holders AS h
       (public_id, resource_type, delivery_type, asset_id, stamp)
SELECT public_id, resource_type, delivery_type, asset_id, stamp
  FROM json_to_recordset(CAST(:rows AS json))
       AS u(public_id text, resource_type text, delivery_type text, asset_id text,
            stamp text)
    ON CONFLICT (public_id, resource_type, delivery_type) DO UPDATE
   SET asset_id = excluded.asset_id, stamp = excluded.stamp
 WHERE excluded.stamp > h.stamp
