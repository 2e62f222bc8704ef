-- One index instead of two on recipients (bench/worker, bench/import). Every status change of
-- a recipient rewrote its entries in ix_recipients_claim (campaign_id, status,
-- next_attempt_at, id) and in ix_recipients_status (status, campaign_id, phone): a message
-- changes status twice on its way (pending -> sending -> sent), so eight index writes of the
-- twelve or so it cost, and every imported row paid for both trees.
--
-- ix_recipients_queue (campaign_id, status, next_attempt_at, phone) serves both:
--   - the claim: campaign_id = ? AND status = 'pending' AND next_attempt_at <= NOW(3),
--     due order (next_attempt_at, phone);
--   - lists by status in phone order: next_attempt_at means something only while a recipient
--     is pending (when its next attempt is due), or for a failure that may be retried only
--     later (131049: not before 24 h). Every writer that takes a recipient out of pending
--     otherwise sets it back to its default, 2000-01-01, so within a status the entries are
--     in phone order (those with a time after, by time). Readers page on
--     (next_attempt_at, phone), so every row is listed once whatever its time;
--   - failures by code, the failed export, the oldest pending age in /api/health;
--   - the claims in flight (status = 'sending'), per campaign: recovery, lease renewal and
--     orphan release walk the campaigns table into this index (a handful of campaigns, a few
--     in-flight rows each).
--
-- Online on a live database: the rule is applied to existing rows first, then one ALTER adds
-- the new index in place without blocking writes and drops the two old ones.
UPDATE recipients SET next_attempt_at = '2000-01-01 00:00:00.000'
    WHERE status NOT IN ('pending', 'failed') AND next_attempt_at <> '2000-01-01 00:00:00.000';
ALTER TABLE recipients
    ADD KEY IF NOT EXISTS ix_recipients_queue (campaign_id, status, next_attempt_at, phone),
    DROP KEY IF EXISTS ix_recipients_claim,
    DROP KEY IF EXISTS ix_recipients_status,
    ALGORITHM = INPLACE, LOCK = NONE;
