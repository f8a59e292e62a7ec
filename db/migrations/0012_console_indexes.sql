-- Indexes for the operator console's filters (bench/console_pages.py times every page with
-- 100,000 assets, 100,000 inbox rows and 10,000 cleanups, and reports the big tables a
-- page's plans read whole).
--
-- A public_id prefix is `LIKE 'p%'`, which a btree answers only under the C collation or
-- with text_pattern_ops (the same opclass answers `=` too). Where an index on public_id
-- already exists, it is rebuilt with that opclass instead of adding a second one, so the
-- apply's and the delete trigger's writes pay for no extra index:
-- media_assets_identity, cleanup_queue_identity and media_sync_log_public_id answered only
-- equality (nothing orders by public_id through them).

DROP INDEX media_assets_identity;
CREATE INDEX media_assets_identity
    ON media_assets (public_id text_pattern_ops, resource_type, delivery_type);

DROP INDEX cleanup_queue_identity;
CREATE INDEX cleanup_queue_identity
    ON cloudinary_cleanup_queue (public_id text_pattern_ops, resource_type, delivery_type);

DROP INDEX media_sync_log_public_id;
CREATE INDEX media_sync_log_public_id
    ON media_sync_log (public_id text_pattern_ops, created_at);

-- The inbox names an asset in its body: at the top level (uploads and most others), or as a
-- rename's from/to, or in a multi-asset notification's `resources`. The console's prefix
-- filter and an asset's history test the top-level name through the first index and the
-- (few) rows naming assets elsewhere through the second, a partial index that uploads never
-- enter (workers/operations/listings.py, history.py spell the same predicate).
-- The first costs every inbox insert and status change one index entry: alternating
-- rounds of 20,000 single-row inserts and a set-based status update on a 100,000-row inbox
-- measured the insert within noise (commits dominate) and the update ~6 % slower per row.
-- It indexes the name's first 512 characters, not the name: a btree entry has a size limit
-- (about 2.7 kB), and the inbox must store any signed notification, a 9 kB public_id's
-- included (its apply then fails as poison; tests/inbox/test_poison.py). The queries test
-- the head through the index and the whole name on the rows it finds.
CREATE INDEX webhook_inbox_public_id
    ON webhook_inbox ((left(body->>'public_id', 512)) text_pattern_ops);
CREATE INDEX webhook_inbox_names_elsewhere
    ON webhook_inbox (id)
    WHERE body ?| ARRAY['from_public_id', 'to_public_id', 'resources'];

-- The audit page's operator filter: console entries are source = 'operator' rows, which
-- the apply's writes never are. (The assets search by folder stays a scan of media_assets
-- newest first, stopping at a page: an index there would cost every apply write.)
CREATE INDEX media_sync_log_operator ON media_sync_log (id) WHERE source = 'operator';
