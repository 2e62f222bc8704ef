-- Audience imports (issue 3, bench/import): every secondary index of recipients costs about a
-- microsecond of server time per inserted row (a million-row upload wrote seven B-trees). Three
-- indexes become one, with no query left without an index:
--   ix_recipients_lease   (status, lease_until): the recovery of stopped workers' claims
--                         (worker/claim.c recover) filters on status = 'sending' only;
--   ix_recipients_claimed (claimed_by, status):  lease renewal and orphan release read
--                         claimed_by = ? AND status = 'sending', a handful of in-flight rows;
--   ix_recipients_status_phone (campaign_id, status, phone): the recipients list with a
--                         status filter in phone order, the failed export and failures by code.
-- ix_recipients_status (status, campaign_id, phone) serves all of them: 'sending' is a short
-- range (the claims in flight), and (status, campaign_id) equality gives phone order. The claim
-- (ix_recipients_claim), one row per phone (uq_recipients_phone) and webhook lookups by wamid
-- (uq_recipients_wamid) keep their indexes.
--
-- Online on a live database: one ALTER (the new index is built in place without blocking
-- writes, then the old ones go), so no query is ever left without its index.
ALTER TABLE recipients
    ADD KEY IF NOT EXISTS ix_recipients_status (status, campaign_id, phone),
    DROP KEY IF EXISTS ix_recipients_lease,
    DROP KEY IF EXISTS ix_recipients_claimed,
    DROP KEY IF EXISTS ix_recipients_status_phone,
    ALGORITHM = INPLACE, LOCK = NONE;
