-- A/B variants with a holdout (issue 21; lib/abvariant.h). A campaign may send 2-4 variants,
-- each its own template and parameter mapping, to shares of its audience, and keep a holdout
-- share that is never sent (recipients status 'holdout', final). No rows in
-- campaign_variants: the campaign's own template, as before.
CREATE TABLE IF NOT EXISTS campaign_variants (
    campaign_id       BIGINT UNSIGNED  NOT NULL,
    variant           TINYINT UNSIGNED NOT NULL COMMENT '1..4; 0 is the holdout',
    template_name     VARCHAR(512)     NOT NULL,
    template_language VARCHAR(16)      NOT NULL,
    param_map         LONGTEXT         NOT NULL CHECK (JSON_VALID(param_map)),
    share             TINYINT UNSIGNED NOT NULL COMMENT 'percent of the audience',
    PRIMARY KEY (campaign_id, variant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- holdout_pct: never sent; ab_key: the key of the assignment hash (NULL = the campaign's id; a
-- clone keeps its source's, so a person keeps their variant).
ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS holdout_pct TINYINT UNSIGNED NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS ab_key BIGINT UNSIGNED NULL,
    ADD COLUMN IF NOT EXISTS holdout_count INT NOT NULL DEFAULT 0;

ALTER TABLE campaign_counts
    ADD COLUMN IF NOT EXISTS holdout_count INT NOT NULL DEFAULT 0;

-- 'holdout' appended (an instant change); variant: which one the claim gave the row (0 the
-- holdout, NULL a campaign without variants).
ALTER TABLE recipients
    MODIFY status ENUM('pending','sending','sent','delivered','read','failed','blocked',
                       'cancelled','unknown','holdout') NOT NULL DEFAULT 'pending',
    ADD COLUMN IF NOT EXISTS variant TINYINT UNSIGNED NULL;

ALTER TABLE send_log
    ADD COLUMN IF NOT EXISTS variant TINYINT UNSIGNED NULL;

CREATE OR REPLACE SQL SECURITY INVOKER VIEW campaign_totals AS
SELECT c.id, c.total_count,
       CAST(c.pending_count + COALESCE(SUM(k.pending_count), 0) AS SIGNED) AS pending_count,
       CAST(c.sending_count + COALESCE(SUM(k.sending_count), 0) AS SIGNED) AS sending_count,
       CAST(c.sent_count + COALESCE(SUM(k.sent_count), 0) AS SIGNED) AS sent_count,
       CAST(c.delivered_count + COALESCE(SUM(k.delivered_count), 0) AS SIGNED) AS delivered_count,
       CAST(c.read_count + COALESCE(SUM(k.read_count), 0) AS SIGNED) AS read_count,
       CAST(c.failed_count + COALESCE(SUM(k.failed_count), 0) AS SIGNED) AS failed_count,
       CAST(c.blocked_count + COALESCE(SUM(k.blocked_count), 0) AS SIGNED) AS blocked_count,
       CAST(c.cancelled_count + COALESCE(SUM(k.cancelled_count), 0) AS SIGNED) AS cancelled_count,
       CAST(c.unknown_count + COALESCE(SUM(k.unknown_count), 0) AS SIGNED) AS unknown_count,
       CAST(c.holdout_count + COALESCE(SUM(k.holdout_count), 0) AS SIGNED) AS holdout_count
FROM campaigns c LEFT JOIN campaign_counts k ON k.campaign_id = c.id
GROUP BY c.id;
