-- Issue 16, the person side: one canonical identity (the E.164 form lib/e164 gives imports)
-- for every table keyed by a person's phone; business-scoped user ids beside the phone;
-- opt-outs an operator recorded that only an operator lifts; opt-out keywords and phrases.
--
-- Safe to run again (tests/integration/test_identity.py does): every step either checks what
-- exists or works on the rows that are still not canonical.

-- ---- schema --------------------------------------------------------------------------------

-- operator_lock: an operator (API, import) recorded this opt-out, or confirmed one that came
-- from WhatsApp. A WhatsApp "resume" (user_preferences, a resume keyword) then lifts nothing;
-- only an operator does (lib/person.c, person_lift).
ALTER TABLE opt_outs ADD COLUMN IF NOT EXISTS operator_lock TINYINT(1) NOT NULL DEFAULT 0 AFTER campaign_id;
UPDATE opt_outs SET operator_lock = 1 WHERE source IN ('api', 'import') AND operator_lock = 0;
-- The API also let operators record sources 'keyword' and 'button': the latest opt-out event
-- of such a number names a user, not the webhook or the worker.
UPDATE opt_outs o SET operator_lock = 1 WHERE operator_lock = 0 AND EXISTS
    (SELECT 1 FROM opt_out_events e WHERE e.id =
        (SELECT MAX(l.id) FROM opt_out_events l WHERE l.phone = o.phone AND l.action = 'opt_out')
     AND e.actor IS NOT NULL AND e.actor NOT IN ('webhook', 'worker'));

-- lock: an operator confirmed an opt-out that came from WhatsApp; lift_refused: WhatsApp asked
-- to lift one an operator holds (nothing changed).
ALTER TABLE opt_out_events MODIFY action ENUM('opt_out','lift','lock','lift_refused') NOT NULL;

-- kind: 'keyword' is compared with the whole message, 'phrase' is looked for inside it (at word
-- boundaries); action: 'stop' opts out, 'resume' lifts an opt-out that came from WhatsApp.
-- Both sides are folded first (case, accents, punctuation: lib/optout.h).
ALTER TABLE opt_out_keywords
    ADD COLUMN IF NOT EXISTS kind ENUM('keyword','phrase') NOT NULL DEFAULT 'keyword' AFTER keyword,
    ADD COLUMN IF NOT EXISTS action ENUM('stop','resume') NOT NULL DEFAULT 'stop' AFTER kind,
    ADD COLUMN IF NOT EXISTS created_by VARCHAR(254) NULL AFTER action;

-- The seeds' words for "stop" (docs/api.md, "Opt-out words and phrases"): whole messages,
-- and the phrases people write inside longer answers ("no quiero recibir más"). Operators
-- edit them in the panel.
INSERT IGNORE INTO opt_out_keywords (keyword, kind, action) VALUES
    ('STOP', 'keyword', 'stop'), ('BAJA', 'keyword', 'stop'), ('ALTO', 'keyword', 'stop'),
    ('CANCELAR', 'keyword', 'stop'), ('NO', 'keyword', 'stop'), ('NO MAS', 'keyword', 'stop'),
    ('PARAR', 'keyword', 'stop'), ('DESUSCRIBIR', 'keyword', 'stop'),
    ('UNSUBSCRIBE', 'keyword', 'stop'),
    ('no quiero recibir', 'phrase', 'stop'), ('no me envien mas', 'phrase', 'stop'),
    ('no me manden mas', 'phrase', 'stop'), ('no me escriban mas', 'phrase', 'stop'),
    ('dejen de enviarme', 'phrase', 'stop'), ('dejen de escribirme', 'phrase', 'stop'),
    ('START', 'keyword', 'resume'), ('ALTA', 'keyword', 'resume');

-- Business-scoped user ids (and usernames) Meta sends instead of, or beside, a phone: the
-- person they belong to, learned from payloads that carry both (contacts[], a status of a
-- message we sent to a known phone, an inbound message with both).
CREATE TABLE IF NOT EXISTS person_user_ids (
    user_id           VARCHAR(128)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    phone             VARCHAR(16)     CHARACTER SET ascii NOT NULL,
    account_id        BIGINT UNSIGNED NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
    updated_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                      ON UPDATE CURRENT_TIMESTAMP(3),
    KEY ix_person_user_ids_phone (phone)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An opt-out that came with only a user id we cannot place yet: applied to the phone as soon
-- as the user id is linked to one (lib/person.c, person_link_user).
CREATE TABLE IF NOT EXISTS opt_outs_by_user_id (
    user_id           VARCHAR(128)    CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    source            VARCHAR(32)     NOT NULL,
    detail            VARCHAR(512)    NULL,
    campaign_id       BIGINT UNSIGNED NULL,
    created_at        DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An inbound message may carry only from_user_id: phone NULL until the person is known.
ALTER TABLE inbound_messages
    ADD COLUMN IF NOT EXISTS user_id VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL AFTER phone,
    MODIFY phone VARCHAR(16) CHARACTER SET ascii NULL,
    ADD KEY IF NOT EXISTS ix_inbound_messages_user (user_id, id);

-- ---- the canonical form of what is already stored --------------------------------------------

-- The forms the webhook used to store as they came, and their canonical (import) form; the
-- same answers as lib/identity.c (identity_from_wa), checked on tests/data/identity/wa_ids.tsv
-- by tests/integration/test_identity.py. Only these three differ for a '+' number:
--   Mexico    +52 1 + 10 digits  -> +52 + 10 digits (the old mobile 1)
--   Argentina +54 + 10 digits    -> +54 9 + 10 digits (the mobile 9 imports keep)
--   Brazil    +55 DDD 8 digits of a mobile (6-9...) -> +55 DDD 9 + 8 digits
-- The live rule is the C one.
-- The canonical form of every stored phone that changes (the C rule of lib/identity, for the
-- three forms WhatsApp's ids differ in), computed once into a map the steps below join: a
-- stored function would need SUPER under binary logging, which shared hosts do not give.
DROP TABLE IF EXISTS m110_map;
CREATE TABLE m110_map (
    phone VARCHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY,
    canon VARCHAR(32) CHARACTER SET ascii NOT NULL
) ENGINE=InnoDB;
INSERT IGNORE INTO m110_map (phone, canon)
    SELECT p, (CASE
                WHEN p REGEXP '^[+]521[2-9][0-9]{9}$' THEN CONCAT('+52', SUBSTRING(p, 5))
                WHEN p REGEXP '^[+]54(11|[23][0-9])[0-9]{8}$' THEN CONCAT('+549', SUBSTRING(p, 4))
                WHEN p REGEXP '^[+]55[1-9][1-9][6-9][0-9]{7}$' AND SUBSTRING(p, 4, 2) IN
                    ('11','12','13','14','15','16','17','18','19','21','22','24','27','28','31','32',
                     '33','34','35','37','38','41','42','43','44','45','46','47','48','49','51','53',
                     '54','55','61','62','63','64','65','66','67','68','69','71','73','74','75','77',
                     '79','81','82','83','84','85','86','87','88','89','91','92','93','94','95','96',
                     '97','98','99')
                    THEN CONCAT('+55', SUBSTRING(p, 4, 2), '9', SUBSTRING(p, 6))
                ELSE p
            END)
    FROM (SELECT phone AS p FROM opt_outs UNION SELECT phone FROM user_preferences
          UNION SELECT phone FROM contact_pace UNION SELECT phone FROM contacts
          UNION SELECT phone FROM inbound_messages UNION SELECT phone FROM opt_out_events) u
    WHERE p LIKE '+52%' OR p LIKE '+54%' OR p LIKE '+55%';
DELETE FROM m110_map WHERE canon = phone;

-- opt_outs: one row per person, the earliest; locked when any of the merged rows was.
DROP TABLE IF EXISTS m110_opt_outs;
CREATE TABLE m110_opt_outs ENGINE=InnoDB
    SELECT COALESCE((SELECT mm.canon FROM m110_map mm WHERE mm.phone = opt_outs.phone),
                    opt_outs.phone) AS canon, phone, source, detail, campaign_id, operator_lock, created_at
    FROM opt_outs WHERE phone LIKE '+52%' OR phone LIKE '+54%' OR phone LIKE '+55%';
DELETE FROM m110_opt_outs WHERE canon NOT IN
    (SELECT canon FROM (SELECT DISTINCT canon FROM m110_opt_outs WHERE canon <> phone) g);
START TRANSACTION;
DELETE o FROM opt_outs o JOIN m110_opt_outs m ON m.phone = o.phone;
INSERT INTO opt_outs (phone, source, detail, campaign_id, operator_lock, created_at)
    SELECT m.canon, m.source, m.detail, m.campaign_id,
           (SELECT MAX(l.operator_lock) FROM m110_opt_outs l WHERE l.canon = m.canon),
           m.created_at
    FROM m110_opt_outs m
    WHERE m.phone = (SELECT f.phone FROM m110_opt_outs f WHERE f.canon = m.canon
                     ORDER BY f.created_at, f.phone LIMIT 1);
COMMIT;
DROP TABLE m110_opt_outs;

-- user_preferences: per person and category, the latest event wins (as the webhook decides).
DROP TABLE IF EXISTS m110_prefs;
CREATE TABLE m110_prefs ENGINE=InnoDB
    SELECT COALESCE((SELECT mm.canon FROM m110_map mm WHERE mm.phone = user_preferences.phone),
                    user_preferences.phone) AS canon, phone, category, value, detail, event_at, account_id
    FROM user_preferences WHERE phone LIKE '+52%' OR phone LIKE '+54%' OR phone LIKE '+55%';
DELETE FROM m110_prefs WHERE canon NOT IN
    (SELECT canon FROM (SELECT DISTINCT canon FROM m110_prefs WHERE canon <> phone) g);
START TRANSACTION;
DELETE u FROM user_preferences u JOIN m110_prefs m ON m.phone = u.phone AND m.category = u.category;
INSERT INTO user_preferences (phone, category, value, detail, event_at, account_id)
    SELECT m.canon, m.category, m.value, m.detail, m.event_at, m.account_id
    FROM m110_prefs m
    WHERE m.phone = (SELECT f.phone FROM m110_prefs f WHERE f.canon = m.canon
                     AND f.category = m.category ORDER BY f.event_at DESC, f.phone LIMIT 1);
COMMIT;
DROP TABLE m110_prefs;

-- contact_pace (pair rate, tier counts): the latest send per account and person.
DROP TABLE IF EXISTS m110_pace;
CREATE TABLE m110_pace ENGINE=InnoDB
    SELECT COALESCE((SELECT mm.canon FROM m110_map mm WHERE mm.phone = contact_pace.phone),
                    contact_pace.phone) AS canon, waba_id, phone, last_send_at
    FROM contact_pace WHERE phone LIKE '+52%' OR phone LIKE '+54%' OR phone LIKE '+55%';
DELETE FROM m110_pace WHERE canon NOT IN
    (SELECT canon FROM (SELECT DISTINCT canon FROM m110_pace WHERE canon <> phone) g);
START TRANSACTION;
DELETE c FROM contact_pace c JOIN m110_pace m ON m.waba_id = c.waba_id AND m.phone = c.phone;
INSERT INTO contact_pace (waba_id, phone, last_send_at)
    SELECT waba_id, canon, MAX(last_send_at) FROM m110_pace GROUP BY waba_id, canon;
COMMIT;
DROP TABLE m110_pace;

-- contacts: the earliest contact (lowest id) of a person stays; it keeps its own values and
-- takes from the other what it lacks (name, lead id, attributes it does not have, the earlier
-- consent); tags and campaign recipients move to it.
DROP TABLE IF EXISTS m110_contacts;
CREATE TABLE m110_contacts ENGINE=InnoDB
    SELECT COALESCE((SELECT mm.canon FROM m110_map mm WHERE mm.phone = contacts.phone),
                    contacts.phone) AS canon, id, phone
    FROM contacts WHERE phone LIKE '+52%' OR phone LIKE '+54%' OR phone LIKE '+55%';
DELETE FROM m110_contacts WHERE canon NOT IN
    (SELECT canon FROM (SELECT DISTINCT canon FROM m110_contacts WHERE canon <> phone) g);
DROP TABLE IF EXISTS m110_contact_merge;
CREATE TABLE m110_contact_merge ENGINE=InnoDB
    SELECT g.canon, w.id AS win, l.id AS lose,
           IF(w.name = '', l.name, w.name) AS name,
           COALESCE(w.lead_id, l.lead_id) AS lead_id,
           JSON_MERGE_PATCH(l.attributes, w.attributes) AS attributes,
           IF(l.consent_at IS NOT NULL AND (w.consent_at IS NULL OR l.consent_at < w.consent_at),
              l.consent_at, w.consent_at) AS consent_at,
           IF(l.consent_at IS NOT NULL AND (w.consent_at IS NULL OR l.consent_at < w.consent_at),
              l.consent_source, w.consent_source) AS consent_source
    FROM (SELECT canon, MIN(id) AS win FROM m110_contacts GROUP BY canon) g
    JOIN contacts w ON w.id = g.win
    JOIN m110_contacts ml ON ml.canon = g.canon AND ml.id <> g.win
    JOIN contacts l ON l.id = ml.id;
START TRANSACTION;
INSERT IGNORE INTO contact_tags (contact_id, tag)
    SELECT m.win, t.tag FROM m110_contact_merge m JOIN contact_tags t ON t.contact_id = m.lose;
UPDATE recipients r JOIN m110_contact_merge m ON r.contact_id = m.lose SET r.contact_id = m.win;
DELETE c FROM contacts c JOIN m110_contact_merge m ON c.id = m.lose;
UPDATE contacts c JOIN m110_contact_merge m ON c.id = m.win
    SET c.name = m.name, c.lead_id = m.lead_id, c.attributes = m.attributes,
        c.consent_at = m.consent_at, c.consent_source = m.consent_source;
UPDATE contacts c JOIN m110_contacts m ON m.id = c.id SET c.phone = m.canon WHERE c.phone <> m.canon;
COMMIT;
DROP TABLE m110_contact_merge;
DROP TABLE m110_contacts;

-- The append-only logs (inbound_messages, opt_out_events) name the person by phone; their
-- rows are rewritten to the canonical form once, with their guards lifted for the moment.
DROP TRIGGER IF EXISTS inbound_messages_no_update;
UPDATE inbound_messages t JOIN m110_map mm ON mm.phone = t.phone SET t.phone = mm.canon;
CREATE TRIGGER IF NOT EXISTS inbound_messages_no_update BEFORE UPDATE ON inbound_messages FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'inbound_messages is append-only';

DROP TRIGGER IF EXISTS opt_out_events_no_update;
UPDATE opt_out_events t JOIN m110_map mm ON mm.phone = t.phone SET t.phone = mm.canon;
CREATE TRIGGER IF NOT EXISTS opt_out_events_no_update BEFORE UPDATE ON opt_out_events FOR EACH ROW
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'opt_out_events is append-only';

DROP TABLE m110_map;
