-- Counters for /metrics. Every process adds what it counted since its last flush with one
-- multi-row upsert, so the values are totals across all processes and hosts.
CREATE TABLE IF NOT EXISTS metric_counters (
    name              VARCHAR(64)     CHARACTER SET ascii NOT NULL,
    labels            VARCHAR(255)    NOT NULL DEFAULT '',
    value             DOUBLE          NOT NULL DEFAULT 0,
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    PRIMARY KEY (name, labels)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
