-- Sign-in throttling counts failures per (e-mail, address) too (issue #17: delays for one
-- account from one address, a lock for everyone only far above that; docs/security.md).
ALTER TABLE login_failures
    ADD KEY IF NOT EXISTS ix_login_failures_pair (email, address, created_at),
    ALGORITHM = INPLACE, LOCK = NONE;
