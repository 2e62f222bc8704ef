-- The send log's duplicate guard (uq_send_log_attempt, 020) was (recipient, attempt, outcome).
-- Attempt numbers repeat: recovery gives back an attempt that never left, and an operator's
-- retry starts a recipient's attempts again from 1, so a legitimate row of a later round
-- (say a second 'retry' for attempt 1) was silently dropped by INSERT IGNORE. The claim token
-- (random, one per claim) tells the rounds apart; recording the same claim's outcome again
-- (a retry after a commit whose answer was lost) still adds nothing.
-- Forward-safe: a nullable column at the end (instant), and the new key is wider than the
-- old one, so existing rows cannot violate it. Old rows keep NULL (never equal to anything).
ALTER TABLE send_log
    ADD COLUMN IF NOT EXISTS claim_token BIGINT NULL AFTER worker_id;
-- Two statements: in one, IF NOT EXISTS is judged before the DROP, so the key would be dropped
-- and never added again.
ALTER TABLE send_log DROP KEY IF EXISTS uq_send_log_attempt;
ALTER TABLE send_log
    ADD UNIQUE KEY IF NOT EXISTS uq_send_log_attempt (recipient_id, attempt, outcome, claim_token);
