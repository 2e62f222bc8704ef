-- A/B variants' counters (issue 21; lib/abvariant.h), kept like campaign_counts (sql/172): each
-- writer adds to its own slot row (db_writer_slot) in the same transaction as the recipients it
-- counts, and readers sum the slots, so the results by variant never count recipient rows.
-- assigned: rows given the variant at their first claim (0 = the holdout); sent, delivered,
-- read: the funnel, as the campaign's counters count it (lib/msgstatus.h).
CREATE TABLE IF NOT EXISTS campaign_variant_counts (
    campaign_id       BIGINT UNSIGNED  NOT NULL,
    variant           TINYINT UNSIGNED NOT NULL,
    slot              TINYINT UNSIGNED NOT NULL,
    assigned_count    INT              NOT NULL DEFAULT 0,
    sent_count        INT              NOT NULL DEFAULT 0,
    delivered_count   INT              NOT NULL DEFAULT 0,
    read_count        INT              NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, variant, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
