-- API keys (issue 20): a CRM or a script authenticates with `Authorization: Bearer <key>`.
--
-- Only a hash of the key is kept (hex BLAKE2b of its 32 random bytes, lib/apikey.h); prefix
-- is the key's first characters, shown in the panel and used to find the row (the hash is
-- then compared in constant time). A key never acts above its role, nor above its creator's
-- current role, and stops with its creator (disabled) or when revoked. rate_window and
-- rate_count are the per-key fixed-window rate limit (api_key_rate_per_minute), shared by
-- every FastCGI process through this row.
CREATE TABLE IF NOT EXISTS api_keys (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    prefix              CHAR(12)        CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash            CHAR(64)        CHARACTER SET ascii NOT NULL,
    name                VARCHAR(200)    NOT NULL,
    role                ENUM('viewer','admin','superadmin') NOT NULL,
    created_by          VARCHAR(254)    NOT NULL,
    created_by_user_id  BIGINT UNSIGNED NULL,  -- NULL under auth_mode none
    created_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    last_used_at        DATETIME(3)     NULL,
    revoked_at          DATETIME(3)     NULL,
    revoked_by          VARCHAR(254)    NULL,
    rate_window         BIGINT          NOT NULL DEFAULT 0,  -- UNIX minute of rate_count
    rate_count          INT UNSIGNED    NOT NULL DEFAULT 0,
    UNIQUE KEY uq_api_keys_prefix (prefix),
    KEY ix_api_keys_user (created_by_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
