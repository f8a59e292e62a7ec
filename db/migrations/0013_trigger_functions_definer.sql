-- The trigger functions run with their owner's rights and a fixed search_path.
--
-- With least-privilege roles (`mediasync migrate --roles`), the host application's role
-- may delete or soft-delete media_assets rows but has no right on the cleanup queue, the
-- breaker or the change log: the triggers that write those must act as their owner
-- (SECURITY DEFINER). And whoever fires them, with whatever search_path (the host's role
-- has its own), they must find mediasync's tables in mediasync's schema: the schema this
-- migration runs in (MEDIASYNC_SCHEMA, else the default), then pg_temp last, so that no
-- temporary table can stand in for one of ours. (mediasync_change_bookkeeping() reads
-- no table, and a SET clause would stop PostgreSQL inlining it: it is left as it is.)
DO $$
DECLARE
    fn text;
BEGIN
    FOREACH fn IN ARRAY ARRAY[
        'media_assets_queue_cleanup()',
        'media_assets_cancel_cleanup()',
        'media_assets_refuse_truncate()',
        'mediasync_record_changes()'
    ] LOOP
        EXECUTE format(
            'ALTER FUNCTION %s SECURITY DEFINER SET search_path = %I, pg_temp',
            fn, current_schema()
        );
    END LOOP;
END
$$;
