-- Issue 18: opt-outs, inbound messages, failed statuses, template, quality and account events
-- are applied ahead of plain statuses (lib/webhook_apply.h, WEBHOOK_PRIORITY_*): a STOP that
-- arrives behind thousands of queued statuses is applied with the applier's next batch.
-- priority is set when the event is stored, from what its payload holds; rows stored before
-- this migration are plain (0), as they were.
ALTER TABLE webhook_events
    ADD COLUMN IF NOT EXISTS priority TINYINT UNSIGNED NOT NULL DEFAULT 0 AFTER verified_accounts;

-- The applier's pick (lib/webhook_store.c, wh_claim_events): WHERE applied_at IS NULL ...
-- ORDER BY priority DESC, id LIMIT n FOR UPDATE SKIP LOCKED, read in index order (no
-- filesort, the first n rows locked; "ORDER BY applied_at, ..." would sort: MariaDB does not
-- take IS NULL for a constant there). It also serves the "anything left?" look and the
-- backlog counts, so the old (applied_at, id) key goes: one index less to write per event.
ALTER TABLE webhook_events
    ADD KEY IF NOT EXISTS ix_webhook_events_pick (applied_at, priority DESC, id);
ALTER TABLE webhook_events DROP KEY IF EXISTS ix_webhook_events_pending;
