-- The complete campaign API (issue 3): scheduling, pacing settings, the full template
-- parameter mapping, audience imports kept for audit, per-minute send figures, and the
-- indexes the progress endpoints read through.

-- scheduled_at: when a campaign in status 'scheduled' becomes 'running' (UTC). The worker
-- flips it: UPDATE campaigns SET status = 'running', started_at = COALESCE(started_at, NOW(3))
-- WHERE status = 'scheduled' AND scheduled_at <= NOW(3).
-- param_map: {"header": [...] | {...}, "body": [...] | {...}, "buttons": {"0": ...}}, each
-- item {"value": "..."} or {"column": "...", "fallback": "..."} (docs/api.md, lib/parammap.h);
-- body_params keeps the body part for senders that only know body parameters.
-- interval_ms: least time between two messages of this campaign (0 = the account's rate).
-- daily_cap: most messages this campaign sends per day in the account's timezone (NULL = none).
-- send_window_start/end: hours 0-23 of the account's timezone in which sending may happen
-- (start inclusive, end exclusive; start > end wraps midnight; NULL = any time).
ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS scheduled_at      DATETIME(3)  NULL AFTER completed_at,
    ADD COLUMN IF NOT EXISTS param_map         LONGTEXT     NOT NULL DEFAULT '{}' CHECK (JSON_VALID(param_map))
                                 AFTER body_params,
    ADD COLUMN IF NOT EXISTS interval_ms       INT UNSIGNED NOT NULL DEFAULT 0 AFTER batch_size,
    ADD COLUMN IF NOT EXISTS daily_cap         INT UNSIGNED NULL AFTER interval_ms,
    ADD COLUMN IF NOT EXISTS send_window_start TINYINT UNSIGNED NULL AFTER daily_cap,
    ADD COLUMN IF NOT EXISTS send_window_end   TINYINT UNSIGNED NULL AFTER send_window_start,
    ADD COLUMN IF NOT EXISTS cloned_from       BIGINT UNSIGNED NULL AFTER created_by,
    ADD COLUMN IF NOT EXISTS cancelled_at      DATETIME(3)  NULL AFTER completed_at,
    ADD KEY IF NOT EXISTS ix_campaigns_scheduled (status, scheduled_at),
    ADD KEY IF NOT EXISTS ix_campaigns_account_id (account_id, id);

-- Recipients by status in phone order: status filter, phone search and cursor pagination of
-- GET /api/campaigns/{id}/recipients, failures by code, the failed-recipients export.
ALTER TABLE recipients
    ADD KEY IF NOT EXISTS ix_recipients_status_phone (campaign_id, status, phone);

-- Every audience import of a campaign (CSV upload, contacts by tags, pasted list): what was
-- asked and what came of it, so the audience definition stays on record and preflight can
-- report rejected rows by reason.
CREATE TABLE IF NOT EXISTS audience_imports (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    campaign_id       BIGINT UNSIGNED NOT NULL,
    kind              ENUM('csv','contacts','list','clone') NOT NULL,
    definition        LONGTEXT        NOT NULL DEFAULT '{}' CHECK (JSON_VALID(definition)),
    rows_read         INT UNSIGNED    NOT NULL DEFAULT 0,
    accepted          INT UNSIGNED    NOT NULL DEFAULT 0,
    rejected          INT UNSIGNED    NOT NULL DEFAULT 0,
    rejected_by_reason LONGTEXT       NOT NULL DEFAULT '{}' CHECK (JSON_VALID(rejected_by_reason)),
    actor             VARCHAR(120)    NOT NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_audience_imports_campaign (campaign_id, id),
    CONSTRAINT fk_audience_imports_campaign FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Send outcomes per campaign and minute, kept by a trigger on send_log, so rates, ETAs and
-- "messages per minute" never scan the log.
CREATE TABLE IF NOT EXISTS send_minutes (
    campaign_id       BIGINT UNSIGNED NOT NULL,
    minute            DATETIME        NOT NULL,
    sent              INT UNSIGNED    NOT NULL DEFAULT 0,
    failed            INT UNSIGNED    NOT NULL DEFAULT 0,
    blocked           INT UNSIGNED    NOT NULL DEFAULT 0,
    retried           INT UNSIGNED    NOT NULL DEFAULT 0,
    unknown           INT UNSIGNED    NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, minute)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TRIGGER IF NOT EXISTS send_log_minutes AFTER INSERT ON send_log FOR EACH ROW
    INSERT INTO send_minutes (campaign_id, minute, sent, failed, blocked, retried, unknown)
    VALUES (NEW.campaign_id, DATE_FORMAT(NEW.created_at, '%Y-%m-%d %H:%i:00'),
            NEW.outcome = 'sent', NEW.outcome = 'failed', NEW.outcome = 'blocked',
            NEW.outcome = 'retry', NEW.outcome = 'unknown')
    ON DUPLICATE KEY UPDATE sent = sent + (NEW.outcome = 'sent'),
        failed = failed + (NEW.outcome = 'failed'), blocked = blocked + (NEW.outcome = 'blocked'),
        retried = retried + (NEW.outcome = 'retry'), unknown = unknown + (NEW.outcome = 'unknown');

-- Unique users reached in the last 24 h (the messaging tier budget) read the log by time.
ALTER TABLE send_log ADD KEY IF NOT EXISTS ix_send_log_created (created_at);

-- Contacts by name for search, and templates seen missing.
ALTER TABLE contacts ADD KEY IF NOT EXISTS ix_contacts_name (name);
