-- The messaging tier on a Galera cluster without a shared row in every claim (issue 23).
-- On one server every claim of a business counts the tier's users under the business's lock
-- row. On a cluster that row, written by every claim, made the claims of workers on different
-- nodes refuse each other at certification. There a worker takes a grant: a share of the
-- tier's room, taken under the lock row (lib/tier_grant.h), and spends it in claims that write
-- only its own grant row. Whatever the grants hold plus the users counted in contact_pace never
-- exceeds the tier: a grant is taken after reading the others' grants and then the count, and
-- a claim spends from its grant in the transaction that notes its users. A grant that has
-- expired or is taken back is written (deleted, emptied) by whoever takes its room, so a spend
-- from it at the same moment on another node conflicts with that write and one of them loses.
CREATE TABLE IF NOT EXISTS tier_grants (
    waba_id     VARCHAR(32)     CHARACTER SET ascii NOT NULL,
    worker_id   BIGINT UNSIGNED NOT NULL,
    room        INT             NOT NULL COMMENT 'new users this worker may still add',
    expires_at  DATETIME(3)     NOT NULL,
    PRIMARY KEY (waba_id, worker_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
