-- Issue 16, the campaign side: the auto-pause shared by every worker and the webhook
-- applier, the account's thresholds for it, and template pacing.

-- Outcomes of each campaign's latest attempts, in 10-second buckets. Every database
-- connection that records outcomes (a worker's recorder, a webhook applier) adds to a row of
-- its own (writer = the server's host name and the connection id), so no row is updated by
-- two writers: no hot counter, nothing for Galera's certification to refuse. The window is
-- read newest bucket first along the primary key (lib/campaign_health.h).
CREATE TABLE IF NOT EXISTS campaign_health (
    campaign_id       BIGINT UNSIGNED NOT NULL,
    bucket            DATETIME        NOT NULL,
    writer            VARCHAR(96)     CHARACTER SET ascii NOT NULL,
    attempts          INT UNSIGNED    NOT NULL DEFAULT 0,
    failures          INT UNSIGNED    NOT NULL DEFAULT 0,
    param_failures    INT UNSIGNED    NOT NULL DEFAULT 0,
    last_code         INT             NULL,
    PRIMARY KEY (campaign_id, bucket, writer)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Seed 003's rule, per account: a campaign pauses when its last autopause_window attempts
-- hold more than autopause_min_failures failures and more than autopause_pct % of them.
ALTER TABLE wa_accounts
    ADD COLUMN IF NOT EXISTS autopause_min_failures INT UNSIGNED NOT NULL DEFAULT 50,
    ADD COLUMN IF NOT EXISTS autopause_pct TINYINT UNSIGNED NOT NULL DEFAULT 50,
    ADD COLUMN IF NOT EXISTS autopause_window INT UNSIGNED NOT NULL DEFAULT 1000;

-- Template pacing: Meta answered held_for_quality_assessment for this template; the rest of
-- its audience waits until a status of pacing_wamid arrives or pacing_until passes.
ALTER TABLE templates
    ADD COLUMN IF NOT EXISTS pacing_wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NULL,
    ADD COLUMN IF NOT EXISTS pacing_until DATETIME(3) NULL;
