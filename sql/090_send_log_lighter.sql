-- The worker's recording (bench/worker): every send_log row paid for five B-trees and a
-- trigger statement. Now:
--   send_log_minutes (trigger): ran one INSERT ... ON DUPLICATE KEY UPDATE into send_minutes per
--       row. The writers of send_log (all in the worker) add their rows to send_minutes
--       themselves, one statement per campaign and outcome, in the same transaction
--       (counters_add_minute, lib/counters.c). Upgrade every worker together with this
--       migration: an older worker's rows would no longer reach the per-minute figures.
--   ix_send_log_recipient (recipient_id): uq_send_log_attempt (recipient_id, attempt, outcome,
--       claim_token) starts with the same column and serves the same lookups.
--   ix_send_log_created (created_at): was for the messaging-tier count, which reads
--       contact_pace since 020; nothing filters the log by time alone.
DROP TRIGGER IF EXISTS send_log_minutes;
ALTER TABLE send_log
    DROP KEY IF EXISTS ix_send_log_recipient,
    DROP KEY IF EXISTS ix_send_log_created,
    ALGORITHM = INPLACE, LOCK = NONE;
