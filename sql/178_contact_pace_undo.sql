-- A claim notes each number's send in contact_pace before it leaves (the pair rate and the
-- messaging tier read it). When the message then certainly did not leave (refused with
-- 130429, or the claim given back before its request started), the note is taken back:
-- last_send_at returns to what it was before that claim (prev_send_at), found by the claim's
-- token, so the retry does not wait out a pair gap for a message its person never got, and
-- the person is not counted in the tier for it (worker/record.c, lib/queue.c queue.pace_undo).
ALTER TABLE contact_pace
    ADD COLUMN IF NOT EXISTS prev_send_at DATETIME(3) NULL
        COMMENT 'last_send_at before the latest claim noted this number',
    ADD COLUMN IF NOT EXISTS pace_token BIGINT UNSIGNED NULL
        COMMENT 'the claim token of that latest note';
