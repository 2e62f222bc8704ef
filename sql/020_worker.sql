-- The sending worker (issue 4): exact crash recovery, the shared pace budget, the pair rate,
-- the messaging tier, daily caps, progressive start and why a campaign waits.

-- Meta's wamids are base64: 'wamid.A' and 'wamid.a' are different messages. The ascii
-- default collation is case-insensitive, so the unique key would take them for one.
ALTER TABLE recipients MODIFY wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE send_log MODIFY wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NULL;
-- The same for the webhook tables of 010 (their keys would drop statuses of wamids that
-- differ only in case as duplicates); IF EXISTS keeps this migration independent of 010.
ALTER TABLE IF EXISTS message_statuses
    MODIFY wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
ALTER TABLE IF EXISTS inbound_messages
    MODIFY wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    MODIFY context_wamid VARCHAR(160) CHARACTER SET ascii COLLATE ascii_bin NULL;

-- One row per recipient, attempt and outcome: recording again after a commit whose answer
-- was lost (the database went away at that moment) adds nothing (INSERT IGNORE).
ALTER TABLE send_log ADD UNIQUE KEY IF NOT EXISTS uq_send_log_attempt (recipient_id, attempt, outcome);

-- armed_at: set (in a committed transaction) right before the request may leave. After a
-- crash, a claim that was never armed surely never reached Meta and goes back to pending; an
-- armed one may have, and becomes unknown. ix_recipients_claimed finds a worker's claims
-- (lease renewal, recovery after its heartbeat stopped).
ALTER TABLE recipients
    ADD COLUMN IF NOT EXISTS armed_at DATETIME(3) NULL AFTER lease_until,
    ADD KEY IF NOT EXISTS ix_recipients_claimed (claimed_by, status);

-- wait_reason: why a running (or scheduled) campaign is not sending right now (send window,
-- daily cap, messaging tier, ...); NULL when it sends. Kept by the worker, shown by the API.
-- ramp_step: progressive start, the step the campaign reached (0 = first).
-- scheduled_at also comes with 003; IF NOT EXISTS keeps this migration independent of it.
ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS wait_reason VARCHAR(255) NULL AFTER pause_reason,
    ADD COLUMN IF NOT EXISTS ramp_step SMALLINT UNSIGNED NOT NULL DEFAULT 0 AFTER batch_size,
    ADD COLUMN IF NOT EXISTS scheduled_at DATETIME(3) NULL;

-- The send-rate budget shared by every worker: one timeline per phone number ("a:<account>")
-- and per paced campaign ("c:<campaign>"). A worker reserves a chunk of consecutive slots
-- (next_slot_us advances by n * interval) and sends each message at its slot, so the rate
-- holds across workers and the row is touched a few times a second, not per message.
CREATE TABLE IF NOT EXISTS pace_timelines (
    pace_key          VARCHAR(40)     CHARACTER SET ascii NOT NULL PRIMARY KEY,
    next_slot_us      BIGINT          NOT NULL DEFAULT 0,
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The last message to each user per business account: the pair rate (no two messages to one
-- number within a few seconds, across campaigns) and the messaging tier (unique users reached
-- in a moving 24 h) read it.
CREATE TABLE IF NOT EXISTS contact_pace (
    waba_id           VARCHAR(32)     CHARACTER SET ascii NOT NULL,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    last_send_at      DATETIME(3)     NOT NULL,
    PRIMARY KEY (waba_id, phone),
    KEY ix_contact_pace_time (waba_id, last_send_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Messages a campaign claimed per day of its account's timezone (the daily cap).
CREATE TABLE IF NOT EXISTS campaign_days (
    campaign_id       BIGINT UNSIGNED NOT NULL,
    day               DATE            NOT NULL,
    used              INT UNSIGNED    NOT NULL DEFAULT 0,
    PRIMARY KEY (campaign_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The sandbox stands for a verified business: no messaging tier unless a test lowers it.
CREATE TRIGGER IF NOT EXISTS wa_accounts_sandbox_tier BEFORE INSERT ON wa_accounts FOR EACH ROW
    SET NEW.messaging_tier = IF(NEW.is_sandbox = 1, 'TIER_UNLIMITED', NEW.messaging_tier);
UPDATE wa_accounts SET messaging_tier = 'TIER_UNLIMITED' WHERE is_sandbox = 1;
