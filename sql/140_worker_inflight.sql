-- Issue 24: each worker sizes every number's requests in flight from its rate and the
-- latency it measures (lib/pace.h, pace_inflight_target). Its heartbeat thread keeps one row
-- per number it sends for here, about once a second, and /metrics shows them: the target,
-- what the rate and latency ask for, the most in flight since the last row, the latency,
-- and whether the worker's own bound (worker_inflight, worker_inflight_memory_mb) cost the
-- number slots lately (`capped`, with the bound). Rows of stopped workers are not shown.
CREATE TABLE IF NOT EXISTS worker_inflight (
    worker_id         BIGINT UNSIGNED NOT NULL,
    account_id        BIGINT UNSIGNED NOT NULL,
    inflight_target   INT UNSIGNED    NOT NULL,
    inflight_wanted   INT UNSIGNED    NOT NULL,
    inflight_peak     INT UNSIGNED    NOT NULL,
    latency_ms        DOUBLE          NOT NULL,
    bound             VARCHAR(16)     CHARACTER SET ascii NULL,
    capped            TINYINT UNSIGNED NOT NULL DEFAULT 0,
    capped_slots      BIGINT UNSIGNED NOT NULL DEFAULT 0,
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    PRIMARY KEY (worker_id, account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
