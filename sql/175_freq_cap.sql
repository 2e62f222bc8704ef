-- Issue 21: a frequency cap across campaigns. An account may allow at most freq_cap_count
-- marketing messages per person within freq_cap_window_s seconds (0 = no cap), counted over
-- every campaign of its business (waba_id, like the pair rate). A campaign says what happens
-- to a recipient over the cap: it waits until it fits ('wait') or is skipped ('skip':
-- blocked, last_error_text 'frequency cap: not sent').
ALTER TABLE wa_accounts
    ADD COLUMN IF NOT EXISTS freq_cap_count INT UNSIGNED NOT NULL DEFAULT 0
        COMMENT 'at most this many marketing messages per person per window; 0 = no cap',
    ADD COLUMN IF NOT EXISTS freq_cap_window_s INT UNSIGNED NOT NULL DEFAULT 86400
        COMMENT 'the frequency cap''s moving window, seconds';

ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS freq_cap_action ENUM('wait', 'skip') NOT NULL DEFAULT 'wait'
        COMMENT 'a recipient over the account''s frequency cap waits or is skipped';

-- What the cap counts: one row per business, person and campaign, written by the worker's
-- claim (worker/claim.c) for every row that goes, in the claim's transaction and under the
-- business's lock row. sent_at is the latest claim of that campaign's message to the person
-- (a retry moves it on). A claim counts once it went, whatever the send's outcome (like the
-- messaging tier): the conservative side of a cap. The key serves the per-claim count (the
-- claim's numbers joined on (waba_id, phone)) and keeps a campaign's own earlier attempts
-- apart (campaign_id); ix_contact_sends_time serves the purge of rows older than the longest
-- window (worker/claimer.c).
CREATE TABLE IF NOT EXISTS contact_sends (
    waba_id      VARCHAR(32)     CHARACTER SET ascii NOT NULL,
    phone        VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    campaign_id  BIGINT UNSIGNED NOT NULL,
    sent_at      DATETIME(3)     NOT NULL,
    PRIMARY KEY (waba_id, phone, campaign_id),
    KEY ix_contact_sends_time (sent_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
