-- The mirror follows moderation and access control (issue #16).
--
-- moderation_status / moderation_kind: the asset's latest moderation (Cloudinary's
-- `moderation` entries, or a `moderation` notification): 'pending', 'approved',
-- 'rejected', ...; NULL when the asset was never sent to moderation.
-- access_mode: 'public' or 'authenticated', as Cloudinary states it; NULL until a full state
-- that names it is applied.
-- access_control: Cloudinary's access_control list ([{"access_type": "token"}, ...]); NULL
-- when the asset has none (Cloudinary leaves it out, says null or an empty list).
--
-- Each is a register of its own in `stamps` (workers/inbox/registers.py): "moderation",
-- "access_mode", "access_control". Rows from before this migration have none of them;
-- the next full state of the asset (an upload, a re-fetch, reconcile) fills them in.
ALTER TABLE media_assets
    ADD COLUMN moderation_status text,
    ADD COLUMN moderation_kind   text,
    ADD COLUMN access_mode       text,
    ADD COLUMN access_control    jsonb;
