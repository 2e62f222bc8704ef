-- Cost (issue 21): what Meta says each message costs (the pricing and conversation objects of
-- status webhooks), a rate card of our own, and the per-campaign report built from both.

-- The pricing of each status as it came (every status row, so a status that waits for its
-- wamid keeps its pricing until it is applied: lib/webhook_drain.c reads it back).
ALTER TABLE message_statuses
    ADD COLUMN IF NOT EXISTS pricing_model VARCHAR(16) NULL,
    ADD COLUMN IF NOT EXISTS pricing_category VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS pricing_billable TINYINT(1) NULL,
    ADD COLUMN IF NOT EXISTS pricing_type VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS conversation_id VARCHAR(128) NULL,
    ADD COLUMN IF NOT EXISTS conversation_origin VARCHAR(32) NULL,
    ADD COLUMN IF NOT EXISTS conversation_expires_at DATETIME NULL;

-- The latest pricing seen per message (the status with the latest event time, then the
-- furthest status: billable may flip between sent and delivered). country: ISO 3166 alpha-2
-- of the recipient's number (lib/costs.c; ZZ = any other country), fixed when first written.
CREATE TABLE IF NOT EXISTS message_pricing (
    recipient_id            BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    campaign_id             BIGINT UNSIGNED NOT NULL,
    wamid                   VARCHAR(160)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    country                 CHAR(2)         CHARACTER SET ascii NOT NULL,
    pricing_model           VARCHAR(16)     NULL,
    category                VARCHAR(32)     NULL,
    billable                TINYINT(1)      NULL,
    pricing_type            VARCHAR(32)     NULL,
    conversation_id         VARCHAR(128)    NULL,
    conversation_origin     VARCHAR(32)     NULL,
    conversation_expires_at DATETIME        NULL,
    status                  VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    status_at               DATETIME(3)     NOT NULL,
    status_rank             TINYINT         NOT NULL,
    updated_at              DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                            ON UPDATE CURRENT_TIMESTAMP(3),
    KEY ix_message_pricing_campaign (campaign_id, category, country),
    CONSTRAINT fk_message_pricing_recipient FOREIGN KEY (recipient_id) REFERENCES recipients (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Our own price per message, by country and category, from effective_from to effective_to
-- (both days included; NULL: still in force). Overlaps are allowed: the latest
-- effective_from wins, so a new price is one new row. Superadmins edit it (docs/api.md).
CREATE TABLE IF NOT EXISTS rate_card (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    country           CHAR(2)         CHARACTER SET ascii NOT NULL,
    category          ENUM('marketing','utility','authentication','service') NOT NULL,
    currency          CHAR(3)         CHARACTER SET ascii NOT NULL,
    price             DECIMAL(14,6)   NOT NULL,
    effective_from    DATE            NOT NULL,
    effective_to      DATE            NULL,
    created_by        VARCHAR(190)    NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_rate_card_lookup (country, category, effective_from)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
