-- Issue 15: a send whose answer may follow acceptance (a reset, a timeout, a gateway's 5xx
-- page) is in doubt: the recipient is `unknown` and never resent at once; a status webhook
-- settles it. An account may choose to resend such a recipient once, when nothing settled
-- it within this many seconds (0 = never: it stays unknown until an operator retries it).
-- The resend is a send_log row `retry` saying so (docs/worker.md, "Reconciliation").
ALTER TABLE wa_accounts
    ADD COLUMN IF NOT EXISTS in_doubt_resend_after_s INT UNSIGNED NOT NULL DEFAULT 0
        COMMENT 'resend an in-doubt (unknown) recipient once after this many seconds; 0 = never';
