-- Contacts (leads), their tags, the opt-out list, the templates cache and the audit log.

CREATE TABLE IF NOT EXISTS contacts (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    name              VARCHAR(200)    NOT NULL DEFAULT '',
    lead_id           VARCHAR(64)     NULL,
    -- free attributes, {"curso": "Robótica", ...}
    attributes        LONGTEXT        NOT NULL DEFAULT '{}' CHECK (JSON_VALID(attributes)),
    consent_at        DATETIME(3)     NULL,
    consent_source    VARCHAR(120)    NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    UNIQUE KEY uq_contacts_phone (phone),
    KEY ix_contacts_lead (lead_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS contact_tags (
    contact_id        BIGINT UNSIGNED NOT NULL,
    tag               VARCHAR(64)     NOT NULL,
    PRIMARY KEY (contact_id, tag),
    KEY ix_contact_tags_tag (tag, contact_id),
    CONSTRAINT fk_contact_tags_contact FOREIGN KEY (contact_id) REFERENCES contacts (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The opt-out list is keyed by number, not by contact, so it survives contact deletion and
-- covers numbers that never were contacts. Every pending recipient is checked against it
-- before sending.
CREATE TABLE IF NOT EXISTS opt_outs (
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL PRIMARY KEY,
    source            VARCHAR(32)     NOT NULL, -- keyword, button, user_preferences, error_131050, api, import
    detail            VARCHAR(512)    NULL,
    campaign_id       BIGINT UNSIGNED NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every opt-out and every lifting of one, kept for good.
CREATE TABLE IF NOT EXISTS opt_out_events (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    action            ENUM('opt_out','lift') NOT NULL,
    source            VARCHAR(32)     NOT NULL,
    detail            VARCHAR(512)    NULL,
    campaign_id       BIGINT UNSIGNED NULL,
    actor             VARCHAR(120)    NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_opt_out_events_phone (phone, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: every opt-out and lift';

CREATE TRIGGER IF NOT EXISTS opt_out_events_no_update BEFORE UPDATE ON opt_out_events FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'opt_out_events is append-only';
CREATE TRIGGER IF NOT EXISTS opt_out_events_no_delete BEFORE DELETE ON opt_out_events FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'opt_out_events is append-only';

CREATE TABLE IF NOT EXISTS templates (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id        BIGINT UNSIGNED NOT NULL,
    meta_id           VARCHAR(32)     CHARACTER SET ascii NOT NULL,
    name              VARCHAR(512)    NOT NULL,
    language          VARCHAR(16)     NOT NULL,
    category          VARCHAR(32)     NOT NULL DEFAULT '',
    status            VARCHAR(32)     NOT NULL DEFAULT '',
    parameter_format  ENUM('POSITIONAL','NAMED') NOT NULL DEFAULT 'POSITIONAL',
    components        LONGTEXT        NOT NULL DEFAULT '[]' CHECK (JSON_VALID(components)),
    -- the values the template needs when sent, as lib/cloudapi.h lists them
    params            LONGTEXT        NOT NULL DEFAULT '[]' CHECK (JSON_VALID(params)),
    status_reason     VARCHAR(512)    NULL,
    synced_at         DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    -- set when a sync no longer finds it at Meta
    missing_since     DATETIME(3)     NULL,
    UNIQUE KEY uq_templates_name (account_id, name, language),
    KEY ix_templates_status (account_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS audit_log (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    actor             VARCHAR(120)    NOT NULL,
    address           VARCHAR(64)     NULL,
    action            VARCHAR(64)     NOT NULL,
    target_type       VARCHAR(32)     NULL,
    target_id         BIGINT UNSIGNED NULL,
    campaign_id       BIGINT UNSIGNED NULL,
    detail            LONGTEXT        NULL CHECK (detail IS NULL OR JSON_VALID(detail)),
    KEY ix_audit_log_campaign (campaign_id, id),
    KEY ix_audit_log_actor (actor, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: who did what, when, from where';

CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit_log is append-only';
