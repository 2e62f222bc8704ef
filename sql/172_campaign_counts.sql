-- A campaign's status counters split per writer (issue #23). The recorders, the claimers and
-- the webhook appliers add their deltas to their own slot row (db_writer_slot, 0..15), so two
-- of them connected to different nodes of a Galera cluster never write one shared row and
-- never conflict at certification. campaigns.*_count stay as the base that the API writes
-- (imports, clones, resets; drafts, which no worker touches). campaign_totals is the one
-- place that adds them up: every reader of a count reads it there.
CREATE TABLE IF NOT EXISTS campaign_counts (
    campaign_id       BIGINT UNSIGNED  NOT NULL,
    slot              TINYINT UNSIGNED NOT NULL,
    pending_count     INT              NOT NULL DEFAULT 0,
    sending_count     INT              NOT NULL DEFAULT 0,
    sent_count        INT              NOT NULL DEFAULT 0,
    delivered_count   INT              NOT NULL DEFAULT 0,
    read_count        INT              NOT NULL DEFAULT 0,
    failed_count      INT              NOT NULL DEFAULT 0,
    blocked_count     INT              NOT NULL DEFAULT 0,
    cancelled_count   INT              NOT NULL DEFAULT 0,
    unknown_count     INT              NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, slot)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

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
       CAST(c.unknown_count + COALESCE(SUM(k.unknown_count), 0) AS SIGNED) AS unknown_count
FROM campaigns c LEFT JOIN campaign_counts k ON k.campaign_id = c.id
GROUP BY c.id;
