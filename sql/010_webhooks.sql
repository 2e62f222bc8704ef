-- Webhooks applied completely: which accounts signed each stored event, every (wamid, status)
-- received (dedupe, per-status event times, statuses waiting for their send to be
-- recorded), inbound messages and replies, WhatsApp user preferences, configurable opt-out
-- keywords, and what Meta tells us about accounts and templates.

-- Ids of the accounts whose App Secret verified the body ("1,3"); NULL for rows stored
-- before this migration (verified by some account). apply_attempts counts failed applies:
-- past a few, only the sweep with include_failed (pregonctl webhooks-apply --all) tries again.
ALTER TABLE webhook_events
    ADD COLUMN IF NOT EXISTS verified_accounts VARCHAR(255) CHARACTER SET ascii NULL AFTER signature,
    ADD COLUMN IF NOT EXISTS apply_attempts SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER apply_error;

-- One row per (wamid, status) ever received: Meta retries for days, so duplicates are
-- normal and this key is where they stop. applied_at NULL = no recipient has that wamid yet
-- (the status came before the worker recorded the send): applied when it does.
CREATE TABLE IF NOT EXISTS message_statuses (
    wamid             VARCHAR(160)    CHARACTER SET ascii NOT NULL,
    status            ENUM('sent','delivered','read','failed','played') NOT NULL,
    event_at          DATETIME(3)     NOT NULL,
    account_id        BIGINT UNSIGNED NULL,
    recipient_id      BIGINT UNSIGNED NULL,
    callback          VARCHAR(512)    NULL,
    error_code        INT             NULL,
    error_text        VARCHAR(1024)   NULL,
    event_id          BIGINT UNSIGNED NULL,
    received_at       DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    applied_at        DATETIME(3)     NULL,
    PRIMARY KEY (wamid, status),
    KEY ix_message_statuses_pending (applied_at),
    KEY ix_message_statuses_recipient (recipient_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every inbound message (replies, button presses), deduplicated on Meta's id.
CREATE TABLE IF NOT EXISTS inbound_messages (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    wamid             VARCHAR(160)    CHARACTER SET ascii NOT NULL,
    account_id        BIGINT UNSIGNED NULL,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    type              VARCHAR(32)     NOT NULL,
    body              VARCHAR(4096)   NULL,
    payload           VARCHAR(1024)   NULL,
    context_wamid     VARCHAR(160)    CHARACTER SET ascii NULL,
    campaign_id       BIGINT UNSIGNED NULL,
    recipient_id      BIGINT UNSIGNED NULL,
    opt_out           TINYINT(1)      NOT NULL DEFAULT 0,
    sent_at           DATETIME(3)     NOT NULL,
    event_id          BIGINT UNSIGNED NULL,
    received_at       DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    UNIQUE KEY uq_inbound_messages_wamid (wamid),
    KEY ix_inbound_messages_campaign (campaign_id, id),
    KEY ix_inbound_messages_phone (phone, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: every inbound message';

CREATE TRIGGER IF NOT EXISTS inbound_messages_no_update BEFORE UPDATE ON inbound_messages FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'inbound_messages is append-only';
CREATE TRIGGER IF NOT EXISTS inbound_messages_no_delete BEFORE DELETE ON inbound_messages FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'inbound_messages is append-only';

-- The latest WhatsApp user preference per number and category: events arrive in any order,
-- so an older stop never overrides a newer resume.
CREATE TABLE IF NOT EXISTS user_preferences (
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    category          VARCHAR(64)     NOT NULL,
    value             VARCHAR(16)     NOT NULL,
    detail            VARCHAR(512)    NULL,
    event_at          DATETIME(3)     NOT NULL,
    account_id        BIGINT UNSIGNED NULL,
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (phone, category)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Inbound texts (and quick-reply payloads) that opt the sender out. Compared whole, after
-- folding case and accents and dropping punctuation (lib/optout.h); edit freely.
CREATE TABLE IF NOT EXISTS opt_out_keywords (
    keyword           VARCHAR(64)     NOT NULL PRIMARY KEY,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO opt_out_keywords (keyword) VALUES
    ('STOP'), ('BAJA'), ('NO MAS'), ('NO MÁS'), ('CANCELAR');

-- replies_count: inbound messages that answer one of the campaign's messages (context.id).
-- pause_kind says who paused a campaign (template, account, error, ...); resumable 0 means
-- Meta must lift the cause first (a template PAUSED/DISABLED until REINSTATED/APPROVED).
ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS replies_count INT NOT NULL DEFAULT 0 AFTER unknown_count,
    ADD COLUMN IF NOT EXISTS pause_kind VARCHAR(32) NULL AFTER pause_reason,
    ADD COLUMN IF NOT EXISTS resumable TINYINT(1) NOT NULL DEFAULT 1 AFTER pause_kind;

ALTER TABLE recipients
    ADD COLUMN IF NOT EXISTS replied_at DATETIME(3) NULL AFTER failed_at;

-- What Meta last said about the number and the business account.
ALTER TABLE wa_accounts
    ADD COLUMN IF NOT EXISTS quality_event VARCHAR(64) NULL AFTER quality_rating,
    ADD COLUMN IF NOT EXISTS quality_updated_at DATETIME(3) NULL AFTER quality_event,
    ADD COLUMN IF NOT EXISTS account_event VARCHAR(64) NULL AFTER quality_updated_at,
    ADD COLUMN IF NOT EXISTS restriction VARCHAR(1024) NULL AFTER account_event,
    ADD COLUMN IF NOT EXISTS account_updated_at DATETIME(3) NULL AFTER restriction;
