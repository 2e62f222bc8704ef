-- Outbound events (issue #20): hooks, the durable outbox the worker delivers from, and the
-- delivery log (docs/api.md, Hooks). Event rows are written in the same transaction as the
-- change that causes them (lib/hooks.c), one row per subscribed hook.
CREATE TABLE IF NOT EXISTS hooks (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    url             VARCHAR(2048)   NOT NULL,
    events          SET('campaign.started', 'campaign.paused', 'campaign.resumed',
                        'campaign.completed', 'campaign.cancelled', 'recipient.status',
                        'optout.created', 'optout.lifted', 'reply.received') NOT NULL,
    -- libsodium secretbox (lib/secret.h), like the accounts' tokens; never shown
    secret_enc      VARBINARY(512)  NOT NULL,
    enabled         TINYINT(1)      NOT NULL DEFAULT 1,
    disabled_reason VARCHAR(512)    NULL,
    -- delivery state: the worker's (worker/hooks.c)
    failing_since   DATETIME(3)     NULL,
    fail_count      INT UNSIGNED    NOT NULL DEFAULT 0,
    retry_at        DATETIME(3)     NULL,
    last_error      VARCHAR(512)    NULL,
    last_ok_at      DATETIME(3)     NULL,
    last_status_post_at DATETIME(3) NULL,
    created_by      VARCHAR(190)    NULL,
    created_at      DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at      DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS hook_outbox (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    hook_id         BIGINT UNSIGNED NOT NULL,
    event           VARCHAR(32)     CHARACTER SET ascii NOT NULL,
    campaign_id     BIGINT UNSIGNED NULL,
    data            LONGTEXT        NOT NULL CHECK (JSON_VALID(data)),
    created_at      DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    delivered_at    DATETIME(3)     NULL,
    attempts        INT UNSIGNED    NOT NULL DEFAULT 0,
    KEY ix_hook_outbox_pending (hook_id, delivered_at, id),
    KEY ix_hook_outbox_delivered (delivered_at),
    CONSTRAINT fk_hook_outbox_hook FOREIGN KEY (hook_id) REFERENCES hooks (id) ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS hook_deliveries (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    hook_id         BIGINT UNSIGNED NOT NULL,
    at              DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    attempt         INT UNSIGNED    NOT NULL,
    events          INT UNSIGNED    NOT NULL,
    first_event_id  BIGINT UNSIGNED NOT NULL,
    last_event_id   BIGINT UNSIGNED NOT NULL,
    ok              TINYINT(1)      NOT NULL,
    http_status     INT             NULL,
    error           VARCHAR(512)    NULL,
    duration_ms     INT UNSIGNED    NOT NULL DEFAULT 0,
    KEY ix_hook_deliveries_hook (hook_id, id),
    KEY ix_hook_deliveries_at (at),
    CONSTRAINT fk_hook_deliveries_hook FOREIGN KEY (hook_id) REFERENCES hooks (id)
        ON DELETE CASCADE
) ENGINE=InnoDB;
