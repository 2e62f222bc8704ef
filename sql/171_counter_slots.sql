-- Hot counter rows split per writer (issue #23): every process adds to its own slot row
-- (db_writer_slot, 0..15) and readers sum the handful of slots, so writers connected to
-- different nodes of a Galera cluster do not conflict at certification on one shared row.
ALTER TABLE send_minutes
    ADD COLUMN IF NOT EXISTS slot TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER minute,
    DROP PRIMARY KEY, ADD PRIMARY KEY (campaign_id, minute, slot);

ALTER TABLE metric_counters
    ADD COLUMN IF NOT EXISTS slot TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER labels,
    DROP PRIMARY KEY, ADD PRIMARY KEY (name, labels, slot);
