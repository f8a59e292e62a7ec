-- The reconcile flow's longer statements (workers/sql.py reads this file). Each says
-- which module runs it; the short ones stay beside their callers.
--
-- page_judged and sweep_candidates are not statements on their own: they are the WITH
-- clauses two statements each begin with, and the module that runs those joins them
-- (page_judged + page_dry_run, page_judged + page_repair; sweep_candidates + sweep_measure,
-- sweep_candidates + sweep_mark), so the long shared part is written once.


-- name: page_judged
-- workers/reconcile/page.py: one page of Cloudinary resources judged against the mirror;
-- the WITH clause page_dry_run and page_repair continue.
-- A fetched resource may omit a field (a `fields=` selection, a raw file's width): COALESCE
-- keeps what the row has. Tags, context and metadata are always asked for, so absent =
-- empty. The etag is written along but never makes a row stale: listings leave it out and
-- Search includes it, so comparing it would "update" every row the first search meets.
WITH page AS (
    SELECT DISTINCT ON (public_id, resource_type, delivery_type) *
      FROM jsonb_to_recordset(CAST(:page AS jsonb)) AS p(
           public_id text, resource_type text, delivery_type text, asset_id text,
           version bigint, format text, bytes bigint, width integer, height integer,
           duration double precision, folder text, display_name text, tags text[],
           context jsonb, metadata jsonb, secure_url text, etag text,
           cloudinary_created_at timestamptz, moderation_status text,
           moderation_kind text, access_mode text, access_control jsonb)
), found AS (
    SELECT p.*, live.id AS live_id, live.version AS old_version,
           (live.id IS NOT NULL
            AND (live.version IS NULL OR live.version <= p.version)
            AND (live.last_event_at IS NULL OR live.last_event_at <= :fetched_at)
            AND (live.version IS DISTINCT FROM p.version
                 OR live.asset_id IS DISTINCT FROM COALESCE(p.asset_id, live.asset_id)
                 OR live.format IS DISTINCT FROM COALESCE(p.format, live.format)
                 OR live.bytes IS DISTINCT FROM COALESCE(p.bytes, live.bytes)
                 OR live.width IS DISTINCT FROM COALESCE(p.width, live.width)
                 OR live.height IS DISTINCT FROM COALESCE(p.height, live.height)
                 OR live.duration IS DISTINCT FROM COALESCE(p.duration, live.duration)
                 OR live.folder IS DISTINCT FROM COALESCE(p.folder, live.folder)
                 OR live.display_name IS DISTINCT FROM
                        COALESCE(p.display_name, live.display_name)
                 OR live.secure_url IS DISTINCT FROM COALESCE(p.secure_url, live.secure_url)
                 OR ARRAY(SELECT unnest(live.tags) ORDER BY 1)
                        IS DISTINCT FROM ARRAY(SELECT unnest(p.tags) ORDER BY 1)
                 OR live.context IS DISTINCT FROM p.context
                 OR live.metadata IS DISTINCT FROM p.metadata
                 OR live.moderation_status IS DISTINCT FROM
                        COALESCE(p.moderation_status, live.moderation_status)
                 -- a row no full state told its access_mode (the apply's uploads do
                 -- not say it) is public, Cloudinary's default: not stale for that alone
                 OR COALESCE(live.access_mode, 'public')
                        IS DISTINCT FROM COALESCE(p.access_mode, live.access_mode, 'public')
                 -- a resource stating its access_mode states its access_control too
                 OR (p.access_mode IS NOT NULL
                     AND live.access_control IS DISTINCT FROM p.access_control))) AS stale
      FROM page p
      -- LATERAL keeps every look-up here a parameterized index probe per page row, so a
      -- page costs ~500 probes whatever the table size or the planner's statistics (a
      -- freshly loaded mirror has none, and a hash join would read it whole per page)
      LEFT JOIN LATERAL (
          SELECT * FROM media_assets m
           WHERE m.deleted_at IS NULL AND m.public_id = p.public_id
             AND m.resource_type = p.resource_type AND m.delivery_type = p.delivery_type
           LIMIT 1  -- at most one live row anyway; LIMIT keeps the planner from flattening
      ) live ON true
), judged AS (
    SELECT f.*, gone.tomb_id, moved.id AS moved_id, revive.id AS revive_id,
           CASE
               WHEN f.live_id IS NOT NULL THEN
                   CASE WHEN f.stale THEN 'updated' ELSE 'unchanged' END
               WHEN gone.deleted THEN
                   CASE WHEN gone.queued THEN 'unchanged' ELSE 'requeued_cleanup' END
               WHEN moved.id IS NOT NULL THEN 'renamed'
               WHEN revive.id IS NOT NULL THEN 'revived'
               ELSE 'inserted'
           END AS action
      FROM found f
      LEFT JOIN LATERAL (
          -- only for resources with no live row; the WHERE makes the others skip it
          SELECT t.id AS tomb_id,
                 (t.id IS NOT NULL OR c.deleted) AS deleted,
                 EXISTS (SELECT 1 FROM cloudinary_cleanup_queue q
                          -- held: waiting for an operator's decision (guardrails)
                          WHERE q.status IN ('pending', 'processing', 'held')
                            AND q.public_id = f.public_id
                            AND q.resource_type = f.resource_type
                            AND q.delivery_type = f.delivery_type) AS queued
            FROM (SELECT 1) one
            -- a tombstone of this version or newer: the host app deleted this very upload
            LEFT JOIN LATERAL (
                SELECT t.id FROM media_assets t
                 WHERE t.deleted_at IS NOT NULL AND t.public_id = f.public_id
                   AND t.resource_type = f.resource_type
                   AND t.delivery_type = f.delivery_type
                   -- deleted by the host app (workers/inbox/registers.py: a row the apply hid
                   -- itself, deleted in Cloudinary or displaced, says so in its stamps)
                   AND (t.stamps = '{}' OR (t.stamps->>'shown')::boolean
                        OR t.stamps->'exists'->>2 IS NOT NULL)
                   AND (t.version >= f.version
                        OR ((t.version IS NULL OR f.version IS NULL)
                            AND (f.cloudinary_created_at IS NULL
                                 OR f.cloudinary_created_at <= t.deleted_at)))
                 ORDER BY t.deleted_at DESC LIMIT 1) t ON true
            -- a cleanup row (any outcome but skipped or cancelled: the row came back) for
            -- this upload, by name or by asset_id (a rename after the delete must not save it)
            CROSS JOIN LATERAL (
                SELECT EXISTS (
                    SELECT 1 FROM cloudinary_cleanup_queue c
                     WHERE c.status NOT IN ('skipped', 'cancelled')
                       AND ((c.public_id = f.public_id AND c.resource_type = f.resource_type
                             AND c.delivery_type = f.delivery_type
                             AND (c.version >= f.version OR c.version IS NULL
                                  OR f.version IS NULL))
                            OR (f.asset_id IS NOT NULL AND c.asset_id = f.asset_id))
                       -- an upload made after the cleanup finished is a new asset
                       AND NOT COALESCE(c.status = 'completed'
                                        AND f.cloudinary_created_at > c.completed_at,
                                        false)) AS deleted
            ) c
           WHERE f.live_id IS NULL
      ) gone ON true
      LEFT JOIN LATERAL (
          -- OFFSET 0 fences deleted_at out of the probe: rows by asset_id are few, but
          -- ANDed with the partial live index the probe would read that whole index
          SELECT x.id FROM (
              SELECT m.id, m.deleted_at FROM media_assets m
               WHERE m.asset_id = f.asset_id OFFSET 0) x
           WHERE x.deleted_at IS NULL
             AND f.live_id IS NULL AND f.asset_id IS NOT NULL
             AND NOT COALESCE(gone.deleted, false)
           LIMIT 1
      ) moved ON true
      LEFT JOIN LATERAL (
          -- the asset's own row, not live (a newer upload after the host deleted it, or
          -- hidden by the apply): bring it back (its restore trigger cancels a cleanup still
          -- pending, which would otherwise delete the new upload). One row per asset_id:
          -- never another asset's tombstone of the same name; a tombstone of the name that
          -- has no asset_id (written without one) may be it.
          SELECT t.id FROM media_assets t
           WHERE f.live_id IS NULL AND NOT COALESCE(gone.deleted, false)
             AND moved.id IS NULL AND t.deleted_at IS NOT NULL
             AND (t.asset_id = f.asset_id
                  OR ((t.asset_id IS NULL OR f.asset_id IS NULL)
                      AND t.public_id = f.public_id AND t.resource_type = f.resource_type
                      AND t.delivery_type = f.delivery_type))
           ORDER BY t.asset_id IS NOT DISTINCT FROM f.asset_id DESC,
                    COALESCE(t.version, 0) DESC, t.deleted_at DESC
           LIMIT 1
      ) revive ON true
), seen AS (
    -- the live rows this listing vouches for (a renamed row under its new name included)
    INSERT INTO reconcile_seen (run_id, media_asset_id)
    SELECT :run_id, COALESCE(live_id, moved_id) FROM judged
     WHERE :track_seen AND COALESCE(live_id, moved_id) IS NOT NULL
    ON CONFLICT DO NOTHING
    RETURNING 1
)


-- name: page_dry_run
-- workers/reconcile/page.py, after page_judged: what a dry run reports, per action.
SELECT action, count(*) AS n, (SELECT count(*) FROM seen) AS seen
  FROM judged GROUP BY action


-- name: page_repair
-- workers/reconcile/page.py, after page_judged: the page's repairs, and their counts.
-- The writes re-check, row by row, what judging saw: a webhook applying newer state between
-- the listing and this statement wins (version, last_event_at), and a concurrent insert of
-- the same identity turns ours into a no-op.
, updated AS (
    UPDATE media_assets m
       SET asset_id = COALESCE(j.asset_id, m.asset_id),
           public_id = j.public_id, resource_type = j.resource_type,
           delivery_type = j.delivery_type, version = j.version,
           format = COALESCE(j.format, m.format), bytes = COALESCE(j.bytes, m.bytes),
           width = COALESCE(j.width, m.width), height = COALESCE(j.height, m.height),
           duration = COALESCE(j.duration, m.duration),
           folder = COALESCE(j.folder, m.folder),
           display_name = COALESCE(j.display_name, m.display_name),
           tags = j.tags, context = j.context, metadata = j.metadata,
           secure_url = COALESCE(j.secure_url, m.secure_url),
           etag = COALESCE(j.etag, m.etag),
           cloudinary_created_at = COALESCE(j.cloudinary_created_at, m.cloudinary_created_at),
           moderation_status = COALESCE(j.moderation_status, m.moderation_status),
           moderation_kind = COALESCE(j.moderation_kind, m.moderation_kind),
           access_mode = COALESCE(j.access_mode, m.access_mode),
           access_control = CASE WHEN j.access_mode IS NULL THEN m.access_control
                                 ELSE j.access_control END,
           sync_status = 'synced', synced_at = now(), updated_at = now(),
           last_event_at = GREATEST(m.last_event_at, :fetched_at),
           -- every field as of the listing (workers/inbox/registers.py reads '{}' so)
           stamps = '{}',
           deleted_at = CASE WHEN j.action = 'revived' THEN NULL ELSE m.deleted_at END
      FROM judged j
     WHERE j.action IN ('updated', 'renamed', 'revived')
       AND m.id = COALESCE(j.live_id, j.moved_id, j.revive_id)
       AND CASE WHEN j.action = 'revived'
                THEN m.deleted_at IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM media_assets l
                                      WHERE l.deleted_at IS NULL
                                        AND l.public_id = j.public_id
                                        AND l.resource_type = j.resource_type
                                        AND l.delivery_type = j.delivery_type)
                ELSE m.deleted_at IS NULL END
       AND (m.version IS NULL OR m.version <= j.version)
       AND (m.last_event_at IS NULL OR m.last_event_at <= :fetched_at)
       -- the name's live row is another asset's, and this asset has a row of its own
       -- (hidden): one row per asset_id, so it is left to the apply's next event of either
       AND NOT EXISTS (SELECT 1 FROM media_assets o
                        WHERE o.asset_id = j.asset_id AND o.id <> m.id)
    RETURNING m.public_id, m.asset_id, j.action, j.old_version, m.version
), inserted AS (
    INSERT INTO media_assets
        (asset_id, public_id, resource_type, delivery_type, version, format, bytes, width,
         height, duration, folder, display_name, tags, context, metadata, secure_url, etag,
         cloudinary_created_at, moderation_status, moderation_kind, access_mode,
         access_control, sync_status, synced_at, last_event_at)
    SELECT asset_id, public_id, resource_type, delivery_type, version, format, bytes, width,
           height, duration, folder, display_name, tags, context, metadata, secure_url,
           etag, cloudinary_created_at, moderation_status, moderation_kind, access_mode,
           access_control, 'synced', now(), :fetched_at
      FROM judged WHERE action = 'inserted'
    -- the name's live row or the asset's row inserted meanwhile: theirs stands
    ON CONFLICT DO NOTHING
    RETURNING public_id, asset_id, version
), requeued AS (
    INSERT INTO cloudinary_cleanup_queue
        (media_asset_id, asset_id, public_id, resource_type, delivery_type, version, reason)
    SELECT tomb_id, asset_id, public_id, resource_type, delivery_type, version, 'reconcile'
      FROM judged WHERE action = 'requeued_cleanup'
    RETURNING id, public_id, asset_id, version
), notified AS (
    -- the listener wakes a cleanup worker now instead of at the next sweep
    SELECT count(pg_notify(:channel, id::text)) AS n FROM requeued
), logged AS (
    INSERT INTO media_sync_log (operation, status, public_id, asset_id, source, details)
    SELECT 'reconcile.' || x.operation, 'ok', x.public_id, x.asset_id, 'reconcile',
           jsonb_build_object('run_id', :run_id, 'kind', CAST(:kind AS text),
                              'from_version', x.from_version, 'version', x.version)
      FROM (SELECT 'insert' AS operation, public_id, asset_id,
                   NULL::bigint AS from_version, version FROM inserted
            UNION ALL
            SELECT CASE action WHEN 'renamed' THEN 'rename'
                               WHEN 'revived' THEN 'revive' ELSE 'update' END,
                   public_id, asset_id, old_version, version FROM updated
            UNION ALL
            SELECT 'requeue_cleanup', public_id, asset_id, NULL, version FROM requeued) x
    RETURNING 1
)
SELECT (SELECT count(*) FROM judged) AS judged,
       (SELECT count(*) FROM inserted)
           + (SELECT count(*) FROM updated WHERE action = 'revived') AS inserted,
       (SELECT count(*) FROM updated WHERE action <> 'revived') AS updated,
       (SELECT count(*) FROM requeued) AS requeued_cleanup,
       (SELECT count(*) FROM seen) AS seen,
       (SELECT n FROM notified) AS notified,
       (SELECT count(*) FROM logged) AS logged


-- name: sweep_candidates
-- workers/reconcile/sweep.py: the live rows of the listed scopes this full run did not see,
-- older than the cutoff (at most :limit); the WITH clause sweep_measure and sweep_mark
-- continue.
-- Set difference rather than NOT EXISTS, and ids rather than names: EXCEPT is one hash (or
-- sort) pass and `id = ANY(array)` is a primary-key lookup, so the plan stays linear
-- whatever the planner believes about reconcile_seen (its statistics describe some earlier
-- run, if any) -- a nested-loop anti-join over 100k rows would take hours.
WITH unseen AS MATERIALIZED (
    SELECT m.id
      FROM media_assets m
      JOIN unnest(CAST(:resource_types AS text[]), CAST(:delivery_types AS text[]))
           AS scope(resource_type, delivery_type)
        ON scope.resource_type = m.resource_type
       AND scope.delivery_type = m.delivery_type
     WHERE m.deleted_at IS NULL
       AND m.created_at < :cutoff AND m.updated_at < :cutoff
       AND COALESCE(m.last_event_at, '-infinity') < :cutoff
    EXCEPT
    SELECT media_asset_id FROM reconcile_seen WHERE run_id = :run_id
), candidates AS MATERIALIZED (
    SELECT id FROM unseen ORDER BY id LIMIT :limit
)


-- name: sweep_measure
-- workers/reconcile/sweep.py, after sweep_candidates: the scopes' live rows, and how many
-- of them are gone.
SELECT (SELECT count(*)
          FROM media_assets m
          JOIN unnest(CAST(:resource_types AS text[]), CAST(:delivery_types AS text[]))
               AS scope(resource_type, delivery_type)
            ON scope.resource_type = m.resource_type
           AND scope.delivery_type = m.delivery_type
         WHERE m.deleted_at IS NULL) AS live,
       (SELECT count(*) FROM candidates) AS gone


-- name: sweep_mark
-- workers/reconcile/sweep.py, after sweep_candidates: mark the gone rows deleted.
-- The row-level re-check (deleted_at, updated_at, last_event_at) runs again under the row
-- lock: a webhook that touched the row since the count keeps it alive.
, gone AS (
    UPDATE media_assets m
       SET deleted_at = now(), updated_at = now(), sync_status = 'synced', synced_at = now()
     WHERE m.id = ANY(ARRAY(SELECT id FROM candidates))
       AND m.deleted_at IS NULL AND m.updated_at < :cutoff
       AND COALESCE(m.last_event_at, '-infinity') < :cutoff
    RETURNING m.public_id, m.asset_id, m.version
), logged AS (
    INSERT INTO media_sync_log (operation, status, public_id, asset_id, source, details)
    SELECT 'reconcile.mark_deleted', 'ok', public_id, asset_id, 'reconcile',
           jsonb_build_object('run_id', :run_id, 'kind', 'full', 'version', version)
      FROM gone
    RETURNING 1
)
SELECT (SELECT count(*) FROM gone) AS marked, (SELECT count(*) FROM logged) AS logged


-- name: mark_missing
-- workers/reconcile/sweep.py: Cloudinary answered 404 for this identity: mark its live row
-- deleted when it is older than the cutoff (a dry run counts it).
WITH gone AS (
    UPDATE media_assets m
       SET deleted_at = now(), updated_at = now(), sync_status = 'synced', synced_at = now()
     WHERE m.deleted_at IS NULL AND m.public_id = :public_id
       AND m.resource_type = :resource_type AND m.delivery_type = :delivery_type
       AND m.created_at < :cutoff AND m.updated_at < :cutoff
       AND COALESCE(m.last_event_at, '-infinity') < :cutoff
       AND NOT :dry_run
    RETURNING m.public_id, m.asset_id, m.version
), logged AS (
    INSERT INTO media_sync_log (operation, status, public_id, asset_id, source, details)
    SELECT 'reconcile.mark_deleted', 'ok', public_id, asset_id, 'reconcile',
           jsonb_build_object('run_id', :run_id, 'kind', 'single', 'version', version)
      FROM gone
    RETURNING 1
)
SELECT CASE WHEN :dry_run THEN
           (SELECT count(*) FROM media_assets m
             WHERE m.deleted_at IS NULL AND m.public_id = :public_id
               AND m.resource_type = :resource_type AND m.delivery_type = :delivery_type
               AND m.created_at < :cutoff AND m.updated_at < :cutoff
               AND COALESCE(m.last_event_at, '-infinity') < :cutoff)
       ELSE (SELECT count(*) FROM gone) END AS marked,
       (SELECT count(*) FROM logged) AS logged
