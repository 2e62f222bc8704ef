-- Issue 18: WhatsApp's "user_changed_number" moves a person to a new number
-- (lib/person.c, person_change_number). What is keyed by the phone and may change moves with
-- them (opt-out copied, contact, recipients, user ids, preferences, pair-rate times); the
-- append-only logs (send_log, inbound_messages, opt_out_events) keep the number of their time,
-- and this log ties the two numbers together.
CREATE TABLE IF NOT EXISTS person_number_changes (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    old_phone         VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    new_phone         VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    account_id        BIGINT UNSIGNED NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    KEY ix_person_number_changes_old (old_phone, id),
    KEY ix_person_number_changes_new (new_phone, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
  COMMENT='append-only: every number change of a person';

CREATE TRIGGER IF NOT EXISTS person_number_changes_no_update BEFORE UPDATE ON person_number_changes
    FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'person_number_changes is append-only';
CREATE TRIGGER IF NOT EXISTS person_number_changes_no_delete BEFORE DELETE ON person_number_changes
    FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'person_number_changes is append-only';
