-- Replies (issue 20): inbound_messages stays append-only; what operators do about a reply
-- lives beside it.
--
-- reply_handled: a reply marked handled (deleting the row marks it unhandled again).
CREATE TABLE IF NOT EXISTS reply_handled (
    inbound_id          BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    handled_by          VARCHAR(254)    NOT NULL,
    handled_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- reply_answers: the send log of free-form answers (one row per attempt). They are not
-- campaign sends: send_log rows count in a campaign's minutes and totals, these do not.
CREATE TABLE IF NOT EXISTS reply_answers (
    id                  BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    inbound_id          BIGINT UNSIGNED NOT NULL,
    account_id          BIGINT UNSIGNED NULL,
    phone               VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    body                VARCHAR(4096)   NOT NULL,
    outcome             ENUM('sent','failed','unknown') NOT NULL,
    http_status         SMALLINT        NULL,
    error_code          INT             NULL,
    error_text          VARCHAR(1024)   NULL,
    wamid               VARCHAR(160)    CHARACTER SET ascii COLLATE ascii_bin NULL,
    created_by          VARCHAR(254)    NOT NULL,
    created_at          DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_reply_answers_inbound (inbound_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: every free-form answer to a reply';

CREATE TRIGGER IF NOT EXISTS reply_answers_no_update BEFORE UPDATE ON reply_answers FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'reply_answers is append-only';
CREATE TRIGGER IF NOT EXISTS reply_answers_no_delete BEFORE DELETE ON reply_answers FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'reply_answers is append-only';

-- The Replies screen reads every inbound message newest first, and a person's last message
-- (the customer-service window) by account and phone.
ALTER TABLE inbound_messages
    ADD KEY IF NOT EXISTS ix_inbound_messages_account_phone (account_id, phone, sent_at);
