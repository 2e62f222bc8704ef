-- Running on a Galera cluster (issue #23; docs/operations.md, "A database cluster"). Galera
-- certifies only the rows a transaction writes, so every exclusivity the system relies on
-- is a written row:
-- - the business's lock row (pace_timelines 'w:<waba>') is updated by every claim (claims),
--   so two claims for one business on different nodes cannot both commit;
-- - a lease row per job that one process at a time may do (the webhook applier), with its
--   holder and expiry, instead of GET_LOCK (which is per node).
ALTER TABLE pace_timelines
    ADD COLUMN IF NOT EXISTS claims BIGINT UNSIGNED NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS leases (
    name              VARCHAR(64)     CHARACTER SET ascii NOT NULL PRIMARY KEY,
    holder            VARCHAR(128)    CHARACTER SET ascii NULL,
    expires_at        DATETIME(3)     NULL,
    taken_at          DATETIME(3)     NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
