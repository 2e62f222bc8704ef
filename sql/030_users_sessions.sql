-- People who sign in, their sessions and failed sign-ins (docs/security.md).
--
-- Users are never deleted (the audit log and created_by name them): they are disabled.
-- Sessions keep only a hash of their token. login_failures is what throttling counts; it is
-- shared by every FastCGI process on every host through the database.

CREATE TABLE IF NOT EXISTS users (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email               VARCHAR(254)    NOT NULL,  -- lowercased sign-in name
    name                VARCHAR(200)    NOT NULL DEFAULT '',
    role                ENUM('viewer','admin','superadmin') NOT NULL,
    password_hash       VARCHAR(255)    CHARACTER SET ascii NOT NULL,  -- Argon2id, crypto_pwhash_str
    password_changed_at DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    disabled_at         DATETIME(3)     NULL,
    last_login_at       DATETIME(3)     NULL,
    created_by          VARCHAR(254)    NULL,
    created_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                        ON UPDATE CURRENT_TIMESTAMP(3),
    UNIQUE KEY uq_users_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS sessions (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    -- hex BLAKE2b of the 256-bit token in the cookie (lib/userauth.h); never the token
    token_hash          CHAR(64)        CHARACTER SET ascii NOT NULL,
    user_id             BIGINT UNSIGNED NOT NULL,
    created_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    last_seen_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    expires_at          DATETIME(3)     NOT NULL,  -- absolute expiry
    revoked_at          DATETIME(3)     NULL,
    revoke_reason       VARCHAR(32)     NULL,      -- logout, password_change, disabled, ...
    address             VARCHAR(64)     NULL,
    user_agent          VARCHAR(255)    NULL,
    UNIQUE KEY uq_sessions_token (token_hash),
    KEY ix_sessions_user (user_id, revoked_at),
    CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Failed sign-ins, counted per attempted e-mail (whether or not such a user exists, so the
-- throttle says nothing about existence) and per client address, within a sliding window.
CREATE TABLE IF NOT EXISTS login_failures (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email               VARCHAR(254)    NOT NULL,
    address             VARCHAR(64)     NOT NULL,
    created_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_login_failures_email (email, created_at),
    KEY ix_login_failures_address (address, created_at),
    KEY ix_login_failures_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The audit log is read newest first, by action too.
ALTER TABLE audit_log ADD KEY IF NOT EXISTS ix_audit_log_action (action, id);

-- Whoever acts is named by e-mail address now, which may be up to 254 characters.
ALTER TABLE audit_log MODIFY actor VARCHAR(254) NOT NULL;
ALTER TABLE campaigns MODIFY created_by VARCHAR(254) NULL;
ALTER TABLE opt_out_events MODIFY actor VARCHAR(254) NULL;
