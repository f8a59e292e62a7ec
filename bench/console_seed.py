"""A large mirror for the console's page timings, written by generate_series in a few
statements: assets, inbox rows (uploads, renames, multi-asset deletes; every status),
cleanups (every status), the audit log, and finished reconcile runs."""

from __future__ import annotations

import psycopg
from psycopg import sql

from db.urls import libpq_url

# {assets}, {inbox}, {cleanups} and {log} are whole numbers this module formats in.
_SEED = """
INSERT INTO media_assets (public_id, asset_id, resource_type, delivery_type, version,
                          format, bytes, width, height, folder, tags, context, secure_url,
                          synced_at, created_at, updated_at, deleted_at)
SELECT 'bench/' || lpad(i::text, 6, '0'), md5('asset' || i), 'image', 'upload', 1,
       'jpg', 1000 + i, 800, 600, 'folder-' || (i % 100), ARRAY['tag-' || (i % 50)],
       jsonb_build_object('custom', jsonb_build_object('alt', 'picture ' || i)),
       'https://res.cloudinary.com/bench/image/upload/v1/bench/' || i || '.jpg',
       now(), now() - make_interval(secs => {assets} - i), now(),
       CASE WHEN i % 97 = 0 THEN now() END
  FROM generate_series(1, {assets}) AS i;

-- 94 % uploads naming one asset, 3 % renames, 3 % deletes naming three in `resources`;
-- 90 % applied, 4 % ignored, 3 % failed, 3 % pending; the newest tenth within the hour
INSERT INTO webhook_inbox (digest, notification_type, body, signed_at, received_at,
                           status, attempts, next_attempt_at, last_error, applied_at)
SELECT md5('inbox' || i), kind, body, at, at, status,
       CASE status WHEN 'failed' THEN 5 ELSE 1 END, at,
       CASE status WHEN 'failed' THEN 'KeyError: ''version''' END,
       CASE WHEN status IN ('applied', 'ignored') THEN at + interval '40 ms' END
  FROM (
    SELECT i,
           CASE WHEN i % 100 < 94 THEN 'upload' WHEN i % 100 < 97 THEN 'rename'
                ELSE 'delete' END AS kind,
           CASE WHEN i % 100 < 94 THEN jsonb_build_object(
                    'notification_type', 'upload',
                    'public_id', 'bench/' || lpad((i % {assets} + 1)::text, 6, '0'),
                    'version', 1, 'bytes', 1000 + i, 'format', 'jpg',
                    'tags', jsonb_build_array('tag-' || (i % 50)))
                WHEN i % 100 < 97 THEN jsonb_build_object(
                    'notification_type', 'rename',
                    'from_public_id', 'old/' || lpad(i::text, 6, '0'),
                    'to_public_id', 'bench/' || lpad((i % {assets} + 1)::text, 6, '0'))
                ELSE jsonb_build_object(
                    'notification_type', 'delete',
                    'resources', (SELECT jsonb_agg(jsonb_build_object(
                        'public_id', 'gone/' || lpad((i * 3 + k)::text, 7, '0'),
                        'resource_type', 'image', 'type', 'upload'))
                      FROM generate_series(0, 2) AS k)) END AS body,
           CASE WHEN i % 100 < 90 THEN 'applied' WHEN i % 100 < 94 THEN 'ignored'
                WHEN i % 100 < 97 THEN 'failed' ELSE 'pending' END AS status,
           now() - make_interval(secs => ({inbox} - i) * 36000.0 / {inbox}) AS at
      FROM generate_series(1, {inbox}) AS i
  ) AS rows;

INSERT INTO cloudinary_cleanup_queue (media_asset_id, asset_id, public_id, resource_type,
                                      delivery_type, version, reason, status, attempts,
                                      last_error, response, created_at, updated_at,
                                      completed_at, held_reason, folder, tags)
SELECT i, md5('gone' || i), 'gone/' || lpad(i::text, 7, '0'), 'image', 'upload', 1,
       'hard_delete', status, CASE status WHEN 'failed' THEN 8 ELSE 1 END,
       CASE status WHEN 'failed' THEN 'GeneralError: Error 500' END,
       CASE status WHEN 'completed' THEN '{{"deleted": {{}}}}'::jsonb END,
       now() - make_interval(secs => {cleanups} - i), now(),
       CASE status WHEN 'completed' THEN now() END,
       CASE status WHEN 'held' THEN 'mass delete' END,
       'folder-' || (i % 100), ARRAY['tag-' || (i % 50)]
  FROM (SELECT i, CASE WHEN i % 20 < 16 THEN 'completed' WHEN i % 20 = 16 THEN 'failed'
                       WHEN i % 20 = 17 THEN 'held' ELSE 'pending' END AS status
          FROM generate_series(1, {cleanups}) AS i) AS rows;

-- what the apply writes per event, and a few operators' console entries
INSERT INTO media_sync_log (operation, status, public_id, asset_id, source, duration_ms,
                            details, created_at)
SELECT CASE WHEN i % 500 = 0 THEN 'console.inbox.retry' ELSE 'upsert' END, 'done',
       'bench/' || lpad((i % {assets} + 1)::text, 6, '0'), md5('asset' || i),
       CASE WHEN i % 500 = 0 THEN 'operator' ELSE 'webhook' END, 1.5,
       CASE WHEN i % 500 = 0 THEN jsonb_build_object('operator', 'alice', 'kind', 'admin')
            ELSE '{{}}'::jsonb END,
       now() - make_interval(secs => {log} - i)
  FROM generate_series(1, {log}) AS i;

INSERT INTO reconcile_runs (kind, status, dry_run, params, counts, report, started_at,
                            finished_at)
SELECT CASE WHEN i % 3 = 0 THEN 'full' ELSE 'incremental' END, 'finished', i % 5 = 0,
       '{{}}', jsonb_build_object('listed', 1000, 'created', i % 7, 'updated', i % 3,
                                  'pages', 10, 'api_calls', 10),
       '{{}}', now() - make_interval(hours => 200 - i),
       now() - make_interval(hours => 200 - i) + interval '4 s'
  FROM generate_series(1, 200) AS i;
"""

TABLES = (
    "media_assets",
    "webhook_inbox",
    "cloudinary_cleanup_queue",
    "media_sync_log",
    "reconcile_runs",
)


def seed(database_url: str, *, assets: int, inbox: int, cleanups: int) -> None:
    statements = _SEED.format(assets=assets, inbox=inbox, cleanups=cleanups, log=inbox)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # a bulk load, not deletes from the mirror: the delete guard has nothing to hold
        conn.execute(statements.encode())  # a literal, formatted with whole numbers
        for table in TABLES:
            conn.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
