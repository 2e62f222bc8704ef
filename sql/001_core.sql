-- Pregón core schema: WhatsApp accounts, campaigns, recipients, the append-only send log,
-- durable webhook events and worker registrations.
--
-- Conventions: times are DATETIME(3) in UTC (every session runs with time_zone '+00:00');
-- tables whose comment starts with 'append-only' get only SELECT and INSERT for the
-- application user (scripts/migrate.sh grants by that comment) and triggers that refuse
-- UPDATE and DELETE for everybody.

CREATE TABLE IF NOT EXISTS wa_accounts (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name              VARCHAR(120)    NOT NULL,
    waba_id           VARCHAR(32)     NOT NULL,
    phone_number_id   VARCHAR(32)     NOT NULL,
    display_phone     VARCHAR(32)     NOT NULL DEFAULT '',
    graph_version     VARCHAR(16)     NOT NULL DEFAULT 'v25.0',
    -- NULL: the configured graph_base_url (the sandbox until a real account is set up)
    graph_base_url    VARCHAR(255)    NULL,
    access_token_enc  VARBINARY(2048) NULL,
    app_secret_enc    VARBINARY(512)  NULL,
    verify_token      VARCHAR(128)    NOT NULL DEFAULT '',
    is_sandbox        TINYINT(1)      NOT NULL DEFAULT 0,
    default_country   CHAR(2)         NOT NULL DEFAULT 'AR',
    timezone          VARCHAR(64)     NOT NULL DEFAULT 'America/Argentina/Buenos_Aires',
    throughput_mps    INT UNSIGNED    NOT NULL DEFAULT 80,
    messaging_tier    VARCHAR(16)     NOT NULL DEFAULT 'TIER_250',
    quality_rating    VARCHAR(16)     NOT NULL DEFAULT 'UNKNOWN',
    campaigns_enabled TINYINT(1)      NOT NULL DEFAULT 1,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    UNIQUE KEY uq_wa_accounts_phone (phone_number_id),
    KEY ix_wa_accounts_waba (waba_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS campaigns (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account_id        BIGINT UNSIGNED NOT NULL,
    name              VARCHAR(200)    NOT NULL,
    template_name     VARCHAR(512)    NOT NULL,
    template_language VARCHAR(16)     NOT NULL,
    -- [{"value": "fixed"} | {"column": "name", "fallback": "..."}], one per body parameter
    body_params       LONGTEXT        NOT NULL DEFAULT '[]' CHECK (JSON_VALID(body_params)),
    status            ENUM('draft','scheduled','running','paused','completed','cancelled','failed')
                                      NOT NULL DEFAULT 'draft',
    pause_reason      VARCHAR(1200)   NULL,
    batch_size        INT UNSIGNED    NOT NULL DEFAULT 200,
    created_by        VARCHAR(120)    NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    started_at        DATETIME(3)     NULL,
    completed_at      DATETIME(3)     NULL,
    -- Counters, kept in the same transaction as every change of a recipient's status, so the
    -- API never counts rows. sent/delivered/read count recipients that ever reached that
    -- stage (a read message was also delivered and sent); the others count current states.
    total_count       INT             NOT NULL DEFAULT 0,
    pending_count     INT             NOT NULL DEFAULT 0,
    sending_count     INT             NOT NULL DEFAULT 0,
    sent_count        INT             NOT NULL DEFAULT 0,
    delivered_count   INT             NOT NULL DEFAULT 0,
    read_count        INT             NOT NULL DEFAULT 0,
    failed_count      INT             NOT NULL DEFAULT 0,
    blocked_count     INT             NOT NULL DEFAULT 0,
    cancelled_count   INT             NOT NULL DEFAULT 0,
    unknown_count     INT             NOT NULL DEFAULT 0,
    KEY ix_campaigns_status (status, id),
    KEY ix_campaigns_account (account_id, status),
    CONSTRAINT fk_campaigns_account FOREIGN KEY (account_id) REFERENCES wa_accounts (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS recipients (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    campaign_id       BIGINT UNSIGNED NOT NULL,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    contact_id        BIGINT UNSIGNED NULL,
    -- the CSV columns of this recipient, {"name": "Ana", ...}
    vars              LONGTEXT        NULL CHECK (vars IS NULL OR JSON_VALID(vars)),
    status            ENUM('pending','sending','sent','delivered','read','failed','blocked',
                           'cancelled','unknown') NOT NULL DEFAULT 'pending',
    attempts          SMALLINT UNSIGNED NOT NULL DEFAULT 0,
    next_attempt_at   DATETIME(3)     NOT NULL DEFAULT '2000-01-01 00:00:00.000',
    -- lease of the worker that claimed it; results are recorded only under the same token
    claim_token       BIGINT UNSIGNED NULL,
    claimed_by        BIGINT UNSIGNED NULL,
    lease_until       DATETIME(3)     NULL,
    wamid             VARCHAR(160)    CHARACTER SET ascii NULL,
    last_error_code   INT             NULL,
    last_error_text   VARCHAR(1024)   NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    sent_at           DATETIME(3)     NULL,
    delivered_at      DATETIME(3)     NULL,
    read_at           DATETIME(3)     NULL,
    failed_at         DATETIME(3)     NULL,
    UNIQUE KEY uq_recipients_phone (campaign_id, phone),
    UNIQUE KEY uq_recipients_wamid (wamid),
    -- covers the claim: campaign_id = ? AND status = 'pending' AND next_attempt_at <= ?
    -- ORDER BY next_attempt_at, id
    KEY ix_recipients_claim (campaign_id, status, next_attempt_at, id),
    -- finds expired leases of dead workers
    KEY ix_recipients_lease (status, lease_until),
    CONSTRAINT fk_recipients_campaign FOREIGN KEY (campaign_id) REFERENCES campaigns (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS send_log (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    campaign_id       BIGINT UNSIGNED NOT NULL,
    recipient_id      BIGINT UNSIGNED NOT NULL,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    lead_id           BIGINT UNSIGNED NULL,
    template_name     VARCHAR(512)    NOT NULL,
    template_language VARCHAR(16)     NOT NULL,
    attempt           SMALLINT UNSIGNED NOT NULL,
    -- enviado / fallido / bloqueado of the seed, plus the states a real sender needs
    outcome           ENUM('sent','failed','blocked','retry','unknown') NOT NULL,
    http_status       SMALLINT        NULL,
    error_code        INT             NULL,
    error_text        VARCHAR(1024)   NULL,
    wamid             VARCHAR(160)    CHARACTER SET ascii NULL,
    worker_id         BIGINT UNSIGNED NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_send_log_campaign (campaign_id, id),
    KEY ix_send_log_recipient (recipient_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: one row per attempt outcome';

CREATE TRIGGER IF NOT EXISTS send_log_no_update BEFORE UPDATE ON send_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'send_log is append-only';
CREATE TRIGGER IF NOT EXISTS send_log_no_delete BEFORE DELETE ON send_log FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'send_log is append-only';

-- Every verified webhook body, stored before we answer Meta, applied afterwards.
CREATE TABLE IF NOT EXISTS webhook_events (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    received_at       DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    signature         VARCHAR(80)     CHARACTER SET ascii NOT NULL,
    body              LONGBLOB        NOT NULL,
    applied_at        DATETIME(3)     NULL,
    apply_error       VARCHAR(1024)   NULL,
    KEY ix_webhook_events_pending (applied_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS workers (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    host              VARCHAR(255)    NOT NULL,
    pid               INT UNSIGNED    NOT NULL,
    started_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    heartbeat_at      DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    stopped_at        DATETIME(3)     NULL,
    KEY ix_workers_heartbeat (stopped_at, heartbeat_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
